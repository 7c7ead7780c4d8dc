"""The loop's numerics: accumulation, clipping, early stopping, divergence, losses, AMP."""

from __future__ import annotations

import math

import pytest
import torch

from core.config import TrainConfig
from core.events import BatchEnded, Callback
from core.models import build_model
from core.train_parts import seed_everything
from core.trainer import train
from tests.engine_helpers import one_torch_thread  # noqa: F401 (autouse)

# 100 points: 20 test, 16 val, 64 train.
BASE = dict(dataset="spiral", n_samples=100, depth=2, width=16, epochs=1, log_every=1,
            optimizer="sgd", momentum=0.0, lr=0.5)


def weights(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def initial_weights(cfg: TrainConfig, outputs: int = 3) -> torch.Tensor:
    seed_everything(cfg.seed)  # the trainer seeds exactly like this right before building
    return weights(build_model(cfg, (2,), outputs))


@pytest.mark.parametrize("k", [2, 4])
def test_accumulating_k_batches_of_b_equals_one_batch_of_k_b(k):
    small = TrainConfig(**{**BASE, "batch_size": 64 // k, "grad_accum_steps": k, "epochs": 2})
    big = small.replace(batch_size=64, grad_accum_steps=1)
    a, b = train(small), train(big)
    assert a.steps == b.steps == 2  # one optimizer step per epoch either way
    torch.testing.assert_close(weights(a.model), weights(b.model), rtol=1e-5, atol=1e-6)
    assert a.history.snapshot()["steps"]["loss"] == pytest.approx(
        b.history.snapshot()["steps"]["loss"], rel=1e-5)


def test_a_short_last_accumulation_group_still_steps():
    cfg = TrainConfig(**{**BASE, "batch_size": 16, "grad_accum_steps": 3})  # 4 micro: 3 + 1
    result = train(cfg)
    assert result.steps == 2 and result.history.snapshot()["started"]["steps_per_epoch"] == 2


def test_clipping_by_norm_bounds_the_update():
    cfg = TrainConfig(**{**BASE, "batch_size": 64, "clip_mode": "norm", "clip_value": 0.01,
                         "lr": 1.0})
    result = train(cfg)
    step = weights(result.model) - initial_weights(cfg)
    # plain SGD with lr 1: the update IS minus the clipped gradient
    assert float(step.norm()) == pytest.approx(0.01, rel=1e-4)
    reported = result.history.snapshot()["steps"]["grad_norm"][0]
    assert reported > 0.01  # the event reports the norm before clipping


def test_clipping_by_value_bounds_every_component():
    cfg = TrainConfig(**{**BASE, "batch_size": 64, "clip_mode": "value", "clip_value": 1e-3,
                         "lr": 1.0})
    result = train(cfg)
    step = weights(result.model) - initial_weights(cfg)
    assert float(step.abs().max()) == pytest.approx(1e-3, rel=1e-4)
    unclipped = train(cfg.replace(clip_mode="none"))
    assert float((weights(unclipped.model) - initial_weights(cfg)).abs().max()) > 1e-3


def test_reported_grad_norm_is_the_true_gradient_norm():
    cfg = TrainConfig(**{**BASE, "batch_size": 64})
    result = train(cfg)
    step = weights(result.model) - initial_weights(cfg)
    assert result.history.snapshot()["steps"]["grad_norm"][0] == pytest.approx(
        float(step.norm()) / cfg.lr, rel=1e-4)


def test_early_stopping_restores_the_best_weights():
    # 24 training points and a wide net overfit: the validation loss turns up.
    cfg = TrainConfig(dataset="spiral", n_samples=40, noise=0.5, depth=2, width=128,
                      optimizer="adam", lr=0.05, batch_size=8, epochs=200,
                      early_stop_patience=3)
    result = train(cfg)
    snap = result.history.snapshot()
    assert result.reason == "early_stopped", result.message
    stopped = snap["early_stopped"]
    val = snap["epochs"]["val_loss"]
    assert stopped["best_value"] == min(val)
    assert stopped["best_epoch"] == val.index(min(val)) + 1 < stopped["epoch"]
    # The model handed back is the best epoch's: its validation loss is the best one.
    assert result.final["val_loss"] == pytest.approx(min(val), rel=1e-5)
    assert "restored the best weights" in result.message


def test_a_diverging_run_ends_with_a_helpful_message():
    cfg = TrainConfig(dataset="spiral", n_samples=200, optimizer="sgd", lr=1000.0,
                      momentum=0.9, epochs=20, log_every=5, batch_size=16)
    result = train(cfg)
    assert result.reason == "diverged", result.message
    msg = result.message
    assert "became" in msg and "learning rate 1000 is probably too high" in msg
    assert "try 100" in msg and "clip" in msg
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
    assert "reset to" in msg
    assert result.history.snapshot()["finished"]["reason"] == "diverged"


def test_divergence_between_log_points_is_caught_at_the_epoch_end():
    cfg = TrainConfig(dataset="spiral", n_samples=200, optimizer="sgd", lr=1000.0,
                      momentum=0.9, epochs=5, log_every=10_000, batch_size=16)
    result = train(cfg)
    assert result.reason == "diverged" and "(epoch 1)" in result.message


def test_regression_with_mse_learns_and_reports_no_accuracy():
    cfg = TrainConfig(dataset="regression", loss="mse", activation="tanh", depth=2, width=32,
                      epochs=40, batch_size=32, lr=0.01, log_every=10)
    result = train(cfg)
    assert result.reason == "completed"
    assert result.final["val_acc"] is None and result.final["test_loss"] < 0.3
    assert all(a is None for a in result.history.snapshot()["steps"]["acc"])


@pytest.mark.parametrize("loss", ["bce_with_logits", "mse", "smooth_l1"])
def test_other_losses_learn_two_moons(loss):
    cfg = TrainConfig(dataset="moons", loss=loss, noise=0.1, epochs=25, batch_size=32,
                      lr=0.01, log_every=50)
    result = train(cfg)
    assert result.final["val_acc"] >= 0.9, (loss, result.final)


def test_bf16_autocast_trains():
    cfg = TrainConfig(dataset="moons", amp="bf16", epochs=10, batch_size=32, lr=0.01)
    result = train(cfg)
    assert result.reason == "completed" and result.final["val_acc"] > 0.8
    assert result.history.snapshot()["started"]["amp"] == "bf16"


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"])
def test_every_optimizer_lowers_the_loss(name):
    lr = {"adadelta": 1.0, "sgd": 0.1}.get(name, 0.01)
    cfg = TrainConfig(dataset="moons", optimizer=name, lr=lr, epochs=8, batch_size=32,
                      log_every=1000)
    losses = train(cfg).history.snapshot()["epochs"]["train_loss"]
    assert losses[-1] < losses[0] and all(math.isfinite(v) for v in losses)


class LrLog(Callback):
    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_event(self, event) -> None:
        if isinstance(event, BatchEnded):
            self.lrs.append(event.lr)


def test_the_trainer_steps_the_schedule_it_previews():
    from core.schedulers import preview_lr

    cfg = TrainConfig(**{**BASE, "batch_size": 16, "epochs": 4, "scheduler": "onecycle",
                         "warmup_steps": 3})
    log = LrLog()
    train(cfg, [log])
    assert log.lrs == pytest.approx(preview_lr(cfg, 4))
