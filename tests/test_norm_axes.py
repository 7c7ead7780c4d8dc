"""core.norm_axes: the rule for which elements share statistics, checked against real layers."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from core.norm_axes import (
    BN1D_VIEWS,
    LAYERS,
    SHAPES,
    NormSpec,
    build_layer,
    describe,
    forward,
    param_index,
    probe_mask,
    set_ids,
    shared_mask,
    to_layer,
)
from core.norm_stats import make_input


def variants() -> list[dict]:
    """Every layer with every option that changes which elements share statistics."""
    out = [{"layer": "BatchNorm2d"}, {"layer": "InstanceNorm2d"}]
    out += [{"layer": "BatchNorm1d", "bn1d_view": v} for v in BN1D_VIEWS]
    out += [{"layer": k, "normalized": s} for k in ("LayerNorm", "RMSNorm") for s in SHAPES]
    out += [{"layer": "GroupNorm", "groups": g} for g in (1, 2, 3, 6)]
    out += [{"layer": k, "training": False} for k in ("BatchNorm1d", "BatchNorm2d",
                                                      "InstanceNorm2d")]
    return out


def _warm(spec: NormSpec, layer: nn.Module) -> None:
    """Give running statistics non-trivial values before an eval-mode check."""
    layer.train()
    with torch.no_grad():
        layer(to_layer(spec, make_input(*spec.shape)))
    layer.train(spec.training)


@pytest.mark.parametrize("kw", variants(), ids=lambda kw: "-".join(map(str, kw.values())))
def test_rule_matches_the_real_layer_for_every_element(kw):
    spec = NormSpec(n=3, c=6, h=2, w=3, random_affine=True, **kw)
    x = make_input(*spec.shape)
    layer = build_layer(spec)
    _warm(spec, layer)
    for idx in itertools.product(*(range(s) for s in spec.shape)):
        assert torch.equal(probe_mask(spec, layer, x, idx), shared_mask(spec, idx)), idx


@settings(max_examples=40, deadline=None)
@given(layer=st.sampled_from(LAYERS), shape=st.tuples(*[st.integers(1, 5)] * 4),
       normalized=st.sampled_from(SHAPES), view=st.sampled_from(BN1D_VIEWS),
       training=st.booleans(), data=st.data())
def test_rule_matches_probe_on_random_shapes(layer, shape, normalized, view, training, data):
    n, c, h, w = shape
    divisors = [g for g in range(1, c + 1) if c % g == 0]
    groups = data.draw(st.sampled_from(divisors))
    spec = NormSpec(layer=layer, n=n, c=c, h=h, w=w, normalized=normalized, bn1d_view=view,
                    groups=groups, training=training)
    idx = tuple(data.draw(st.integers(0, s - 1)) for s in shape)
    mask = shared_mask(spec, idx)
    assert mask[idx]
    x = make_input(*shape)
    layer_ = build_layer(spec)
    try:
        probe = probe_mask(spec, layer_, x, idx)
    except ValueError as exc:  # torch refuses a statistic over a single value
        assert "Expected more than 1" in str(exc)
        assert int(mask.sum()) == 1 and spec.layer != "LayerNorm"
        return
    assert torch.equal(probe, mask)


@pytest.mark.parametrize("kw", [
    {"layer": "LayerNorm", "c": 2, "normalized": "C (channels last)"},
    {"layer": "LayerNorm", "w": 2, "normalized": "W"},
    {"layer": "GroupNorm", "c": 2, "h": 1, "w": 1, "groups": 1},
    {"layer": "BatchNorm2d", "n": 2, "h": 1, "w": 1},
], ids=lambda kw: kw["layer"] + "-" + kw.get("normalized", str(kw.get("groups", ""))))
def test_two_element_sets_with_the_smallest_eps_still_agree(kw):
    # With two elements the output is ±(1 - O(eps)): in float32 the tiny true gradient of the
    # partner element rounded to 0 and the page reported a false mismatch.
    shape = {"n": 4, "c": 6, "h": 4, "w": 4} | {k: v for k, v in kw.items() if k in "nchw"}
    spec = NormSpec(eps=1e-8, **shape, **{k: v for k, v in kw.items() if k not in "nchw"})
    x = make_input(*spec.shape)
    layer = build_layer(spec)
    for idx in itertools.product(*(range(s) for s in spec.shape)):
        assert torch.equal(probe_mask(spec, layer, x, idx), shared_mask(spec, idx)), idx


def test_probing_a_train_mode_layer_leaves_its_running_stats_alone():
    spec = NormSpec(layer="BatchNorm2d", training=True)
    layer = build_layer(spec)
    before = {k: v.clone() for k, v in layer.state_dict().items()}
    probe_mask(spec, layer, make_input(*spec.shape), (0, 0, 0, 0))
    after = layer.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert layer.training


def test_set_sizes_follow_the_reduced_axes():
    n, c, h, w = 4, 6, 3, 5
    size = {("BatchNorm2d", ""): n * h * w, ("InstanceNorm2d", ""): h * w,
            ("BatchNorm1d", "features"): n, ("BatchNorm1d", "sequence"): n * h * w,
            ("LayerNorm", "C,H,W"): c * h * w, ("LayerNorm", "H,W"): h * w,
            ("LayerNorm", "W"): w, ("LayerNorm", "C (channels last)"): c,
            ("GroupNorm", ""): 3 * h * w}
    for (layer, option), expected in size.items():
        kw = {"normalized": option} if layer == "LayerNorm" else (
            {"bn1d_view": option} if layer == "BatchNorm1d" else {})
        spec = NormSpec(layer=layer, n=n, c=c, h=h, w=w, groups=2, **kw)
        ids = set_ids(spec)
        counts = torch.bincount(ids.flatten())
        assert set(counts.tolist()) == {expected}, (layer, option)


def test_eval_mode_with_running_stats_shares_nothing():
    spec = NormSpec(layer="BatchNorm2d", training=False)
    assert int(shared_mask(spec, (0, 0, 0, 0)).sum()) == 1
    assert "no element shares" in describe(spec)
    spec = NormSpec(layer="BatchNorm2d", training=False, track_running_stats=False)
    assert int(shared_mask(spec, (0, 0, 0, 0)).sum()) == spec.n * spec.h * spec.w


@pytest.mark.parametrize("kw", variants(), ids=str)
def test_param_index_is_the_weight_the_output_uses(kw):
    spec = NormSpec(n=2, c=6, h=2, w=3, **kw)
    layer = build_layer(spec)
    _warm(spec, layer)
    x = make_input(*spec.shape)
    idx = (1, 4, 1, 2)
    forward(spec, layer, x)[idx].backward()
    grad = layer.weight.grad
    assert grad[param_index(spec, idx)] != 0
    assert int((grad != 0).sum()) == 1  # no other gamma touches this output


def test_forward_equals_the_plain_module_call():
    x = make_input(2, 4, 3, 3)
    spec = NormSpec(layer="LayerNorm", n=2, c=4, h=3, w=3, normalized="C (channels last)")
    layer = build_layer(spec)
    expected = layer(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    assert torch.equal(forward(spec, layer, x), expected)
    spec = NormSpec(layer="BatchNorm1d", n=2, c=4, h=3, w=3)
    layer = build_layer(spec)
    assert isinstance(layer, nn.BatchNorm1d) and layer.num_features == 36
    assert torch.equal(forward(spec, layer, x), layer(x.flatten(1)).view(2, 4, 3, 3))


def test_build_layer_passes_the_options_through():
    bn = build_layer(NormSpec(layer="BatchNorm2d", eps=1e-3, momentum=None, affine=False,
                              track_running_stats=False))
    assert (bn.eps, bn.momentum, bn.affine, bn.track_running_stats) == (1e-3, None, False, False)
    rms = build_layer(NormSpec(layer="RMSNorm", eps=None))
    assert rms.eps is None and isinstance(rms, nn.RMSNorm)
    gn = build_layer(NormSpec(layer="GroupNorm", groups=3, random_affine=True))
    assert gn.num_groups == 3 and not torch.allclose(gn.weight, torch.ones(6))
    assert build_layer(NormSpec(layer="InstanceNorm2d", training=False)).training is False


@pytest.mark.parametrize("kw, words", [
    ({"layer": "Dropout"}, "Unknown layer"),
    ({"layer": "GroupNorm", "groups": 4}, "divide"),
    ({"n": 0}, "between 1"),
    ({"c": 9}, "between 1"),
    ({"eps": -1.0}, "eps"),
    ({"momentum": 1.5}, "momentum"),
    ({"normalized": "N"}, "normalized_shape"),
])
def test_bad_specs_are_refused_with_a_message(kw, words):
    with pytest.raises(ValueError, match=words):
        NormSpec(**kw)


def test_index_outside_the_tensor_is_refused():
    with pytest.raises(ValueError, match="outside"):
        shared_mask(NormSpec(), (4, 0, 0, 0))
