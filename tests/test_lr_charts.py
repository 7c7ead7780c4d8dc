"""Chart builders and the CSV of the LR page, inspected through to_dict() / the text."""

from __future__ import annotations

import csv
import io

from core.lr_curves import record_curve
from tests.lr_plotly import decode_traces
from ui.lr_charts import Series, lr_curves, plateau_chart
from ui.lr_compare import curves_csv

ONECYCLE = record_curve({"kind": "OneCycleLR", "params": {}}, {"epochs": 4, "steps_per_epoch": 5})
STEP = record_curve({"kind": "StepLR", "params": {"step_size": 2}}, {"epochs": 4,
                                                                     "steps_per_epoch": 5})


def figure(fig) -> dict:
    d = fig.to_dict()
    return {**d, "data": decode_traces(d["data"])}


def test_overlay_keeps_exact_values_and_both_units():
    fig = figure(lr_curves([Series("one", ONECYCLE), Series("step", STEP)], xunit="batches"))
    lr_traces = [t for t in fig["data"] if t.get("showlegend") is not False]
    assert [t["name"] for t in lr_traces] == ["one", "step"]
    one, step = lr_traces
    assert list(one["y"]) == ONECYCLE.lr and list(one["x"]) == list(range(20))
    assert list(step["x"]) == [0, 5, 10, 15] and list(step["y"]) == STEP.lr  # epochs -> batches
    assert step["line"]["shape"] == "hv"  # constant between two scheduler steps
    assert "%{y:.10g}" in one["hovertemplate"]
    assert [list(c) for c in step["customdata"]][1] == [1, 1.0, 5]  # step, epoch, batch
    assert fig["layout"]["hovermode"] == "x unified"
    assert one["line"]["color"] != step["line"]["color"]


def test_momentum_panel_only_when_cycled():
    fig = figure(lr_curves([Series("one", ONECYCLE)]))
    mom = [t for t in fig["data"] if t.get("showlegend") is False]
    assert len(mom) == 1 and list(mom[0]["y"]) == ONECYCLE.momentum and mom[0]["yaxis"] == "y2"
    assert fig["layout"]["yaxis2"]["title"]["text"] == "momentum"
    plain = figure(lr_curves([Series("step", STEP)], logy=True))
    assert len(plain["data"]) == 1 and "yaxis2" not in plain["layout"]
    assert plain["layout"]["yaxis"]["type"] == "log"
    assert plain["layout"]["xaxis"]["title"]["text"] == "epochs"


def test_plateau_chart_marks_reductions_with_reasons():
    curve = record_curve({"kind": "ReduceLROnPlateau", "params": {"patience": 1, "min_lr": 0.02},
                          "metric": {"shape": "plateaus", "noise": 0, "plateau_at": [3],
                                     "plateau_len": 30}}, {"epochs": 30})
    fig = figure(plateau_chart(curve.plateau, metric_name="val_loss"))
    by_name = {t["name"]: t for t in fig["data"]}
    assert list(by_name["val_loss"]["y"]) == [s.metric for s in curve.plateau]
    assert list(by_name["lr"]["y"]) == curve.lr and by_name["lr"]["yaxis"] == "y2"
    cuts = [s for s in curve.plateau if s.event == "reduced"]
    marks = by_name["LR reduced"]
    assert list(marks["x"]) == [s.epoch + 1 for s in cuts]  # where the new LR starts
    assert [c[0] for c in marks["customdata"]] == [s.why for s in cuts]
    assert "patience" in marks["customdata"][0][0]
    assert by_name["cut refused: min_lr"]["visible"] is True


def test_csv_holds_every_curve_at_full_precision():
    text = curves_csv([Series("one", ONECYCLE), Series("step", STEP)])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 20 + 4
    assert [float(r["lr"]) for r in rows if r["schedule"] == "one"] == ONECYCLE.lr
    assert [float(r["momentum_or_beta1"]) for r in rows if r["schedule"] == "one"] == \
        ONECYCLE.momentum
    assert [int(r["batch"]) for r in rows if r["schedule"] == "step"] == [0, 5, 10, 15]
