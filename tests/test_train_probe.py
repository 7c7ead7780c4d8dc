"""The training probe against real short runs: every view equals torch's own computation on the
run's model and data, the probe never changes or ends a run, and it stays thread-safe."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from core.config import TrainConfig
from core.evaluate import sample_predictions
from core.events import Callback, RunStarted
from core.history import History
from core.train_probe import Probe
from core.trainer import RunResult, Trainer
from tests.engine_helpers import one_torch_thread  # noqa: F401 (autouse)

SPIRAL = dict(dataset="spiral", n_samples=400, epochs=3, batch_size=32, log_every=2, depth=2,
              width=16, threads=1)


class GradRecorder(Callback):
    """Our own optimizer pre-hook: each step's gradient and weight norms, for comparison."""

    def __init__(self) -> None:
        self.trainer: Any = None
        self.norms: dict[int, dict[str, tuple[float, float]]] = {}

    def on_event(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            model = self.trainer.model

            def hook(opt: Any, args: Any, kwargs: Any) -> None:
                self.norms[len(self.norms) + 1] = {
                    n: (float(p.grad.norm()), float(p.detach().norm()))
                    for n, p in model.named_parameters()}

            self.trainer.optimizer.register_step_pre_hook(hook)


def run(probe: Probe | None = None, *extra: Callback, **cfg: Any) -> tuple[RunResult, Trainer]:
    callbacks = [History()] + ([probe] if probe else []) + list(extra)
    trainer = Trainer(TrainConfig(**cfg), callbacks)
    if probe:
        probe.attach(trainer)
    for cb in extra:
        if isinstance(cb, GradRecorder):
            cb.trainer = trainer
    return trainer.run(), trainer


@pytest.fixture(scope="module")
def spiral() -> tuple[RunResult, dict, GradRecorder]:
    rec, probe = GradRecorder(), Probe(every_s=0.0, grid=25)
    result, _ = run(probe, rec, **SPIRAL)
    assert result.reason == "completed", result.message
    return result, probe.snapshot(), rec


def test_boundary_is_the_models_prediction_on_the_grid(spiral):
    result, snap, _ = spiral
    b, model, data = snap["boundary"], result.model, result.data
    assert len(b["xs"]) == len(b["ys"]) == 25
    assert len(b["pred"]) == 25 and all(len(row) == 25 for row in b["pred"])
    yy, xx = torch.meshgrid(torch.tensor(b["ys"]), torch.tensor(b["xs"]), indexing="ij")
    model.eval()
    with torch.no_grad():
        probs = model(torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)).softmax(-1)
    assert torch.equal(probs.argmax(-1).view(25, 25), torch.tensor(b["pred"]))
    assert torch.allclose(probs.amax(-1).view(25, 25), torch.tensor(b["prob"]), atol=1e-6)
    x = data.train.x  # the grid covers every training point, with a margin
    assert b["xs"][0] < float(x[:, 0].min()) and b["xs"][-1] > float(x[:, 0].max())
    assert b["ys"][0] < float(x[:, 1].min()) and b["ys"][-1] > float(x[:, 1].max())
    rows = {(round(u, 5), round(v, 5), int(c))
            for (u, v), c in zip(x.tolist(), data.train.y, strict=True)}
    pts = b["points"]
    assert len(pts["x"]) == len(data.train) <= 1500  # 240 points: all of them
    assert {(round(u, 5), round(v, 5), c)
            for u, v, c in zip(pts["x"], pts["y"], pts["label"], strict=True)} == rows
    assert (b["step"], b["class_names"]) == (result.steps, data.class_names)


def test_points_are_subsampled_to_max_points():
    result, _ = run(probe := Probe(max_points=50), **SPIRAL | dict(epochs=1))
    pts = probe.snapshot()["boundary"]["points"]
    assert len(pts["x"]) == len(pts["y"]) == len(pts["label"]) == 50


def test_confusion_matrix_equals_torch_on_the_validation_split(spiral):
    result, snap, _ = spiral
    c, val = snap["confusion"], result.data.val
    result.model.eval()
    with torch.no_grad():
        pred = result.model(val.x).argmax(-1)
    expected = torch.bincount(val.y * 3 + pred, minlength=9).view(3, 3).tolist()
    assert c["matrix"] == expected
    assert sum(map(sum, c["matrix"])) == c["n"] == c["total"] == len(val)
    assert (c["split"], c["step"], c["epoch"]) == ("val", result.steps, 3)
    assert c["accuracy"] == pytest.approx(result.final["val_acc"])


