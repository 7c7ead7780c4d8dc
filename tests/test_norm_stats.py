"""core.norm_stats and core.norm_equiv: every statistic the page shows, against torch."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from core.norm_axes import NormSpec, build_layer, forward
from core.norm_equiv import groupnorm_vs_instancenorm, groupnorm_vs_layernorm
from core.norm_stats import (
    InputDist,
    batch_noise,
    batch_one_cases,
    histograms,
    label_stats,
    labels_for,
    make_input,
    population_stats,
    running_stats_trace,
    set_summary,
    warm_batches,
)


def test_input_has_the_asked_per_channel_shift_and_scale():
    dist = InputDist(shift=2.0, spread=0.5, seed=3)
    x = make_input(400, 4, 8, 8, dist)
    assert torch.equal(x, make_input(400, 4, 8, 8, dist))  # same seed, same tensor
    means, variances = population_stats(4, dist)
    assert x.mean((0, 2, 3)).tolist() == pytest.approx(means, abs=0.05)
    assert x.var((0, 2, 3)).tolist() == pytest.approx(variances, rel=0.03)


def test_outliers_add_their_variance():
    dist = InputDist(shift=0.0, spread=0.0, outlier_frac=0.05, outlier_size=10.0)
    x = make_input(400, 2, 8, 8, dist)
    assert float((x.abs() > 6).float().mean()) == pytest.approx(0.05, abs=0.01)
    assert x.var().item() == pytest.approx(population_stats(1, dist)[1][0], rel=0.1)


def test_bad_distributions_are_refused():
    with pytest.raises(ValueError, match="spread"):
        InputDist(spread=-1.0)
    with pytest.raises(ValueError, match="outlier"):
        InputDist(outlier_frac=2.0)


@pytest.mark.parametrize("layer", ["BatchNorm2d", "GroupNorm", "LayerNorm"])
def test_label_stats_and_histograms_match_torch(layer):
    spec = NormSpec(layer=layer, groups=3)
    x = make_input(*spec.shape, InputDist(outlier_frac=0.05))
    y = forward(spec, build_layer(spec), x).detach()
    labels, names = labels_for(spec)
    assert len(names) == (3 if layer == "GroupNorm" else 6)
    s = label_stats(x, y, labels, len(names))
    for i in range(len(names)):
        chans = x[:, 2 * i:2 * i + 2] if layer == "GroupNorm" else x[:, i]
        assert s["mean_in"][i] == pytest.approx(float(chans.mean()), rel=1e-5, abs=1e-6)
        assert s["std_in"][i] == pytest.approx(float(chans.std(unbiased=False)), rel=1e-5)
    if layer == "BatchNorm2d":  # per channel is BatchNorm's own set: mean 0, std 1
        assert max(map(abs, s["mean_out"])) < 1e-5
        assert s["std_out"] == pytest.approx([1.0] * 6, abs=1e-3)
    h = histograms(x, y, labels, len(names), bins=20)
    assert sum(map(sum, h["counts_in"])) == x.numel() == sum(map(sum, h["counts_out"]))
    edges = torch.tensor(h["edges_out"])
    assert torch.equal(torch.tensor(h["counts_out"][0]),
                       torch.histogram(y[labels == 0], edges).hist)


@pytest.mark.parametrize("kw", [{"layer": "LayerNorm", "normalized": "H,W"},
                                {"layer": "GroupNorm", "groups": 2},
                                {"layer": "InstanceNorm2d"}, {"layer": "BatchNorm1d"}])
def test_every_statistics_set_comes_out_normalised(kw):
    spec = NormSpec(**kw)
    x = make_input(*spec.shape, InputDist(shift=3.0, spread=1.0))
    y = forward(spec, build_layer(spec), x).detach()
    summ = set_summary(spec, y)
    assert summ["sets"] * summ["size"] == x.numel()
    assert abs(summ["mean_min"]) < 1e-5 and abs(summ["mean_max"]) < 1e-5
    assert 0.99 < summ["std_min"] <= summ["std_max"] < 1.0 + 1e-5


def test_rmsnorm_sets_have_unit_root_mean_square():
    spec = NormSpec(layer="RMSNorm", normalized="W", eps=1e-8)
    x = make_input(*spec.shape)
    summ = set_summary(spec, forward(spec, build_layer(spec), x).detach())
    assert summ["rms_min"] == pytest.approx(1.0, abs=1e-4)
    assert summ["rms_max"] == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_running_stats_follow_the_update_rule(momentum):
    dist = InputDist(shift=1.0, spread=0.5)
    tr = running_stats_trace(3, 2, 2, 4, 12, momentum, dist)
    assert tr["num_batches_tracked"] == 12 and len(tr["running_mean"]) == 13
    rm, rv = torch.zeros(3), torch.ones(3)
    for t, xb in enumerate(warm_batches(3, 2, 2, 4, 12, dist), start=1):
        m = 1.0 / t if momentum is None else momentum  # None: cumulative average
        rm = (1 - m) * rm + m * xb.mean((0, 2, 3))
        rv = (1 - m) * rv + m * xb.var((0, 2, 3), unbiased=True)  # unbiased for running_var
        assert tr["running_mean"][t] == pytest.approx(rm.tolist(), rel=1e-5, abs=1e-6)
        assert tr["running_var"][t] == pytest.approx(rv.tolist(), rel=1e-5)
        assert tr["batch_var"][t - 1] == pytest.approx(
            xb.var((0, 2, 3), unbiased=False).tolist(), rel=1e-5)


def test_eval_mode_uses_the_running_statistics():
    tr = running_stats_trace(4, 3, 3, 8, 30, 0.1, InputDist())
    ev = tr["eval"]
    assert ev["eval_vs_formula"] < 1e-5
    assert ev["single_vs_batch"] < 1e-6
    assert ev["eval_vs_train"] > 1e-3  # the batch's own statistics differ from the buffers
    assert ev["train_std"] == pytest.approx(1.0, abs=1e-3)


def test_running_stats_refuse_a_single_value_per_channel():
    with pytest.raises(ValueError, match="more than one value"):
        running_stats_trace(2, 1, 1, 1, 5, 0.1, InputDist())


def test_batch_of_one_reproduces_torchs_errors():
    rows = {r["case"]: r for r in batch_one_cases(3, 4, 4)}
    with pytest.raises(ValueError) as exc:
        nn.BatchNorm1d(3).train()(torch.randn(1, 3))
    assert rows["BatchNorm1d, train"]["error"] == str(exc.value)
    assert "Expected more than 1 value per channel" in rows["BatchNorm2d, train, 1x1 image"][
        "error"]
    for ok in ("BatchNorm2d, train", "BatchNorm1d, eval", "GroupNorm(1), train"):
        assert rows[ok]["error"] is None and rows[ok]["out_std"] is not None


def test_batch_noise_bn_shrinks_gn_does_not_move():
    dist = InputDist(shift=1.0, spread=0.5, seed=2)
    out = batch_noise(4, 3, 3, 2, [1, 2, 8, 32], dist, repeats=48)
    assert out["batch_sizes"] == [1, 2, 8, 32]
    assert out["bn_mean"][0] > out["bn_mean"][-1] * 2
    assert out["bn_jitter"][1] > out["bn_jitter"][-1] > 0
    assert out["bn_jitter"][0] is None and out["gn_jitter"][0] is None
    assert max(out["gn_jitter"][1:]) < 1e-6  # GroupNorm ignores the batch-mates
    spread = out["gn_mean"]
    assert max(spread) < 1.5 * min(spread)  # per-sample statistics: no trend with batch size


def test_batch_noise_reads_the_real_batch_mean():
    # batch mean spread for b = 4 recomputed by plain reductions on the same draws
    dist = InputDist(seed=5)
    out = batch_noise(2, 2, 2, 1, [4], dist, repeats=16)
    x = make_input(16 * 4, 2, 2, 2, InputDist(dist.shift, dist.spread, dist.outlier_frac,
                                              dist.outlier_size, dist.seed + 4))
    means = x.view(16, 4, 2, 2, 2).mean((1, 3, 4))
    assert out["bn_mean"][0] == pytest.approx(float(means.std(0).mean()), rel=1e-4)


@settings(max_examples=15, deadline=None)
@given(c=st.integers(1, 6), h=st.integers(1, 4), w=st.integers(1, 4), n=st.integers(1, 4),
       seed=st.integers(0, 50))
def test_groupnorm_limits(c, h, w, n, seed):
    x = make_input(n, c, h, w, InputDist(seed=seed))
    if n * c * h * w < 2:
        with pytest.raises(ValueError, match="one element"):
            groupnorm_vs_layernorm(x)
        return
    ln = groupnorm_vs_layernorm(x, seed=seed)
    assert ln["gn_weight_shape"] == (c,) and ln["ln_weight_shape"] == (c, h, w)
    assert ln["gn_params"] == 2 * c and ln["ln_params"] == 2 * c * h * w
    assert ln["diff_fresh"] < 1e-4 and ln["diff_copied"] < 1e-4
    if h * w >= 3:  # per-element γ, β that vary inside a channel: no per-channel pair fits
        assert ln["fit_residual_rms"] > 1e-3
    elif h * w == 1:  # 1x1 images: LayerNorm's γ, β are per channel too
        assert ln["fit_residual_rms"] < 1e-4
        with pytest.raises(ValueError, match="H·W > 1"):
            groupnorm_vs_instancenorm(x)
        return
    # (two pixels: x̂ = ±1, and a line through two points always fits; nothing to claim)
    inorm = groupnorm_vs_instancenorm(x, seed=seed)
    assert inorm["in_weight_shape"] == (c,) and inorm["plain_weight_shape"] == ()
    assert inorm["diff_affine"] < 1e-4 and inorm["diff_plain_plus_affine"] < 1e-4


def test_groupnorm_limits_differ_where_they_should():
    x = make_input(4, 6, 4, 4, InputDist(shift=1.0, spread=0.5))
    inorm = groupnorm_vs_instancenorm(x)
    assert inorm["diff_plain_no_affine"] > 0.1  # the random affine is missing
    assert inorm["diff_tracked_eval"] > 0.1  # eval mode uses running stats, not the sample's
    assert math.isfinite(groupnorm_vs_layernorm(x)["fit_residual_rms"])
    with pytest.raises(ValueError, match="N, C, H, W"):
        groupnorm_vs_layernorm(torch.zeros(2, 3))
