"""Properties measured from the modules agree with known mathematical truths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.activation_props import properties, range_text

# name, params -> (zero-centred, sparse, monotonic, continuous, smooth, bounded below, above)
TRUTHS = {
    ("relu", ()): (False, True, "non-decreasing", True, False, True, False),
    ("tanh", ()): (True, False, "non-decreasing", True, True, True, True),
    ("sigmoid", ()): (False, False, "non-decreasing", True, True, True, True),
    ("gelu", ()): (False, False, "no", True, True, True, False),
    ("gelu_tanh", ()): (False, False, "no", True, True, True, False),
    ("silu", ()): (False, False, "no", True, True, True, False),
    ("swish", (("beta", 0.0),)): (True, False, "non-decreasing", True, True, False, False),
    ("mish", ()): (False, False, "no", True, True, True, False),
    ("leaky_relu", ()): (False, False, "non-decreasing", True, False, False, False),
    ("prelu", (("init", -0.5),)): (False, False, "no", True, False, True, False),
    ("prelu", (("init", 1.0),)): (True, False, "non-decreasing", True, True, False, False),
    ("elu", ()): (False, False, "non-decreasing", True, True, True, False),  # C1 at alpha = 1
    ("elu", (("alpha", 2.0),)): (False, False, "non-decreasing", True, False, True, False),
    ("celu", (("alpha", 0.3),)): (False, False, "non-decreasing", True, True, True, False),
    ("selu", ()): (True, False, "non-decreasing", True, False, True, False),
    ("softplus", ()): (False, False, "non-decreasing", True, True, True, False),
    # torch switches to x above beta*x > threshold: a visible step when threshold is small
    ("softplus", (("threshold", 5.0),)): (False, False, "no", False, False, True, False),
    ("hardswish", ()): (False, False, "no", True, False, True, False),
    ("hardsigmoid", ()): (False, False, "non-decreasing", True, False, True, True),
    ("relu6", ()): (False, True, "non-decreasing", True, False, True, True),
    ("hardtanh", ()): (True, False, "non-decreasing", True, False, True, True),
    ("softsign", ()): (True, False, "non-decreasing", True, True, True, True),
    ("logsigmoid", ()): (False, False, "non-decreasing", True, True, False, True),
    ("tanhshrink", ()): (True, False, "non-decreasing", True, True, False, False),
    ("softshrink", ()): (True, True, "non-decreasing", True, False, False, False),
    ("hardshrink", ()): (True, True, "non-decreasing", False, False, False, False),
    ("threshold", ()): (False, True, "non-decreasing", True, False, True, False),
    ("threshold", (("threshold", 0.0), ("value", 1.0))): (False, False, "no", False, False,
                                                             True, False),
}


@pytest.mark.parametrize("key", TRUTHS, ids=[f"{n}{dict(p)}" for n, p in TRUTHS])
def test_properties_match_known_truths(key):
    name, params = key
    p = properties(name, dict(params))
    got = (p.zero_centred, p.sparse, p.monotonic, p.continuous, p.smooth, p.bounded_below,
           p.bounded_above)
    assert got == TRUTHS[key]


def test_relu_versus_tanh_as_the_page_states():
    relu, tanh = properties("relu"), properties("tanh")
    assert not relu.zero_centred and relu.mean == pytest.approx(1 / np.sqrt(2 * np.pi), abs=1e-3)
    assert relu.sparse and relu.sparse_fraction == pytest.approx(0.5, abs=0.01)
    assert tanh.zero_centred and abs(tanh.mean) < 1e-9
    assert not tanh.sparse and tanh.sparse_fraction == 0.0


def test_selu_keeps_mean_zero_and_unit_variance():
    p = properties("selu")
    assert abs(p.mean) < 1e-3 and p.std == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("name, params, where", [
    ("relu", {}, [0.0]), ("relu6", {}, [0.0, 6.0]), ("hardtanh", {}, [-1.0, 1.0]),
    ("hardswish", {}, [-3.0, 3.0]), ("hardsigmoid", {}, [-3.0, 3.0]),
    ("selu", {}, [0.0]), ("elu", {"alpha": 0.5}, [0.0]), ("softplus", {"threshold": 3.0}, [3.0]),
    ("softplus", {"beta": 2.0, "threshold": 10.0}, [5.0]),
    ("threshold", {"threshold": 1.5, "value": -1.0}, [1.5]),
])
def test_kinks_are_found_where_they_are(name, params, where):
    kinks = [k for k in properties(name, params).kinks if k.is_kink]
    assert [k.x for k in kinks] == pytest.approx(where, abs=1e-6)


def test_relu_kink_reports_pytorchs_subgradient():
    (kink,) = properties("relu").kinks
    assert (kink.left, kink.right, kink.autograd) == (0.0, 1.0, 0.0)


def test_hardshrink_at_zero_width_is_identity_but_autograd_says_zero_at_zero():
    p = properties("hardshrink", {"lambd": 0.0})
    assert p.smooth and p.continuous
    (special,) = p.kinks
    assert not special.is_kink and special.left == special.right == 1.0
    assert special.autograd == 0.0


@settings(max_examples=15, deadline=None)
@given(lambd=st.floats(0.05, 3.0))
def test_shrink_kinks_follow_lambda(lambd):
    soft = [k.x for k in properties("softshrink", {"lambd": lambd}).kinks]
    hard = properties("hardshrink", {"lambd": lambd})
    assert soft == pytest.approx([-lambd, lambd], abs=1e-6)
    assert [k.f_jump for k in hard.kinks] == pytest.approx([lambd, lambd], abs=1e-6)


@settings(max_examples=15, deadline=None)
@given(lo=st.floats(-5, 4.5), width=st.floats(0.5, 5))
def test_hardtanh_range_and_kinks_follow_its_parameters(lo, width):
    hi = min(lo + width, 5.0)
    p = properties("hardtanh", {"min_val": lo, "max_val": hi})
    # float32 curves: a bound near 0 (lo = 1e-8 came out 9.83e-9) is only equal to ~1e-7
    assert (p.inf, p.sup) == pytest.approx((lo, hi), abs=1e-6)
    assert [k.x for k in p.kinks] == pytest.approx([lo, hi], abs=1e-6)


@pytest.mark.parametrize("beta", [1.0, 3.0, 7.3, 10.0])
def test_swish_minimum_is_exact_even_when_the_dip_is_narrow(beta):
    # min of x·sigmoid(βx) is -W(1/e)/β = -0.278464542761074/β (Lambert W); for β = 7.3 the
    # 0.01 grid alone gave -0.03813 (4.9e-4 off)
    p = properties("swish", {"beta": beta})
    assert p.inf == pytest.approx(-0.278464542761074 / beta, rel=1e-8)
    assert p.inf_attained


def test_range_text():
    assert range_text(properties("relu")) == "[0, inf)"
    assert range_text(properties("tanh")) == "(-1, 1)"
    assert range_text(properties("hardsigmoid")) == "[0, 1]"
    assert range_text(properties("logsigmoid")) == "(-inf, 0)"
    assert range_text(properties("threshold", {"threshold": 0.0, "value": 1.0})) == "(0, inf)"


@pytest.mark.parametrize("beta, threshold", [(5.25, 1.0), (1.5, 1.0), (3.3, 13.0), (2.0, 5.0)])
def test_kink_sentence_is_true_at_the_x_it_prints(beta, threshold):
    """The page's sentence names an x and what autograd returns there: ask torch at that x."""
    import re

    import torch

    from ui.activation_widgets import kink_text
    kinks = properties("softplus", {"beta": beta, "threshold": threshold}).kinks
    assert len(kinks) == 1
    text = kink_text(kinks[0])
    x = torch.tensor([float(re.search(r"At x = (\S+),", text).group(1))], dtype=torch.float64,
                     requires_grad=True)
    torch.nn.Softplus(beta, threshold)(x).sum().backward()
    said = float(re.search(r"autograd returns ([-\d.e+]*\d)", text).group(1))
    assert x.grad.item() == pytest.approx(said, rel=1e-3)
    slopes = re.search(r"jumps from (\S+) to (\S+) \(a kink\)", text)
    if slopes:  # a tiny jump (threshold 13: 2.3e-6) still reads as two different numbers
        assert slopes.group(1) != slopes.group(2)