def test_confusion_matrix_is_capped_at_max_eval():
    result, _ = run(probe := Probe(max_eval=30), **SPIRAL | dict(epochs=1))
    c, val = probe.snapshot()["confusion"], result.data.val
    with torch.no_grad():
        pred = result.model.eval()(val.x[:30]).argmax(-1)
    assert sum(map(sum, c["matrix"])) == c["n"] == 30 and c["total"] == len(val) == 64
    assert c["matrix"] == torch.bincount(val.y[:30] * 3 + pred, minlength=9).view(3, 3).tolist()


def test_final_layer_statistics_equal_torch_on_the_final_model(spiral):
    result, snap, _ = spiral
    layers = snap["layers"]
    params = dict(result.model.named_parameters())
    assert layers["names"] == list(params)
    assert layers["shapes"] == [list(p.shape) for p in params.values()]
    for name, p in params.items():
        s, w = layers["series"][name], p.detach()
        assert s["step"][0] == 0 and s["step"][-1] == result.steps
        assert s["grad_norm"][-1] is None  # no gradients exist after the last step
        assert s["weight_mean"][-1] == pytest.approx(float(w.mean()), abs=1e-7)
        assert s["weight_std"][-1] == pytest.approx(float(w.std(correction=0)), rel=1e-5)
        assert s["weight_absmax"][-1] == pytest.approx(float(w.abs().max()), rel=1e-6)
        assert s["weight_norm"][-1] == pytest.approx(float(w.norm()), rel=1e-6)
        h = layers["hist"][name]["weight"]
        assert len(h["counts"]) == 30 and len(h["edges"]) == 31
        assert h["counts"] == torch.histc(w, 30, min=h["edges"][0], max=h["edges"][-1]).tolist()
        assert sum(h["counts"]) == p.numel()
        assert h["edges"][0] == pytest.approx(float(w.min()))
        assert h["edges"][-1] == pytest.approx(float(w.max()))


def test_gradient_statistics_are_the_steps_own(spiral):
    result, snap, rec = spiral
    series = snap["layers"]["series"]
    checked = 0
    for name, s in series.items():
        for step, g, r, wn in zip(s["step"], s["grad_norm"], s["ratio"], s["weight_norm"],
                                  strict=True):
            if g is None:
                continue
            grad_norm, weight_norm = rec.norms[step][name]
            assert g == pytest.approx(grad_norm, rel=1e-5)
            assert wn == pytest.approx(weight_norm, rel=1e-5)  # the weights the grads were for
            assert r == pytest.approx(grad_norm / weight_norm, rel=1e-5)
            checked += 1
    assert checked >= len(series) * 2
    last = {name: s["step"][s["grad_norm"].index(None, 1) - 1] if None in s["grad_norm"][1:]
            else None for name, s in series.items()}
    assert set(last.values()) == {result.steps}  # the last step's gradients are kept
    hist = snap["layers"]["hist"]["head.weight"]
    assert hist["grad_step"] == result.steps and sum(hist["grad"]["counts"]) > 0


