"""f and f' curves, the probe and the shaded regions, against torch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.activation_curves import (
    activation_module,
    covered,
    curve,
    probe,
    regions,
    values_and_grads,
)
from core.activation_specs import ACTIVATION_SPECS

SMOOTH = ["tanh", "sigmoid", "gelu", "gelu_tanh", "silu", "mish", "softplus", "softsign",
          "logsigmoid", "tanhshrink", "celu", "elu"]


@pytest.mark.parametrize("name", SMOOTH)
def test_autograd_derivative_matches_central_differences(name):
    c = curve(name, {}, -5, 5, 201)
    m = activation_module(name)
    h = 1e-6
    with torch.no_grad():
        fd = (m(torch.as_tensor(c.x + h)) - m(torch.as_tensor(c.x - h))).numpy() / (2 * h)
    np.testing.assert_allclose(c.dy, fd, atol=2e-6)  # softsign: f' has a cusp at 0


@pytest.mark.parametrize("name", list(ACTIVATION_SPECS))
def test_curve_is_the_modules_output_and_grad(name):
    c = curve(name, {}, -4, 4, 81)
    x = torch.as_tensor(c.x).clone().requires_grad_(True)
    y = activation_module(name)(x)
    (dy,) = torch.autograd.grad(y.sum(), x)
    np.testing.assert_array_equal(c.y, y.detach().numpy())
    np.testing.assert_array_equal(c.dy, dy.numpy())


@settings(max_examples=30, deadline=None)
@given(x=st.floats(-20, 20), beta=st.floats(0, 10))
def test_probe_matches_the_swish_formula_and_its_derivative(x, beta):
    f, df = probe("swish", {"beta": beta}, x)
    s = 1 / (1 + np.exp(-beta * x))
    assert f == pytest.approx(x * s, rel=1e-9, abs=1e-12)
    assert df == pytest.approx(s + beta * x * s * (1 - s), rel=1e-9, abs=1e-12)


def test_relu_derivative_at_zero_is_pytorchs_zero():
    assert probe("relu", {}, 0.0) == (0.0, 0.0)


def test_tanh_vanishing_regions_are_the_tails():
    c = curve("tanh", {}, -6, 6, 1201)
    r = regions(c, 0.05)
    edge = np.arctanh(np.sqrt(0.95))  # 1 - tanh^2 = 0.05
    assert len(r.vanishing) == 2 and r.zero == ()
    (a0, b0), (a1, b1) = r.vanishing
    assert a0 == -6 and b1 == 6
    assert b0 == pytest.approx(-edge, abs=0.01) and a1 == pytest.approx(edge, abs=0.01)
    assert covered(r.vanishing, -6, 6) == pytest.approx((6 - edge) / 6, abs=0.01)


def test_relu_gradient_is_exactly_zero_left_of_zero():
    r = regions(curve("relu", {}, -6, 6, 1201), 0.01)
    assert r.zero == ((-6.0, 0.0),) and r.vanishing == r.zero


def test_hardshrink_zero_region_is_its_dead_zone():
    r = regions(curve("hardshrink", {"lambd": 1.0}, -3, 3, 601), 0.01)
    (zone,) = r.zero
    assert zone == pytest.approx((-1.0, 1.0))


def test_values_and_grads_is_elementwise():
    m = activation_module("gelu")
    f, g = values_and_grads(m, np.array([-1.0, 0.5, 2.0]))
    for i, x in enumerate([-1.0, 0.5, 2.0]):
        assert (f[i], g[i]) == probe("gelu", {}, x)


@pytest.mark.parametrize("args, message", [
    ((1.0, 1.0, 10), "lo < hi"), ((2.0, 1.0, 10), "lo < hi"), ((0.0, 1.0, 1), "points"),
    ((float("nan"), 1.0, 10), "finite"), ((0.0, float("inf"), 10), "finite"),
])
def test_bad_ranges_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        curve("relu", {}, *args)


def test_bad_probe_and_threshold_are_refused():
    with pytest.raises(ValueError, match="finite"):
        probe("relu", {}, float("nan"))
    with pytest.raises(ValueError, match=">= 0"):
        regions(curve("relu", {}, -1, 1, 11), -0.1)
