"""The depth experiment: initialisations, per-layer statistics, and its code snippet."""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.activation_code import depth_snippet
from core.depth_experiment import (
    INITS,
    DepthConfig,
    build_stack,
    depth_profile,
    gain_for,
    init_gain,
    run_depth,
)

SMALL = dict(depth=6, width=32, batch=64)


@pytest.mark.parametrize("activation, expected", [
    ("relu", ("relu", None)), ("tanh", ("tanh", None)), ("sigmoid", ("sigmoid", None)),
    ("leaky_relu", ("leaky_relu", 0.01)), ("prelu", ("leaky_relu", 0.25)),
    ("selu", ("linear", None)), ("gelu", ("linear", None)), ("mish", ("linear", None)),
])
def test_gain_for(activation, expected):
    assert gain_for(activation, {}) == expected


def test_init_gain_values():
    assert init_gain(DepthConfig(init="default")) == pytest.approx(math.sqrt(1 / 3))
    assert init_gain(DepthConfig(init="kaiming_normal")) == pytest.approx(math.sqrt(2))
    assert init_gain(DepthConfig(init="xavier_normal")) == 1.0  # xavier's own default
    assert init_gain(DepthConfig(activation="tanh", init="xavier_normal",
                                 xavier_gain=True)) == pytest.approx(5 / 3)


@pytest.mark.parametrize("init, activation, expected_std", [
    ("default", "relu", 1 / math.sqrt(3 * 256)),  # U(+-1/sqrt(fan_in))
    ("xavier_normal", "relu", math.sqrt(2 / 512)),
    ("kaiming_normal", "relu", math.sqrt(2 / 256)),
    ("kaiming_uniform", "tanh", 5 / 3 / math.sqrt(256)),
    ("kaiming_normal", "leaky_relu", math.sqrt(2 / (1 + 0.01**2) / 256)),
])
def test_initial_weights_have_the_promised_spread(init, activation, expected_std):
    model = build_stack(DepthConfig(activation=activation, init=init, depth=3, width=256))
    w = torch.cat([lin.weight.detach().flatten() for lin in model[::2]])
    assert float(w.std()) == pytest.approx(expected_std, rel=0.02)


def test_scale_multiplies_the_weights():
    base = build_stack(DepthConfig(init="kaiming_normal", **SMALL))
    scaled = build_stack(DepthConfig(init="kaiming_normal", scale=1.5, **SMALL))
    assert torch.allclose(scaled[0].weight, 1.5 * base[0].weight)


def test_run_is_deterministic_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = run_depth(DepthConfig(activation="rrelu", **SMALL))
    assert torch.equal(torch.rand(3), expected)
    assert run_depth(DepthConfig(activation="rrelu", **SMALL)) == a


def test_default_init_makes_relu_gradients_vanish_and_kaiming_keeps_them():
    default = run_depth(DepthConfig(activation="relu", init="default", depth=20))
    kaiming = run_depth(DepthConfig(activation="relu", init="kaiming_normal", depth=20))
    assert default.grad_w_rms[0] / default.grad_w_rms[-1] < 1e-3
    assert 0.05 < kaiming.grad_w_rms[0] / kaiming.grad_w_rms[-1] < 20
    assert 0.2 < kaiming.act_std[-1] < 5


def test_scaled_kaiming_explodes():
    r = run_depth(DepthConfig(activation="relu", init="kaiming_normal", scale=2.0, depth=20))
    assert r.act_std[-1] / r.act_std[0] > 1e4 and r.finite


def test_overflow_is_reported_not_raised():
    r = run_depth(DepthConfig(activation="relu", init="kaiming_normal", scale=2.0, depth=60,
                              width=256))
    assert not r.finite


def _manual(cfg: DepthConfig) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Pre-activations and outputs, recomputed by hand from the same network and data."""
    model = build_stack(cfg)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    h = torch.randn(cfg.batch, cfg.width, generator=gen)
    zs, hs = [], []
    with torch.no_grad():
        for lin, act in zip(model[::2], model[1::2], strict=True):
            zs.append(lin(h))
            h = act(zs[-1])
            hs.append(h)
    return zs, hs


def test_dead_units_are_relu_units_that_are_zero_for_the_whole_batch():
    cfg = DepthConfig(activation="relu", init="default", depth=12, width=64, batch=64)
    r = run_depth(cfg)
    _, hs = _manual(cfg)
    expected = [float((h == 0).all(dim=0).float().mean()) for h in hs]
    assert r.dead == pytest.approx(expected)
    assert max(r.dead) > 0.2  # default init + depth: many ReLUs die


def test_saturation_of_tanh_matches_its_derivative():
    cfg = DepthConfig(activation="tanh", init="kaiming_normal", scale=2.0, saturation=0.1, **SMALL)
    r = run_depth(cfg)
    zs, hs = _manual(cfg)
    expected = [float(((1 - torch.tanh(z) ** 2) < 0.1).float().mean()) for z in zs]
    assert r.saturated == pytest.approx(expected, abs=1e-6)
    assert r.act_std == pytest.approx([float(h.double().std()) for h in hs], rel=1e-5)


def test_histograms_share_bins_and_count_shares():
    r = run_depth(DepthConfig(activation="tanh", **SMALL))
    assert len(r.bin_edges) == r.config.bins + 1 and len(r.hist) == r.config.depth
    totals = [sum(row) for row in r.hist]
    assert all(0.9 <= t <= 1.0 + 1e-9 for t in totals)  # the middle 99% of all values
    assert np.all(np.diff(r.bin_edges) > 0)


@pytest.mark.parametrize("init", list(INITS))
def test_profile_is_the_full_runs_std_and_gradients(init):
    std, grad = depth_profile(DepthConfig(init=init, **SMALL))
    full = run_depth(DepthConfig(init=init, **SMALL))
    assert std == full.act_std and grad == full.grad_w_rms


@pytest.mark.parametrize("kwargs, message", [
    (dict(depth=0), "depth"), (dict(width=1), "width"), (dict(init="he"), "init"),
    (dict(scale=0.0), "scale"), (dict(activation="hardtanh", params=(("min_val", 2.0),)),
                                 "min_val"), (dict(batch=1), "batch"),
])
def test_bad_configs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DepthConfig(**kwargs)


@settings(max_examples=8, deadline=None)
@given(init=st.sampled_from(list(INITS)), act=st.sampled_from(["relu", "rrelu", "swish", "tanh"]),
       scale=st.sampled_from([0.5, 1.0, 1.5]), xavier_gain=st.booleans())
def test_snippet_reproduces_the_page_numbers(init, act, scale, xavier_gain):
    params = (("beta", 2.0),) if act == "swish" else ()
    cfg = DepthConfig(activation=act, params=params, init=init, scale=scale,
                      xavier_gain=xavier_gain, **SMALL)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(depth_snippet(cfg), namespace)  # noqa: S102 - our own generated code
    r = run_depth(cfg)
    assert namespace["stds"] == pytest.approx(r.act_std, rel=1e-4)
    assert namespace["grads"] == pytest.approx(r.grad_w_rms, rel=1e-4)
    assert "layer  6" in out.getvalue()


def test_replace_keeps_validation():
    with pytest.raises(ValueError):
        replace(DepthConfig(), depth=1000)
