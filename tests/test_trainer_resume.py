"""Checkpoints: resuming gives exactly the weights of an uninterrupted run."""

from __future__ import annotations

import pytest
import torch

from core.config import TrainConfig
from core.events import BatchEnded, Callback, EpochEnded
from core.export import load_checkpoint
from core.trainer import Trainer, train
from tests.engine_helpers import one_torch_thread  # noqa: F401 (autouse)

# Dropout (torch RNG), augmentation and shuffling (the generator), warmup + cosine schedule,
# Adam state and early-stopping state all have to survive the checkpoint.
CFG = TrainConfig(dataset="digits", subset=300, augment=True, depth=2, width=32, dropout=0.2,
                  optimizer="adam", lr=3e-3, batch_size=32, epochs=4, scheduler="cosine",
                  warmup_steps=5, early_stop_patience=10, log_every=3,
                  threads=1)


class SaveAndStop(Callback):
    """Take a checkpoint at a chosen event, then ask the run to stop."""

    def __init__(self, epoch: int | None = None, step: int | None = None) -> None:
        self.epoch, self.step = epoch, step
        self.trainer: Trainer | None = None
        self.saved: bytes | None = None

    def on_event(self, event) -> None:
        hit = (isinstance(event, EpochEnded) and event.epoch == self.epoch) or (
            isinstance(event, BatchEnded) and event.step == self.step)
        if hit and self.saved is None:
            self.saved = self.trainer.checkpoint()
            self.control.stop()


def interrupted(cb: SaveAndStop) -> bytes:
    trainer = Trainer(CFG, [cb])
    cb.trainer = trainer
    assert trainer.run().reason == "stopped"
    return cb.saved


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values(), strict=True))


@pytest.fixture(scope="module")
def uninterrupted():
    return train(CFG)


def test_resume_from_an_epoch_end_checkpoint_equals_an_uninterrupted_run(uninterrupted):
    ck = interrupted(SaveAndStop(epoch=2))
    resumed = Trainer.from_checkpoint(ck).run()
    assert resumed.reason == "completed" and resumed.epochs == 4
    assert same_weights(resumed.model, uninterrupted.model)
    a, b = resumed.history.snapshot(), uninterrupted.history.snapshot()
    assert a["epochs"]["train_loss"] == b["epochs"]["train_loss"]
    assert a["steps"]["loss"] == b["steps"]["loss"]
    assert resumed.final["test_acc"] == uninterrupted.final["test_acc"]


def test_resume_from_a_mid_epoch_stop_equals_an_uninterrupted_run(uninterrupted):
    # 300 train rows / 32 = 10 steps an epoch: step 15 is in the middle of epoch 2.
    ck = interrupted(SaveAndStop(step=15))
    assert load_checkpoint(ck)["micro"] == 5
    resumed = Trainer(CFG).run(resume_from=ck)
    assert same_weights(resumed.model, uninterrupted.model)
    assert (resumed.history.snapshot()["epochs"]["train_loss"]
            == uninterrupted.history.snapshot()["epochs"]["train_loss"])


def test_checkpoint_after_a_stopped_run_resumes(uninterrupted):
    class Stop(Callback):
        def on_event(self, event) -> None:
            if isinstance(event, EpochEnded) and event.epoch == 1:
                self.control.stop()

    trainer = Trainer(CFG, [Stop()])
    assert trainer.run().reason == "stopped"
    resumed = Trainer.from_checkpoint(trainer.checkpoint()).run()
    assert same_weights(resumed.model, uninterrupted.model)


def test_checkpoint_holds_the_config_and_can_extend_the_run():
    ck = interrupted(SaveAndStop(epoch=1))
    loaded = load_checkpoint(ck)
    assert loaded["config"] == CFG and loaded["epoch"] == 1
    assert {"model", "optimizer", "scheduler", "rng", "history"} <= set(loaded)
    longer = Trainer.from_checkpoint(ck, epochs=2).run()
    assert longer.epochs == 2 and longer.history.snapshot()["epochs"]["epoch"] == [1, 2]


def test_resume_with_a_different_config_is_refused():
    ck = interrupted(SaveAndStop(epoch=1))
    result = Trainer(CFG.replace(width=64)).run(resume_from=ck)
    assert result.reason == "failed" and "width" in result.message


def test_from_checkpoint_refuses_changes_it_could_not_honour():
    """It used to take any change: training went on at the saved lr while config.json said
    the new one, and a new optimizer failed deep inside with KeyError('momentum')."""
    ck = interrupted(SaveAndStop(epoch=1))
    for change in ({"lr": CFG.lr * 5}, {"optimizer": "sgd" if CFG.optimizer != "sgd" else "adam"}):
        with pytest.raises(ValueError, match="keeps the checkpoint's config") as info:
            Trainer.from_checkpoint(ck, epochs=2, **change)
        assert next(iter(change)) in str(info.value)
    assert Trainer.from_checkpoint(ck, epochs=2, lr=CFG.lr).cfg.epochs == 2  # unchanged is fine


def test_checkpoint_before_a_run_is_a_clear_error():
    with pytest.raises(ValueError, match="run"):
        Trainer(CFG).checkpoint()


def test_a_resumed_runs_progress_counts_from_where_it_resumed():
    """History kept the first start's RunStarted, so a resumed run extended to 8 epochs
    showed 'epoch 5/4 · 125 %' and a time left measured over steps it never ran."""
    from core.history import History
    from ui.train_charts import progress_text

    ck = interrupted(SaveAndStop(step=9))  # mid-epoch: 8 steps per epoch
    seen: list[str] = []
    history = History()

    class Watch(Callback):
        def on_event(self, event) -> None:
            if isinstance(event, BatchEnded) and not seen:
                seen.append(progress_text(history.snapshot()))

    result = Trainer.from_checkpoint(ck, [history, Watch()], epochs=8).run()
    started = history.snapshot()["started"]
    assert started["config"]["epochs"] == 8 and started["start_step"] == 9
    assert started["total_steps"] == 8 * started["steps_per_epoch"]
    first = seen[0]
    assert first.startswith("epoch 2/8 · ") and "left" in first, first
    percent = int(first.split(" · ")[1].removesuffix(" %"))
    assert percent < 50  # a few steps past 9 of 64, not a share of the old 4-epoch run
    assert progress_text(history.snapshot()).startswith("epoch 8/8 · 100 %")
    assert result.reason in ("completed", "early_stopped")