def test_the_probe_does_not_change_training():
    cfg = SPIRAL | dict(dropout=0.3)  # dropout draws from the global RNG while training
    with_probe, _ = run(Probe(every_s=0.0), **cfg)
    without, _ = run(None, **cfg)
    assert with_probe.history.steps["loss"] == without.history.steps["loss"]
    for a, b in zip(with_probe.model.parameters(), without.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_every_s_throttles_updates_and_version_grows():
    class Versions(Callback):
        def __init__(self, probe: Probe) -> None:
            self.probe, self.seen = probe, []

        def on_event(self, event: Any) -> None:
            self.seen.append(self.probe.version)

    lazy = Probe(every_s=1e9)
    versions = Versions(lazy)
    run(lazy, versions, **SPIRAL)
    snap = lazy.snapshot()
    # The weights at the start; at the end the boundary/layers and the confusion matrix.
    assert snap["updates"] == 3 and snap["version"] == 3
    assert versions.seen == sorted(versions.seen) and versions.seen[-1] == 3
    assert snap["layers"]["series"]["head.bias"]["step"] == [0, lazy_last(snap), lazy_last(snap)]
    busy = Probe(every_s=0.0)
    run(busy, **SPIRAL)
    snap = busy.snapshot()
    assert snap["updates"] > 3 and snap["cost_s"] > 0 and snap["cpu_s"] > 0
    steps = snap["layers"]["series"]["head.bias"]["step"]
    thin = busy.snapshot(max_rows=3)["layers"]["series"]["head.bias"]["step"]
    assert len(steps) > 3 and len(thin) <= 4 and thin[0] == 0 and thin[-1] == steps[-1]


def lazy_last(snap: dict) -> int:
    return snap["boundary"]["step"]


def test_an_error_in_the_probe_is_reported_and_the_run_goes_on(monkeypatch):
    def broken(self: Probe) -> dict:
        raise RuntimeError("boom")

    monkeypatch.setattr(Probe, "_boundary", broken)
    probe = Probe(every_s=0.0)
    result, trainer = run(probe, **SPIRAL)
    assert result.reason == "completed", result.message
    snap = probe.snapshot()
    assert "RuntimeError: boom" in snap["error"]
    assert not trainer.optimizer._optimizer_step_pre_hooks  # quiet: its hook is gone
    version = snap["version"]
    probe.on_event(RunStarted({}, "cpu", 0, 1, 1, 1, 1, 1, "off", "fused"))
    assert probe.version == version  # quiet for good


def test_a_probe_that_was_never_attached_says_so():
    probe = Probe()
    result = Trainer(TrainConfig(**SPIRAL), [probe]).run()
    assert result.reason == "completed"
    assert "attach" in probe.snapshot()["error"]


def test_regression_gives_a_curve_of_the_models_outputs():
    probe = Probe(every_s=1e9, grid=10)
    result, _ = run(probe, dataset="regression", loss="mse", n_samples=200, epochs=2, threads=1)
    snap = probe.snapshot()
    assert snap["boundary"] is snap["images"] is snap["confusion"] is None
    c = snap["curve"]
    assert len(c["x"]) == 40 and c["x"] == sorted(c["x"])
    with torch.no_grad():
        out = result.model.eval()(torch.tensor(c["x"]).view(-1, 1))[:, 0]
    assert torch.allclose(out, torch.tensor(c["y"]), atol=1e-6)
    assert c["points"]["y"] == result.data.train.y[:, 0].tolist()
    assert c["x"][0] < min(c["points"]["x"]) and c["x"][-1] > max(c["points"]["x"])


@pytest.fixture(scope="module")
def digits() -> tuple[RunResult, dict]:
    probe = Probe(every_s=1e9, max_images=12)
    result, _ = run(probe, dataset="digits", model="mlp", depth=1, width=32, epochs=2,
                    batch_size=64, threads=1)
    return result, probe.snapshot()


def test_images_are_the_bundles_samples_with_the_models_predictions(digits):
    result, snap = digits
    imgs, val, model = snap["images"], result.data.val, result.model
    assert snap["boundary"] is snap["curve"] is None
    assert (imgs["split"], imgs["channels"], imgs["class_names"]) == ("val", 1, list("0123456789"))
    items = imgs["items"]
    assert len(items) == 12
    again = sample_predictions(model, result.data, "val", n=12, seed=0)
    assert [it["index"] for it in items] == [r["index"] for r in again]
    idx = torch.tensor([it["index"] for it in items])
    with torch.no_grad():
        probs = F.softmax(model.eval()(result.data.prepare(val.x[idx], train=False)), -1)
    for it, x, y, p in zip(items, val.x[idx], val.y[idx], probs, strict=True):
        assert it["pixels"] == x[0].tolist()  # uint8 as stored: 8 rows of 8 values 0..255
        assert (it["label"], it["pred"]) == (int(y), int(p.argmax()))
        assert it["confidence"] == pytest.approx(float(p.max()), rel=1e-5)
        assert it["correct"] == (it["label"] == it["pred"])


def test_image_sets_get_a_ten_class_confusion_matrix(digits):
    result, snap = digits
    c, val = snap["confusion"], result.data.val
    n = c["n"]  # a short run's final matrix gets what its cost budget pays for
    assert c["total"] == len(val)
    assert n >= 1
    assert n <= c["total"]
    assert sum(map(sum, c["matrix"])) == n
    with torch.no_grad():
        pred = result.model.eval()(result.data.prepare(val.x[:n], train=False)).argmax(-1)
    assert c["matrix"] == torch.bincount(val.y[:n] * 10 + pred, minlength=100).view(10, 10).tolist()


def test_snapshot_is_a_copy_and_safe_while_training():
    probe, history = Probe(every_s=0.0), History()
    trainer = Trainer(TrainConfig(**SPIRAL | dict(epochs=400)), [history, probe])
    probe.attach(trainer)
    worker = threading.Thread(target=trainer.run)
    worker.start()
    versions, deadline = [], time.perf_counter() + 20
    while time.perf_counter() < deadline:
        snap = probe.snapshot()
        versions.append(snap["version"])
        if snap["boundary"] is not None:
            assert snap["boundary"]["points"] is probe.snapshot()["boundary"]["points"]  # shared
            snap["layers"]["series"]["head.bias"]["step"].clear()  # series: fresh each time
            assert probe.snapshot()["layers"]["series"]["head.bias"]["step"]
            break
        time.sleep(0.01)
    trainer.stop()
    worker.join(20)
    final = probe.snapshot()
    assert final["error"] is None and final["boundary"]["pred"]
    assert final["layers"]["step"] == history.finished["steps"] < 400 * 10
    # Views are shared read-only (published once, never changed); a new one replaces the old
    assert probe.snapshot()["boundary"] is final["boundary"] is probe._views["boundary"]
    assert probe.snapshot(only={"boundary"})["confusion"] is None
    assert versions == sorted(versions) and final["version"] >= versions[-1]


def test_layer_stats_edge_cases():
    from core.train_probe_stats import layer_stats

    w = torch.nn.Parameter(torch.tensor([[1.0, -3.0], [2.0, 0.5]]))
    b = torch.nn.Parameter(torch.zeros(3))  # constant: a unit-wide histogram around it
    bad = torch.nn.Parameter(torch.tensor([1.0, math.nan]))
    w.grad = torch.full_like(w, 8.0)
    out = layer_stats([("w", w), ("b", b), ("bad", bad)], bins=4,
                      grad_scale=torch.tensor(4.0))
    assert out["rows"]["w"]["grad_norm"] == pytest.approx(4.0)  # |2| * 2 after unscaling
    assert out["rows"]["w"]["ratio"] == pytest.approx(4.0 / float(w.detach().norm()))
    assert out["hist"]["w"]["grad"]["counts"] == [0, 0, 4, 0]
    assert out["hist"]["b"]["weight"] == {"counts": [0, 0, 3, 0],  # 0 opens the third bin
                                          "edges": [-0.5, -0.25, 0.0, 0.25, 0.5]}
    assert out["rows"]["b"]["grad_norm"] is None and out["hist"]["b"]["grad"] is None
    assert out["rows"]["b"]["ratio"] is None
    assert out["hist"]["bad"]["weight"] is None  # a NaN range has nothing to bin


def test_display_pixels_handles_colour_and_float_images():
    from core.train_probe_stats import display_pixels

    rgb = torch.arange(12, dtype=torch.uint8).view(3, 2, 2)
    assert display_pixels(rgb) == rgb.permute(1, 2, 0).tolist()
    mean, std = torch.tensor([0.5]), torch.tensor([0.25])
    x = (torch.tensor([[[0.0, 1.0]]]) - mean.view(-1, 1, 1)) / std.view(-1, 1, 1)
    assert display_pixels(x, mean, std) == [[0, 255]]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="every_s"):
        Probe(every_s=-1)
    with pytest.raises(ValueError, match="grid"):
        Probe(grid=1)


