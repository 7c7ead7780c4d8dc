"""The training page's chart builders through fig.to_dict(): traces, axes, overlays, empty input."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from tests.lr_plotly import decode, decode_traces
from ui import train_charts as tc
from ui.theme import BAD, PRIMARY


def history_snapshot(n_steps: int = 6, spe: int = 3, acc: bool = True, finished: bool = False,
                     ) -> dict:
    steps = list(range(1, n_steps + 1))
    return {
        "steps": {"step": steps, "epoch": [(s - 1) // spe + 1 for s in steps],
                  "loss": [1.0 / s for s in steps], "acc": [0.1 * s for s in steps] if acc
                  else [None] * n_steps, "lr": [0.01] * n_steps,
                  "grad_norm": [2.0, 1.0, 0.0, 0.5, 0.25, 0.125][:n_steps],
                  "samples_per_s": [1000.0 + s for s in steps],
                  "elapsed": [0.5 * s for s in steps]},
        "epochs": {"epoch": [1, 2], "val_loss": [0.8, 0.6], "val_acc": [0.5, 0.7] if acc
                   else [None, None], "train_loss": [0.9, 0.7]},
        "started": {"steps_per_epoch": spe, "total_steps": 60, "start_epoch": 0,
                    "config": {"epochs": 20}},
        "finished": {"reason": "completed", "elapsed": 75.0, "epochs": 20, "steps": 60}
        if finished else None,
        "early_stopped": None, "version": 9,
    }


def runs(k: int = 2, **kw) -> list[dict]:
    return [{"label": f"run {i + 1}", "snapshot": history_snapshot(**kw)} for i in range(k)]


def is_empty(fig) -> bool:
    d = fig.to_dict()
    return not d["data"] and "No" in d["layout"]["annotations"][0]["text"]


@pytest.mark.parametrize("build", [
    lambda: tc.curves_figure([]), lambda: tc.curves_figure(None, "acc"),
    lambda: tc.lr_gradnorm_figure(None), lambda: tc.throughput_figure(None),
    lambda: tc.throughput_figure({"steps": {"step": []}}), lambda: tc.boundary_figure(None),
    lambda: tc.curve_figure({}), lambda: tc.image_grid_figure({"items": []}),
    lambda: tc.confusion_figure(None), lambda: tc.layer_stats_figure(None),
    lambda: tc.layer_histogram_figure({"names": ["w"], "hist": {}}),
    lambda: tc.curves_figure([{"label": "x", "snapshot": dict(history_snapshot(0),
                                                              epochs={"epoch": []})}]),
])
def test_empty_input_gives_a_no_data_note(build):
    assert is_empty(build())


def test_curves_overlay_runs_and_put_steps_on_fractional_epochs():
    d = tc.curves_figure(runs(3), "loss").to_dict()
    traces = decode_traces(d["data"])
    assert len(traces) == 6  # train + validation per run
    assert [t["name"] for t in traces[-2:]] == ["run 3 · train", "run 3 · validation"]
    current, earlier = traces[-2], traces[0]
    assert current["line"]["color"] == PRIMARY and current["line"].get("dash") is None
    assert earlier["line"]["dash"] == "dash" and earlier["line"]["color"] != PRIMARY
    assert current["x"] == pytest.approx([s / 3 for s in range(1, 7)])
    assert current["y"] == pytest.approx([1.0 / s for s in range(1, 7)])
    assert traces[-1]["x"] == [1, 2] and traces[-1]["y"] == [0.8, 0.6]
    assert "markers" in traces[-1]["mode"]
    assert (d["layout"]["xaxis"]["title"]["text"], d["layout"]["yaxis"]["title"]["text"]) == (
        "epoch", "loss")


def test_the_run_marked_current_is_highlighted():
    rs = runs(2)
    rs[0]["current"] = True
    traces = tc.curves_figure(rs).to_dict()["data"]
    assert traces[-1]["name"] == "run 1 · validation" and traces[-1]["line"]["color"] == PRIMARY


def test_accuracy_curves_and_the_regression_note():
    d = tc.curves_figure(runs(1), "acc").to_dict()
    assert decode(d["data"][1]["y"]) == [0.5, 0.7]
    assert d["layout"]["yaxis"]["title"]["text"] == "accuracy"
    assert d["layout"]["yaxis"]["tickformat"] == ".0%"
    fig = tc.curves_figure(runs(1, acc=False), "acc")
    assert is_empty(fig) and "regression" in fig.to_dict()["layout"]["annotations"][0]["text"]
    started = [{"label": "new", "snapshot": dict(history_snapshot(0), epochs={"epoch": []})}]
    fig = tc.curves_figure(started, "acc")  # a run that has not logged yet is no regression
    assert is_empty(fig) and "yet" in fig.to_dict()["layout"]["annotations"][0]["text"]
    with pytest.raises(ValueError):
        tc.curves_figure(runs(1), "f1")


def test_lr_and_gradient_norm_panels():
    d = tc.lr_gradnorm_figure(runs(2)).to_dict()
    traces = decode_traces(d["data"])
    assert len(traces) == 4
    lr = [t for t in traces if t["yaxis"] == "y"]
    gn = [t for t in traces if t["yaxis"] == "y2"]
    assert len(lr) == len(gn) == 2 and all(not t["showlegend"] for t in gn)
    assert gn[-1]["x"] == [1, 2, 4, 5, 6]  # the zero norm cannot sit on a log axis
    assert d["layout"]["yaxis2"]["type"] == "log"
    assert d["layout"]["yaxis"]["title"]["text"] == "learning rate"
    assert d["layout"]["xaxis2"]["title"]["text"] == "step"
    top = max(v for t in lr for v in t["y"] if v is not None)
    assert d["layout"]["yaxis"]["range"] == [0, pytest.approx(top * 1.1)]


def test_a_constant_lr_is_drawn_above_zero_not_on_it():
    snap = {"steps": {"step": [1, 2, 3], "lr": [0.01] * 3, "grad_norm": [1.0, 0.5, 0.2]}}
    d = tc.lr_gradnorm_figure([{"label": "a", "snapshot": snap}]).to_dict()
    lo, hi = d["layout"]["yaxis"]["range"]
    assert lo == 0 and 0.01 < hi < 0.02


def test_throughput_and_progress_text():
    snap = history_snapshot()
    d = tc.throughput_figure(snap).to_dict()
    assert decode(d["data"][0]["y"]) == [1001.0 + i for i in range(6)]
    assert d["layout"]["yaxis"]["title"]["text"] == "samples / s"
    # step 6 of 60 after 3 s: 27 s left for the other 54 steps
    assert tc.progress_text(snap) == "epoch 2/20 · 10 % · 1 006 samples/s · 27 s left"
    done = tc.progress_text(history_snapshot(finished=True))
    assert done == "epoch 20/20 · 100 % · 1 006 samples/s · completed after 1 min 15 s"
    assert tc.progress_text(None) == "waiting for the run to start"
    failed_early = {"started": None, "steps": {}, "finished": {
        "reason": "failed", "message": "The dataset is missing.", "elapsed": 0.4}}
    assert tc.progress_text(failed_early) == "failed after 0.4 s"  # not "waiting"
    assert [tc.duration(s) for s in (0.24, 12, 185, 7300)] == [
        "0.2 s", "12 s", "3 min 05 s", "2 h 01 min"]


def boundary(k: int = 3) -> dict:
    xs, ys = [0.0, 1.0, 2.0], [0.0, 1.0]
    return {"xs": xs, "ys": ys, "pred": [[0, 1, 2], [2, 1, 0]],
            "prob": [[1.0, 0.5, 1 / 3], [0.9, 0.8, 0.7]],
            "points": {"x": [0.1, 0.2, 1.5], "y": [0.1, 0.9, 0.5], "label": [0, 0, 2]},
            "class_names": ["a", "b", "c"], "step": 7, "epoch": 1}


def test_boundary_shades_each_class_by_confidence_under_the_points():
    d = tc.boundary_figure(boundary()).to_dict()
    heat, *points = decode_traces(d["data"])
    assert heat["type"] == "heatmap" and (heat["zmin"], heat["zmax"]) == (0, 3)
    z = np.asarray(heat["z"])
    assert np.floor(z).astype(int).tolist() == [[0, 1, 2], [2, 1, 0]]  # band = class
    assert z[0, 0] == pytest.approx(0.999) and z[0, 2] == pytest.approx(2.0)  # sure vs chance
    assert [p["name"] for p in points] == ["a", "c"]  # classes with training points
    assert points[0]["x"] == [0.1, 0.2] and points[1]["y"] == [0.5]
    assert d["layout"]["yaxis"]["scaleanchor"] == "x"
    assert "after step 7" in d["layout"]["xaxis"]["title"]["text"]


def test_live_boundary_and_curve_draw_every_kth_point_of_each_class():
    n = 900  # the probe's sample in row order: a synthetic set's classes come in blocks
    b = {**boundary(), "points": {"x": [i / n for i in range(n)], "y": [0.5] * n,
                                  "label": [i // 300 for i in range(n)]}}
    live = decode_traces(tc.boundary_figure(b, max_points=300).to_dict()["data"])[1:]
    full = decode_traces(tc.boundary_figure(b).to_dict()["data"])[1:]
    assert sum(len(p["x"]) for p in full) == n
    assert sum(len(p["x"]) for p in live) == 300
    assert [len(p["x"]) for p in live] == [100, 100, 100]  # each class keeps its share
    assert set(live[0]["x"]) <= set(full[0]["x"])
    curve = {"x": [0.0, 1.0], "y": [1.0, 2.0], "points": {"x": list(range(1000)),
                                                          "y": list(range(1000))}}
    pts = decode_traces(tc.curve_figure(curve, max_points=300).to_dict()["data"])[0]
    assert len(pts["x"]) == 250 and pts["x"][:3] == [0, 4, 8] and pts["y"] == pts["x"]
    assert tc.thin_points(None, 5) == {} and tc.thin_points({"x": [1, 2]}, 5) == {"x": [1, 2]}


def test_regression_boundary_and_curve():
    grid = {"xs": [0.0, 1.0], "ys": [0.0, 1.0], "value": [[0.1, 0.2], [0.3, 0.4]],
            "points": {"x": [0.5], "y": [0.5], "value": [0.25]}}
    d = tc.boundary_figure(grid).to_dict()
    assert decode(d["data"][0]["z"]) == [[0.1, 0.2], [0.3, 0.4]] and len(d["data"]) == 2
    curve = {"x": [0.0, 1.0], "y": [1.0, 2.0], "points": {"x": [0.5], "y": [1.4]}, "step": 3}
    d = tc.curve_figure(curve).to_dict()
    assert [t["name"] for t in d["data"]] == ["training points", "model"]
    assert decode(d["data"][1]["y"]) == [1.0, 2.0]
    assert d["layout"]["yaxis"]["title"]["text"] == "y"


def test_image_grid_stitches_tiles_and_marks_mistakes():
    gray = [[0, 255], [128, 64]]
    colour = [[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [9, 9, 9]]]
    items = [{"pixels": gray, "label": 1, "pred": 1, "confidence": 0.9, "correct": True},
             {"pixels": gray, "label": 0, "pred": 2, "confidence": 0.6, "correct": False}]
    fig = tc.image_grid_figure({"items": items, "class_names": ["zero", "one", "two"],
                                "step": 4}, columns=8)
    d = fig.to_dict()
    assert len(d["data"]) == 1 and d["data"][0]["type"] == "image"
    z = np.asarray(decode(d["data"][0]["z"]))
    notes = d["layout"]["annotations"]
    assert [n["text"] for n in notes] == ["one → one", "zero → two"]
    assert notes[1]["font"]["color"] == BAD and notes[0]["font"].get("color") is None
    h, band, frame, gap = 2, 4, 1, 1  # tiles of 2x2: the smallest frame, gap and title band
    assert z.shape == (band + h + 2 * frame, 2 * (2 + 2 * frame + gap), 4)
    tile = z[band + frame:band + frame + 2, frame:frame + 2]
    assert tile[..., 0].tolist() == gray and tile[..., 3].tolist() == [[1, 1], [1, 1]]
    left = 2 + 2 * frame + gap
    red = [int(BAD[i:i + 2], 16) for i in (1, 3, 5)] + [1]
    assert z[band, left].tolist() == red and z[band, 0, 3] == 0  # only the mistake is framed
    d = tc.image_grid_figure({"items": [dict(items[0], pixels=colour)]}).to_dict()
    z = np.asarray(decode(d["data"][0]["z"]))
    assert z[band + frame, frame, :3].tolist() == [255, 0, 0]
    assert "1 of 2 wrong" in fig.to_dict()["layout"]["title"]["text"]


def test_confusion_counts_and_normalised_rows():
    conf = {"matrix": [[3, 1], [0, 0]], "class_names": ["cat", "dog"], "split": "val",
            "n": 4, "total": 10, "accuracy": 0.75}
    d = tc.confusion_figure(conf).to_dict()
    heat = decode_traces(d["data"])[0]
    assert heat["z"] == [[3, 1], [0, 0]] and heat["text"] == [["3", "1"], ["0", "0"]]
    assert heat["x"] == heat["y"] == ["cat", "dog"]
    assert d["layout"]["yaxis"]["autorange"] == "reversed"
    assert d["layout"]["xaxis"]["title"]["text"] == "predicted"
    assert d["layout"]["yaxis"]["title"]["text"] == "true"
    assert d["layout"]["title"]["text"] == "val: 4 of 10 samples · accuracy 75.0%"
    heat = decode_traces(tc.confusion_figure(conf, normalize=True).to_dict()["data"])[0]
    assert heat["z"] == [[0.75, 0.25], [0.0, 0.0]]  # an empty row stays 0, not NaN
    assert heat["text"][0] == ["75%", "25%"]


def layers() -> dict:
    series = {"fc.weight": {"step": [0, 5, 9], "weight_std": [1.0, 0.9, 0.8],
                            "grad_norm": [None, 0.5, None], "ratio": [None, 0.1, None]},
              "fc.bias": {"step": [0, 5, 9], "weight_std": [0.0, 0.1, 0.2],
                          "grad_norm": [None, 0.0, None], "ratio": [None, 0.0, None]}}
    hist = {"fc.weight": {"weight": {"counts": [1, 2], "edges": [-1.0, 0.0, 1.0]},
                          "weight_step": 9, "grad": {"counts": [3, 0], "edges": [0.0, 0.5, 1.0]},
                          "grad_step": 5},
            "fc.bias": {"weight": {"counts": [2, 0], "edges": [-0.5, 0.0, 0.5]},
                        "weight_step": 9, "grad": None, "grad_step": None}}
    return {"names": ["fc.weight", "fc.bias"], "series": series, "hist": hist, "step": 9}


def test_layer_statistics_lines():
    d = tc.layer_stats_figure(layers(), "weight_std").to_dict()
    traces = decode_traces(d["data"])
    assert [t["name"] for t in traces] == ["fc.weight", "fc.bias"]
    assert traces[0]["y"] == [1.0, 0.9, 0.8] and traces[1]["line"]["dash"] == "dot"
    d = tc.layer_stats_figure(layers(), "grad_norm").to_dict()
    assert len(d["data"]) == 1 and decode(d["data"][0]["x"]) == [5]  # None and 0 left out
    assert d["layout"]["yaxis"]["type"] == "log"
    assert len(tc.layer_stats_figure(layers(), "weight_std", names=["fc.bias"]).data) == 1
    with pytest.raises(ValueError):
        tc.layer_stats_figure(layers(), "bogus")


def test_layer_histograms_one_panel_per_tensor():
    d = tc.layer_histogram_figure(layers(), "weight").to_dict()
    bars = decode_traces(d["data"])
    assert [b["x"] for b in bars] == [[-0.5, 0.5], [-0.25, 0.25]]
    assert [b["y"] for b in bars] == [[1, 2], [2, 0]]
    assert [b["xaxis"] for b in bars] == ["x", "x2"]
    assert [a["text"] for a in d["layout"]["annotations"]] == ["fc.weight", "fc.bias"]
    assert d["layout"]["title"]["text"] == "weight histograms at step 9"  # said once
    d = tc.layer_histogram_figure(layers(), "grad").to_dict()
    assert len(d["data"]) == 1 and d["layout"]["annotations"][0]["text"] == "fc.weight"
    assert d["layout"]["title"]["text"] == "gradient histograms at step 5"
    many = layers()
    many["names"] = ["fc.weight"] * 14
    d = tc.layer_histogram_figure(many, max_panels=12).to_dict()
    assert len(d["data"]) == 12 and "first 12 of 14" in d["layout"]["title"]["text"]


def test_real_snapshots_draw():
    """The builders accept what History and Probe really produce."""
    from core.config import TrainConfig
    from core.history import History
    from core.train_probe import Probe
    from core.trainer import Trainer

    history, probe = History(), Probe(every_s=1e9, grid=12)
    trainer = Trainer(TrainConfig(n_samples=120, epochs=2, log_every=2, threads=1),
                      [history, probe])
    probe.attach(trainer)
    assert trainer.run().reason == "completed"
    snap, hist = probe.snapshot(), history.snapshot(max_points=2000)
    # Probe snapshots share the probe's own views (read-only): no builder may change them
    before = copy.deepcopy(snap)
    rs = [{"label": "now", "snapshot": hist}]
    figs = [tc.curves_figure(rs), tc.curves_figure(rs, "acc"), tc.lr_gradnorm_figure(rs),
            tc.throughput_figure(hist), tc.boundary_figure(snap["boundary"]),
            tc.boundary_figure(snap["boundary"], max_points=5),
            tc.confusion_figure(snap["confusion"]), tc.layer_stats_figure(snap["layers"]),
            tc.layer_stats_figure(snap["layers"], "weight_norm"),
            tc.layer_histogram_figure(snap["layers"], "grad")]
    assert all(f.to_dict()["data"] for f in figs)
    assert probe.snapshot() == before == snap
    assert tc.progress_text(hist).startswith("epoch 2/2 · 100 %")
