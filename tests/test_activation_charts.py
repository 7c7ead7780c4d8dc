"""Chart builders of the activations page, inspected through fig.to_dict()."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from core.activation_curves import curve, regions
from core.depth_experiment import DepthConfig, run_depth
from core.prelu_demo import PreluConfig, train_prelu
from ui.activation_charts import (
    VANISH_FILL,
    ZERO_FILL,
    Series,
    depth_fractions,
    depth_heatmap,
    depth_lines,
    function_chart,
    prelu_chart,
    with_gaps,
)


def arr(value) -> np.ndarray:
    """A trace array from to_dict(): plotly 6+ stores numpy data as base64 'bdata'."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return out.reshape([int(n) for n in str(shape).split(",")]) if shape else out
    return np.asarray(value)


def _series(names):
    return [Series(n, c.x, c.y, c.dy) for n in names for c in [curve(n, {}, -6, 6, 121)]]


def test_function_chart_draws_f_above_fprime_with_shaded_regions():
    relu = curve("relu", {}, -6, 6, 121)
    shaded = regions(relu, 0.05)
    fig = function_chart(_series(["relu", "tanh"]), vanishing=shaded.vanishing,
                         zero=shaded.zero, threshold=0.05, probe_x=1.5, focus="relu").to_dict()
    lines = [t for t in fig["data"] if t.get("mode") != "markers"]
    assert [t["name"] for t in lines] == ["relu", "relu", "tanh", "tanh"]
    assert [t["yaxis"] for t in lines] == ["y", "y2", "y", "y2"]
    np.testing.assert_allclose(arr(lines[1]["y"]), relu.dy)
    swatches = [t["name"] for t in fig["data"] if t.get("mode") == "markers"]
    assert swatches == ["|f'| < 0.05 (relu)", "f' = 0 exactly (relu)"]
    rects = [s for s in fig["layout"]["shapes"] if s["type"] == "rect"]
    assert {(s["x0"], s["x1"], s["fillcolor"]) for s in rects} == {
        (-6.0, 0.0, VANISH_FILL), (-6.0, 0.0, ZERO_FILL)}
    assert {s["xref"] for s in rects} == {"x", "x2"}  # shaded in both panels
    probes = [s for s in fig["layout"]["shapes"] if s["type"] == "line"]
    assert [s["x0"] for s in probes] == [1.5, 1.5]
    assert lines[0]["line"]["width"] > lines[2]["line"]["width"]  # the focus stands out


def test_function_chart_without_regions_has_no_swatches():
    fig = function_chart(_series(["tanh"])).to_dict()
    assert len(fig["data"]) == 2 and not fig["layout"].get("shapes")


def test_depth_lines_are_on_log_axes_with_gaps_for_zero():
    fig = depth_lines({"A": ((1.0, 0.1, 0.0), (1e-3, 1e-5, float("nan"))),
                       "B": ((1.0, 1.0, 1.0), (1.0, 1.0, 1.0))}, chosen="A").to_dict()
    assert fig["layout"]["yaxis"]["type"] == "log" and fig["layout"]["yaxis2"]["type"] == "log"
    a_std = fig["data"][0]
    assert list(a_std["y"]) == [1.0, 0.1, None] and a_std["line"]["width"] == 3.5
    assert fig["data"][2]["line"]["dash"] == "dot"


def test_depth_heatmap_and_fractions():
    r = run_depth(DepthConfig(depth=5, width=16, batch=32))
    heat = depth_heatmap(r.bin_edges, r.hist).to_dict()["data"][0]
    assert arr(heat["z"]).shape == (r.config.bins, 5)
    np.testing.assert_allclose(arr(heat["z"]).sum(axis=0), [sum(row) for row in r.hist])
    assert list(heat["x"]) == [1, 2, 3, 4, 5]
    bars = depth_fractions(r.saturated, r.dead, 0.05).to_dict()
    assert [list(b["y"]) for b in bars["data"]] == [list(r.saturated), list(r.dead)]
    assert bars["layout"]["yaxis"]["range"] == [0, 1]


@pytest.mark.parametrize("with_fit", [True, False])
def test_prelu_chart(with_fit):
    run = train_prelu(PreluConfig(steps=10))
    args = (run.x, run.y, run.fitted if with_fit else None)
    fig = prelu_chart(run.steps, run.slope, run.loss, run.best_slope, *args).to_dict()
    names = [t["name"] for t in fig["data"]]
    assert names[:3] == ["learned a", f"least-squares a* = {run.best_slope:.3f}", "loss"]
    assert ("PReLU with the learned a" in names) == with_fit
    assert list(fig["data"][0]["y"]) == list(run.slope)
    assert fig["layout"]["yaxis2"]["type"] == "log"


def test_lines_break_at_jumps_and_kinks():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    gx, gy = with_gaps(x, x * 10, [0.0])  # a break on a grid point isolates that point
    assert np.isnan(gx).sum() == 2 and list(gx[~np.isnan(gx)]) == list(x)
    gx, _ = with_gaps(x, x, [0.25, 5.0])  # between points: one gap; outside: none
    assert np.isnan(gx).sum() == 1 and np.flatnonzero(np.isnan(gx))[0] == 3
    relu = curve("relu", {}, -1, 1, 5)
    fig = function_chart([Series("relu", relu.x, relu.y, relu.dy, df_breaks=(0.0,))])
    assert np.isnan(arr(fig.to_dict()["data"][1]["y"])).sum() == 2  # f' broken at the kink
    assert not np.isnan(arr(fig.to_dict()["data"][0]["y"])).any()  # f is continuous


def test_log_ticks_label_a_narrow_span_and_thin_a_wide_one():
    from ui.theme import log_dtick

    assert log_dtick([0.03, 0.4]) == "D2"  # inside one decade: 1, 2, 5 labels
    assert log_dtick([1e-10, 1e-4]) == 1  # six decades: one label each
    assert log_dtick([1e-12, 1]) == 2  # twelve: every other decade
    assert log_dtick([0, float("nan")]) == 1  # nothing drawable: plotly's default decade
