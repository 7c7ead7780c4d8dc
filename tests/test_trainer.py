"""The engine: event order, it learns, same seed same curves, stop and pause."""

from __future__ import annotations

import math
import threading
import time

import pytest
import torch

from core.config import TrainConfig
from core.events import (
    EVENT_ORDER,
    BatchEnded,
    Callback,
    EarlyStopped,
    EpochEnded,
    EpochStarted,
    RunFinished,
    RunStarted,
    Validated,
)
from core.history import History
from core.trainer import Trainer, train
from tests.engine_helpers import one_torch_thread  # noqa: F401 (autouse)

TINY = dict(dataset="spiral", n_samples=60, batch_size=16, epochs=2, log_every=2, depth=1,
            width=8)


class Recorder(Callback):
    def __init__(self) -> None:
        self.events: list = []

    def on_event(self, event) -> None:
        self.events.append(event)


def names(events) -> list[str]:
    return [type(e).__name__ for e in events]


def test_event_order_on_a_tiny_set():
    # 60 points: 12 test, 10 val, 38 train -> 3 batches of 16 per epoch; log every 2 steps.
    rec = Recorder()
    result = train(TrainConfig(**TINY), [rec])
    assert result.reason == "completed", result.message
    assert names(rec.events) == [
        "RunStarted",
        "EpochStarted", "BatchEnded", "Validated", "EpochEnded",                   # steps 1-3
        "EpochStarted", "BatchEnded", "BatchEnded", "Validated", "EpochEnded",     # steps 4-6
        "RunFinished",
    ]
    assert [e.step for e in rec.events if isinstance(e, BatchEnded)] == [2, 4, 6]
    assert [cls.__name__ for cls in EVENT_ORDER] == [
        "RunStarted", "EpochStarted", "BatchEnded", "Validated", "EpochEnded", "EarlyStopped",
        "RunFinished"]
    start = rec.events[0]
    assert (start.train_size, start.val_size, start.test_size) == (38, 10, 12)
    assert start.steps_per_epoch == 3 and start.total_steps == 6
    assert start.config == TrainConfig(**TINY).to_dict()


def test_events_carry_plain_python_numbers():
    rec = Recorder()
    train(TrainConfig(**TINY), [rec])
    for e in rec.events:
        for v in vars(e).values():
            assert not isinstance(v, torch.Tensor)
    b = next(e for e in rec.events if isinstance(e, BatchEnded))
    assert 0 < b.progress <= 1 and b.eta_s >= 0 and b.samples_per_s > 0
    assert 0 <= b.acc <= 1 and b.grad_norm > 0 and math.isfinite(b.loss)
    fin = rec.events[-1]
    assert set(fin.final) >= {"train_loss", "val_loss", "test_loss", "test_acc"}


def test_no_validation_split_means_no_validated_event():
    rec = Recorder()
    train(TrainConfig(**{**TINY, "val_split": 0.0}), [rec])
    assert "Validated" not in names(rec.events)
    assert all(e.val_loss is None for e in rec.events if isinstance(e, EpochEnded))


def test_early_stopped_comes_after_the_last_epoch_end():
    rec = Recorder()
    cfg = TrainConfig(**{**TINY, "epochs": 30, "early_stop_patience": 1,
                         "early_stop_min_delta": 10.0})  # nothing counts as improvement
    result = train(cfg, [rec])
    assert result.reason == "early_stopped"
    assert names(rec.events)[-3:] == ["EpochEnded", "EarlyStopped", "RunFinished"]
    stopped = rec.events[-2]
    assert stopped.epoch == 2 and stopped.best_epoch == 1


def _timed(cfg: TrainConfig) -> tuple:
    t = time.perf_counter()
    result = train(cfg)
    return result, time.perf_counter() - t


def test_learns_the_spiral():
    result, seconds = _timed(TrainConfig(dataset="spiral", epochs=30, batch_size=32, lr=0.01,
                                         depth=3, width=64, seed=0))
    print(f"spiral: val acc {result.final['val_acc']:.3f} in {seconds:.2f} s")
    assert result.reason == "completed"
    assert result.final["val_acc"] >= 0.95
    assert seconds < 60, "far slower than the ~1 s this takes on an idle 2-core CPU"


def test_learns_the_digits():
    result, seconds = _timed(TrainConfig(dataset="digits", epochs=20, batch_size=32, lr=3e-3,
                                         depth=2, width=128, seed=0))
    print(f"digits: test acc {result.final['test_acc']:.3f} in {seconds:.2f} s")
    assert result.final["test_acc"] >= 0.95
    assert seconds < 60, "far slower than the ~1 s this takes on an idle 2-core CPU"


