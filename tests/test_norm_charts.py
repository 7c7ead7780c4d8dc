"""ui/norm_charts.py, ui/norm_cube.py and ui/norm_text.py: figures via to_dict, words and the
runnable snippet (exec'd and compared with core's worked example)."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.norm_axes import BN1D_VIEWS, LAYERS, SHAPES, NormSpec, shared_mask
from core.norm_equiv import groupnorm_vs_instancenorm, groupnorm_vs_layernorm
from core.norm_example import worked_example
from core.norm_stats import (
    InputDist,
    batch_noise,
    batch_one_cases,
    histograms,
    labels_for,
    make_input,
    running_stats_trace,
    warm_batches,
)
from ui import norm_charts as charts
from ui import norm_text as text


def _named(fig) -> dict:
    return {t.get("name"): t for t in fig.to_dict()["data"]}


# ---- cube picture -------------------------------------------------------------------------
def _polygons(trace: dict) -> int:
    return sum(1 for v in trace["x"] if v is None)


@pytest.mark.parametrize("layout", ["samples", "paper"])
def test_cube_highlights_one_box_per_sample_that_shares(layout):
    spec = NormSpec(layer="BatchNorm2d")
    mask = shared_mask(spec, (1, 2, 0, 3)).numpy()
    fig = charts.cube_picture(mask, (1, 2, 0, 3), layout)
    data = fig.to_dict()["data"]
    hl = [t for t in data if t.get("name", "").startswith("shares its statistics (64")]
    assert len(hl) == 3  # front, top and right faces
    boxes = _polygons(hl[0])
    assert boxes == (4 if layout == "samples" else 1)  # the channel slab in every sample
    chosen = [t for t in data if t.get("name") == "chosen element"]
    assert len(chosen) == 1 and _polygons(chosen[0]) == 3
    grey = [t for t in data if t.get("name") == "other elements"][0]
    assert _polygons(grey) == 3 * (4 if layout == "samples" else 1)


def test_cube_highlight_moves_with_the_layer():
    idx = (2, 1, 1, 1)
    figs = {layer: charts.cube_picture(shared_mask(NormSpec(layer=layer), idx).numpy(), idx)
            for layer in ("BatchNorm2d", "LayerNorm", "InstanceNorm2d")}
    hl = {k: [t for t in f.to_dict()["data"] if t.get("name", "").startswith("shares")][0]
          for k, f in figs.items()}
    assert _polygons(hl["BatchNorm2d"]) == 4 and _polygons(hl["LayerNorm"]) == 1
    assert hl["LayerNorm"]["x"] != hl["InstanceNorm2d"]["x"]  # a whole block vs one slab


def test_cube_draws_scattered_sets_voxel_by_voxel():
    mask = np.zeros((1, 2, 2, 2), dtype=bool)
    mask[0, 0, 0, 0] = mask[0, 1, 1, 1] = True  # not a box
    fig = charts.cube_picture(mask, (0, 0, 0, 0))
    hl = [t for t in fig.to_dict()["data"] if t.get("name", "").startswith("shares")][0]
    assert _polygons(hl) == 2


def test_cube_refuses_bad_input():
    with pytest.raises(ValueError):
        charts.cube_picture(np.zeros((2, 2), dtype=bool), (0, 0, 0, 0))
    with pytest.raises(ValueError):
        charts.cube_picture(np.zeros((1, 1, 1, 1), dtype=bool), (0, 0, 0, 0), "sideways")


# ---- the other charts --------------------------------------------------------------------------
def test_histograms_have_one_series_per_label_and_side():
    spec = NormSpec(layer="GroupNorm", groups=3)
    x = make_input(*spec.shape)
    labels, names = labels_for(spec)
    h = histograms(x, x * 2, labels, len(names))
    data = charts.histograms(h, names).to_dict()["data"]
    assert len(data) == 2 * 3
    assert [t["xaxis"] for t in data] == ["x"] * 3 + ["x2"] * 3
    assert sum(sum(t["y"]) for t in data) == 2 * x.numel()


def test_running_stats_chart_shows_the_buffers():
    tr = running_stats_trace(3, 2, 2, 4, 10, 0.2, InputDist())
    fig = charts.running_stats(tr)
    fig.to_dict()  # serialisable
    lines = [t for t in fig.data if t.mode == "lines"]  # numpy data: read the trace objects
    assert len(lines) == 2 * 3
    assert list(lines[0].y) == pytest.approx([r[0] for r in tr["running_mean"]])
    assert list(lines[3].y) == pytest.approx([r[0] for r in tr["running_var"]])
    true = [t for t in fig.data if t.name == "true value"]
    assert list(true[1].y) == pytest.approx(tr["pop_var"])
    dots = [t for t in fig.data if t.name == "this batch"][0]
    assert list(dots.y[:3]) == pytest.approx(tr["batch_mean"][0])
    assert list(dots.marker.color[:4]) == [0, 1, 2, 0]  # coloured by channel


def test_noise_chart():
    noise = batch_noise(2, 2, 2, 1, [1, 2, 4], InputDist(), repeats=8)
    fig = charts.noise_vs_batch(noise).to_dict()
    assert len(fig["data"]) == 6
    assert fig["layout"]["xaxis"]["type"] == "log"
    assert _named(charts.noise_vs_batch(noise))["GroupNorm: output"]["y"][1] == 0.0


def test_training_curves():
    curves = {"a": {"step": [2, 4], "loss": [1.0, 0.5], "epoch_step": [4], "train_loss": [0.7],
                    "val_acc": [0.6]},
              "b": {"step": [2, 4], "loss": [1.1, 1.1], "epoch_step": [4], "train_loss": [1.1],
                    "val_acc": [None]}}
    fig = charts.training_curves(curves).to_dict()
    assert [t["name"] for t in fig["data"]] == ["a", "a", "a", "b", "b"]
    assert [t["xaxis"] for t in fig["data"]] == ["x", "x", "x2", "x", "x"]
    assert list(fig["data"][1]["y"]) == [0.7]


# ---- words and code ------------------------------------------------------------------------
@pytest.mark.parametrize("kw, parts", [
    ({"layer": "BatchNorm2d"}, ["\\mu_{c}", "NHW", "\\gamma_{c}"]),
    ({"layer": "GroupNorm"}, ["\\mu_{ng}", "\\frac{C}{G}HW"]),
    ({"layer": "LayerNorm", "normalized": "W"}, ["\\mu_{nch}", "\\gamma_{w}"]),
    ({"layer": "InstanceNorm2d", "affine": False}, ["\\mu_{nc}"]),
    ({"layer": "RMSNorm"}, ["\\mathrm{RMS}_{n}"]),
    ({"layer": "BatchNorm1d", "training": False}, ["running\\_mean", "\\hat\\mu_{chw}"]),
])
def test_formula_names_the_right_statistics(kw, parts):
    f = text.formula(NormSpec(**kw))
    for p in parts:
        assert p in f
    if kw.get("affine") is False:
        assert "\\gamma" not in f and "\\beta" not in f


def _exec(src: str) -> dict:
    ns: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(src, "<snippet>", "exec"), ns)  # noqa: S102 - testing our own snippet
    return ns


@settings(max_examples=25, deadline=None)
@given(layer=st.sampled_from(LAYERS), normalized=st.sampled_from(SHAPES),
       view=st.sampled_from(BN1D_VIEWS), training=st.booleans(), affine=st.booleans(),
       random_affine=st.booleans(), momentum=st.sampled_from([0.1, None]),
       eps=st.sampled_from([1e-5, 0.1, None]), data=st.data())
def test_snippet_runs_and_agrees_with_core(layer, normalized, view, training, affine,
                                           random_affine, momentum, eps, data):
    if eps is None and layer != "RMSNorm":
        eps = 1e-5
    spec = NormSpec(layer=layer, n=3, c=4, h=2, w=3, normalized=normalized, bn1d_view=view,
                    training=training, affine=affine, random_affine=random_affine,
                    momentum=momentum, eps=eps)
    dist = InputDist(shift=0.5, spread=0.3, outlier_frac=0.05, outlier_size=4.0, seed=2)
    idx = tuple(data.draw(st.integers(0, s - 1)) for s in spec.shape)
    ns = _exec(text.code(spec, dist, idx, batch=4, steps=3))
    assert torch.equal(ns["x"], make_input(3, 4, 2, 3, dist))
    we = worked_example(spec, ns["x"], idx, warm_batches(4, 2, 3, 4, 3, dist))
    assert float(ns["real"].detach()) == pytest.approx(we.real, abs=1e-6)
    assert float(ns["manual"].detach()) == pytest.approx(we.manual, abs=1e-5)


def test_tables_show_the_numbers():
    spec = NormSpec(layer="GroupNorm", random_affine=True)
    we = worked_example(spec, make_input(*spec.shape), (0, 1, 2, 3))
    md = text.example_table(we, spec)
    assert f"{we.real:.6g}" in md and f"{we.mu:.6g}" in md and "autograd" in md
    x = make_input(2, 3, 2, 2)
    assert "(3,)" in text.layernorm_table(groupnorm_vs_layernorm(x))
    assert "InstanceNorm2d" in text.instancenorm_table(groupnorm_vs_instancenorm(x))
    assert "ValueError" in text.batch_one_table(batch_one_cases(2, 2, 2))
    stats = {"mean_in": [1.0], "std_in": [2.0], "mean_out": [0.0], "std_out": [1.0]}
    assert "| ch | 1.0000 | 2.0000 | 0.0000 | 1.0000 |" in text.stats_table(["ch"], stats)


def test_stats_table_never_shows_minus_zero():
    table = text.stats_table(["c0"], {"mean_in": [-1e-9], "std_in": [1.0],
                                      "mean_out": [-4e-5], "std_out": [0.99999]})
    assert "-0.0000" not in table and "| c0 | 0.0000 | 1.0000 | 0.0000 | 1.0000 |" in table
