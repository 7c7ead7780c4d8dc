"""core.norm_example: every number of the worked example against torch."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.norm_axes import LAYERS, SHAPES, NormSpec, build_layer, forward, warm_up
from core.norm_example import kernel_stats, worked_example
from core.norm_stats import InputDist, make_input, warm_batches

IDX = (2, 4, 1, 3)


def _spec(**kw) -> NormSpec:
    return NormSpec(n=3, c=6, h=3, w=5, groups=3, **kw)


def _x() -> torch.Tensor:
    return make_input(3, 6, 3, 5, InputDist(shift=0.7, spread=0.4, outlier_frac=0.1, seed=4))


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("opts", [{}, {"random_affine": True}, {"affine": False}, {"eps": 0.5},
                                  {"training": False}, {"training": False, "momentum": None}])
def test_manual_equals_the_real_layer(layer, opts):
    spec = _spec(layer=layer, **opts)
    warm = warm_batches(6, 3, 5, 4, 5, InputDist())
    we = worked_example(spec, _x(), IDX, warm)
    assert we.probe_agrees
    assert we.error < 1e-5
    assert we.kernel_rstd == pytest.approx(we.rstd, rel=1e-5)
    if we.mu is not None:
        assert we.kernel_mu == pytest.approx(we.mu, rel=1e-5, abs=1e-6)


def test_statistics_are_the_biased_ones_over_the_right_axes():
    x = _x()
    expected = {  # layer -> (mean, biased variance) by plain torch reductions
        "BatchNorm2d": (x[:, 4].mean(), x[:, 4].var(unbiased=False)),
        "InstanceNorm2d": (x[2, 4].mean(), x[2, 4].var(unbiased=False)),
        "GroupNorm": (x[2, 4:6].mean(), x[2, 4:6].var(unbiased=False)),
        "LayerNorm": (x[2].mean(), x[2].var(unbiased=False)),
        "BatchNorm1d": (x[:, 4, 1, 3].mean(), x[:, 4, 1, 3].var(unbiased=False)),
    }
    for layer, (mu, var) in expected.items():
        we = worked_example(_spec(layer=layer), x, IDX)
        assert we.mu == pytest.approx(float(mu), rel=1e-5), layer
        assert we.var == pytest.approx(float(var), rel=1e-5), layer
        assert we.members == {"BatchNorm2d": 45, "InstanceNorm2d": 15, "GroupNorm": 30,
                              "LayerNorm": 90, "BatchNorm1d": 3}[layer]


def test_rmsnorm_uses_mean_square_and_dtype_eps():
    x = _x()
    we = worked_example(_spec(layer="RMSNorm", eps=None, normalized="H,W"), x, IDX)
    assert we.mu is None and we.kernel_mu is None
    assert we.var == pytest.approx(float(x[2, 4].pow(2).mean()), rel=1e-6)
    assert we.eps == torch.finfo(torch.float32).eps
    assert we.beta == 0.0


def test_eval_mode_reads_the_running_buffers():
    spec = _spec(layer="BatchNorm2d", training=False, momentum=0.3)
    warm = warm_batches(6, 3, 5, 4, 6, InputDist())
    layer = build_layer(spec)
    warm_up(spec, layer, warm)
    we = worked_example(spec, _x(), IDX, warm)
    assert we.stats_from == "running" and we.members == 1
    assert we.mu == pytest.approx(float(layer.running_mean[4]))
    assert we.var == pytest.approx(float(layer.running_var[4]))
    assert we.real == pytest.approx(float(forward(spec, layer, _x()).detach()[IDX]), abs=1e-6)


def test_affine_parameters_come_from_the_layer():
    spec = _spec(layer="LayerNorm", random_affine=True)
    layer = build_layer(spec)
    we = worked_example(spec, _x(), IDX)
    assert we.gamma == pytest.approx(float(layer.weight.detach()[4, 1, 3]))
    assert we.beta == pytest.approx(float(layer.bias.detach()[4, 1, 3]))
    assert 0.5 <= we.gamma <= 1.5


@settings(max_examples=30, deadline=None)
@given(layer=st.sampled_from(LAYERS), normalized=st.sampled_from(SHAPES),
       eps=st.sampled_from([1e-8, 1e-5, 0.1, 1.0]), shift=st.floats(-3, 3),
       spread=st.floats(0, 2), seed=st.integers(0, 100), data=st.data())
def test_manual_equals_real_on_random_inputs(layer, normalized, eps, shift, spread, seed, data):
    spec = NormSpec(layer=layer, n=3, c=4, h=2, w=3, groups=2, normalized=normalized, eps=eps,
                    random_affine=True, seed=seed)
    x = make_input(3, 4, 2, 3, InputDist(shift, spread, 0.1, 5.0, seed))
    idx = tuple(data.draw(st.integers(0, s - 1)) for s in spec.shape)
    we = worked_example(spec, x, idx)
    assert we.probe_agrees
    assert we.error <= 1e-4 * max(1.0, abs(we.real))


def test_kernel_stats_match_a_fresh_layer_output():
    x = _x()
    spec = _spec(layer="GroupNorm")
    mean, rstd = kernel_stats(spec, build_layer(spec), x, IDX)
    y = forward(spec, build_layer(spec), x).detach()
    assert float((x[IDX] - mean) * rstd) == pytest.approx(float(y[IDX]), abs=1e-5)


def test_batchnorm_with_one_value_per_channel_raises_torchs_error():
    spec = NormSpec(layer="BatchNorm1d", n=1, c=2, h=2, w=2)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        worked_example(spec, make_input(1, 2, 2, 2), (0, 0, 0, 0))


def test_a_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="expected"):
        worked_example(_spec(layer="LayerNorm"), make_input(1, 2, 2, 2), (0, 0, 0, 0))