def test_confusion_size_keeps_the_matrix_within_its_budget():
    from core.train_probe_stats import EVAL_BUDGET, FINAL_EVAL_S, MIN_LIVE_EVAL, confusion_size

    rate = 1000.0  # samples/s of forward pass
    live = MIN_LIVE_EVAL / (rate * EVAL_BUDGET)  # seconds whose budget pays for 500 samples
    assert confusion_size(2000, rate, 0.9 * live, final=False) == 0  # not yet
    assert confusion_size(2000, rate, live, final=False) == MIN_LIVE_EVAL
    assert confusion_size(2000, rate, 2 * live, final=False) == 2 * MIN_LIVE_EVAL
    assert confusion_size(2000, rate, 100 * live, final=False) == 2000  # capped
    assert confusion_size(64, rate, 64 / (rate * EVAL_BUDGET), final=False) == 64  # small split
    assert confusion_size(2000, None, 1e9, final=False) == 0  # no cost estimate yet
    assert confusion_size(2000, rate, 2.0, final=True) == int(rate * FINAL_EVAL_S)
    assert confusion_size(2000, rate, 100.0, final=True) == int(rate * EVAL_BUDGET * 100)
    assert confusion_size(64, 1e6, 0.0, final=True) == 64  # a cheap split: all of it
    assert confusion_size(2000, None, 0.0, final=True) == 200
