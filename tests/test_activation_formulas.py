"""The LaTeX formulas and output ranges shown on the activations page, checked against torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.activation_curves import activation_module
from core.activation_formulas import FORMULAS, latex, output_range, reference
from core.activation_props import properties
from core.activation_specs import ACTIVATION_SPECS, check_params, default_params, spec
from core.activations import ACTIVATION_BUILDERS, build_activation

NAMES = list(ACTIVATION_SPECS)
GRID = np.linspace(-10, 10, 4001)


def torch_values(name: str, params: dict, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return activation_module(name, params)(torch.as_tensor(x)).numpy()


def params_strategy(name: str):
    """Random parameter values inside the ranges the page offers (steps ignored)."""
    fields = {p.name: st.floats(p.lo, p.hi, allow_nan=False) for p in spec(name).params}
    return st.fixed_dictionaries(fields)


def test_every_registry_name_has_a_spec_and_a_formula():
    assert set(ACTIVATION_SPECS) == set(ACTIVATION_BUILDERS) == set(FORMULAS)


@pytest.mark.parametrize("name", NAMES)
def test_formula_matches_torch_at_defaults(name):
    ref = reference(name, GRID)
    got = torch_values(name, {}, GRID)
    np.testing.assert_allclose(ref, got, rtol=1e-9, atol=1e-12)
    assert latex(name).startswith("f(x) = ")


@pytest.mark.parametrize("name", [n for n in NAMES if spec(n).params])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_formula_matches_torch_for_any_parameters(name, data):
    params = data.draw(params_strategy(name))
    try:
        check_params(name, params)
    except ValueError:
        return  # e.g. hardtanh min_val >= max_val: refused before any formula is shown
    ref_params = dict(params)
    if name == "prelu":  # nn.PReLU stores its slope a as a float32 parameter
        ref_params["init"] = float(np.float32(params["init"]))
    np.testing.assert_allclose(reference(name, GRID, ref_params),
                               torch_values(name, params, GRID), rtol=1e-9, atol=1e-12)


def test_gelu_tanh_is_close_to_exact_gelu_as_the_note_says():
    gap = np.abs(reference("gelu", GRID) - reference("gelu_tanh", GRID)).max()
    assert 1e-4 < gap < 5e-4
    assert "5e-4" in spec("gelu_tanh").note


def test_swish_with_beta_one_is_silu():
    np.testing.assert_allclose(torch_values("swish", {"beta": 1.0}, GRID),
                               torch_values("silu", {}, GRID), rtol=0, atol=0)


def _check_range(name: str, params: dict) -> None:
    typed = output_range(name, params)
    measured = properties(name, params)
    assert measured.bounded_below == math.isfinite(typed.lo), (name, params)
    assert measured.bounded_above == math.isfinite(typed.hi), (name, params)
    if math.isfinite(typed.lo):
        assert measured.inf == pytest.approx(typed.lo, abs=2e-4)
        assert measured.inf_attained == typed.lo_closed, (name, params, "lower end")
    if math.isfinite(typed.hi):
        assert measured.sup == pytest.approx(typed.hi, abs=2e-4)
        assert measured.sup_attained == typed.hi_closed, (name, params, "upper end")


@pytest.mark.parametrize("name", NAMES)
def test_output_range_matches_the_measured_one(name):
    _check_range(name, {})


@pytest.mark.parametrize("name, params", [
    ("leaky_relu", {"negative_slope": 0.0}), ("prelu", {"init": -0.5}), ("prelu", {"init": 1.0}),
    ("swish", {"beta": 0.0}), ("swish", {"beta": 7.5}), ("elu", {"alpha": 2.5}),
    ("celu", {"alpha": 0.3}), ("hardtanh", {"min_val": -3.0, "max_val": 0.5}),
    ("threshold", {"threshold": 0.0, "value": 1.0}),
    ("threshold", {"threshold": 1.0, "value": -2.0}), ("rrelu", {"lower": 0.0, "upper": 0.0}),
    ("softplus", {"beta": 3.0, "threshold": 5.0}),
])
def test_output_range_matches_for_parameter_values(name, params):
    _check_range(name, params)


def test_defaults_of_the_page_are_torchs_defaults():
    """A control at its default builds the same module as the bare registry call."""
    for name in NAMES:
        a = build_activation(name, **default_params(name)).double().eval()
        b = build_activation(name).double().eval()
        x = torch.as_tensor(GRID)
        with torch.no_grad():
            assert torch.equal(a(x), b(x)), name


def test_existing_registry_calls_still_work():
    assert isinstance(build_activation("prelu", init=0.1, num_parameters=3), torch.nn.PReLU)
    assert build_activation("softplus", beta=2.0, threshold=10.0).beta == 2.0
    assert build_activation("hardtanh", min_val=-2.0, max_val=2.0).max_val == 2.0
    with pytest.raises(ValueError, match="Unknown activation"):
        build_activation("relu7")


@pytest.mark.parametrize("name, params, message", [
    ("hardtanh", {"min_val": 1.0, "max_val": 1.0}, "min_val"),
    ("rrelu", {"lower": 0.5, "upper": 0.1}, "lower"),
    ("softshrink", {"lambd": -1.0}, "lambda"),
    ("elu", {"alpha": 0.0}, "alpha"),
    ("softplus", {"beta": 0.0}, "beta"),
    ("relu", {"alpha": 1.0}, "no parameter"),
    ("swish", {"beta": float("nan")}, "finite"),
    ("nope", {}, "Unknown activation"),
])
def test_bad_parameters_are_refused_with_a_message(name, params, message):
    with pytest.raises(ValueError, match=message):
        check_params(name, params)


def test_latex_lists_the_current_parameter_values():
    assert latex("swish", {"beta": 1.5}).endswith(r"\beta = 1.5")
    assert r"\text{min\_val} = -2" in latex("hardtanh", {"min_val": -2.0})
    assert latex("relu", {}) == r"f(x) = \max(0, x)"
