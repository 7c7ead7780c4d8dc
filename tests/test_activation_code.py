"""The "PyTorch code" snippets of the Functions tab build the same modules and numbers."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from core.activation_code import _SWISH, functions_snippet, module_code
from core.activation_curves import activation_module, probe
from core.activation_specs import ACTIVATION_SPECS, check_params, label, spec

NAMES = list(ACTIVATION_SPECS)


def _build(code: str) -> nn.Module:
    namespace = {"torch": torch, "nn": nn}
    exec("import torch\nfrom torch import nn" + _SWISH, namespace)  # noqa: S102
    return eval(code, namespace)  # noqa: S307 - our own generated expression


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_module_code_builds_the_same_module(name, data):
    params = data.draw(st.fixed_dictionaries(
        {p.name: st.floats(p.lo, p.hi).map(lambda v: round(v, 3)) for p in spec(name).params}))
    try:
        check_params(name, params)
    except ValueError:
        return
    code = module_code(name, params)
    x = torch.linspace(-8, 8, 1601, dtype=torch.float64)
    with torch.no_grad():
        ours = _build(code).double().eval()(x)
        real = activation_module(name, params)(x)
    assert torch.allclose(ours, real, rtol=1e-6, atol=1e-9), code


def test_swish_code_uses_silu_at_beta_one():
    assert module_code("swish", {"beta": 1.0}) == "nn.SiLU()"
    assert module_code("swish", {"beta": 2.5}) == "Swish(beta=2.5)"


def test_functions_snippet_runs_and_prints_the_probe_values():
    names = ["relu", "swish", "rrelu", "hardtanh", "gelu_tanh"]
    params = {"swish": {"beta": 2.0}, "hardtanh": {"min_val": -2.0, "max_val": 0.5}}
    code = functions_snippet(names, params, -5.0, 5.0, 0.3)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(code, namespace)  # noqa: S102 - our own generated code
    for name in names:
        assert namespace["results"][label(name)] == pytest.approx(
            probe(name, params.get(name, {}), 0.3), rel=1e-6)
    assert out.getvalue().count("f(0.3)") == len(names)
    assert "class Swish" in code


def test_snippet_without_swish_defines_no_class():
    assert "class Swish" not in functions_snippet(["relu", "swish"], {}, -1, 1, 0.0)