def test_same_seed_same_curves_other_seed_other_curves():
    cfg = TrainConfig(**{**TINY, "epochs": 3, "log_every": 1, "dropout": 0.2})
    a, b = train(cfg).history.snapshot(), train(cfg).history.snapshot()
    assert a["steps"]["loss"] == b["steps"]["loss"]
    assert a["epochs"]["val_loss"] == b["epochs"]["val_loss"]
    c = train(cfg.replace(seed=1)).history.snapshot()
    assert a["steps"]["loss"] != c["steps"]["loss"]


class StopAt(Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_event(self, event) -> None:
        if isinstance(event, BatchEnded) and event.step == self.step:
            self.control.stop()


def test_stop_from_a_callback_mid_epoch():
    rec = Recorder()
    cfg = TrainConfig(**{**TINY, "epochs": 5, "log_every": 1})
    result = train(cfg, [StopAt(4), rec])
    assert result.reason == "stopped" and result.steps == 4
    assert names(rec.events)[-3:] == ["EpochStarted", "BatchEnded", "RunFinished"]
    assert "step 4" in result.message
    assert all(torch.isfinite(p).all() for p in result.model.parameters())


def test_stop_from_another_thread_and_pause_resume():
    seen = threading.Event()

    class Flag(Callback):
        def on_event(self, event) -> None:
            if isinstance(event, BatchEnded):
                seen.set()

    hist = History()
    trainer = Trainer(TrainConfig(dataset="spiral", n_samples=2000, epochs=1000, log_every=1,
                                  batch_size=16), [hist, Flag()])
    out: dict = {}
    worker = threading.Thread(target=lambda: out.setdefault("r", trainer.run()))
    worker.start()
    assert seen.wait(30)
    trainer.pause()
    time.sleep(0.3)  # let the step in flight finish
    frozen = len(hist.snapshot()["steps"]["step"])
    time.sleep(0.4)
    assert trainer.paused and len(hist.snapshot()["steps"]["step"]) == frozen
    trainer.resume()
    deadline = time.time() + 30
    while len(hist.snapshot()["steps"]["step"]) <= frozen and time.time() < deadline:
        time.sleep(0.02)
    assert len(hist.snapshot()["steps"]["step"]) > frozen
    trainer.stop()
    worker.join(30)
    assert not worker.is_alive()
    result = out["r"]
    assert result.reason == "stopped"
    assert hist.snapshot()["finished"]["reason"] == "stopped"
    assert result.elapsed < hist.snapshot()["steps"]["elapsed"][-1] + 5


def test_stop_while_paused_ends_the_run():
    class PauseThenStop(Callback):
        def on_event(self, event) -> None:
            if isinstance(event, BatchEnded) and event.step == 2:
                self.control.pause()
                threading.Timer(0.2, self.control.stop).start()

    result = train(TrainConfig(**{**TINY, "epochs": 50, "log_every": 1}), [PauseThenStop()])
    assert result.reason == "stopped" and result.steps == 2


def test_a_failure_is_a_run_finished_event_not_an_exception(tmp_path):
    rec = Recorder()
    cfg = TrainConfig(dataset="mnist", data_root=str(tmp_path), model="mlp")
    result = train(cfg, [rec])
    assert result.reason == "failed"
    assert names(rec.events) == ["RunFinished"]
    assert "MNIST" in result.message or "mnist" in result.message
    with pytest.raises(ValueError):
        train(cfg, raise_errors=True)


def test_history_snapshot_csv_and_thinning():
    result = train(TrainConfig(**{**TINY, "epochs": 4, "log_every": 1}))
    snap = result.history.snapshot()
    assert snap["steps"]["step"] == list(range(1, 13))
    assert snap["epochs"]["epoch"] == [1, 2, 3, 4]
    assert snap["started"]["steps_per_epoch"] == 3 and snap["finished"]["reason"] == "completed"
    thin = result.history.snapshot(max_points=5)["steps"]["step"]
    assert len(thin) <= 6 and thin[0] == 1 and thin[-1] == 12
    lines = result.history.to_csv().splitlines()
    assert lines[0].startswith("epoch,train_loss,train_acc,val_loss,val_acc,lr")
    assert len(lines) == 5
    assert len(result.history.to_csv("steps").splitlines()) == 13
    snap["steps"]["step"].append(99)  # a copy: the history is untouched
    assert result.history.snapshot()["steps"]["step"][-1] == 12


def test_event_types_are_frozen():
    e = EpochStarted(1, 0.1)
    with pytest.raises(AttributeError):
        e.epoch = 2  # type: ignore[misc]
    assert {RunStarted, Validated, EarlyStopped, RunFinished} <= set(EVENT_ORDER)


def test_a_single_training_sample_with_batchnorm_names_the_real_cause():
    result = train(TrainConfig(dataset="spiral", subset=1, norm="batch", epochs=1))
    assert result.reason == "failed"
    assert "BatchNorm needs at least 2 in a batch" in result.message
    assert "batch of 64" not in result.message
