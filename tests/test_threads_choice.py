"""The engine's intra-op thread count: one for a small dense step, the machine's otherwise."""

from __future__ import annotations

import pytest
import torch

from core import device
from core.config import TrainConfig
from core.events import Callback
from core.models import build_model
from core.trainer import Trainer


class ThreadsSeen(Callback):
    """torch's thread count on the training thread, at every event (all come after the
    choice; batch events only every log_every steps)."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def on_event(self, event: object) -> None:
        self.seen.add(torch.get_num_threads())


@pytest.fixture
def two_idle_threads(monkeypatch):
    monkeypatch.setattr(device, "idle_cores", lambda: 2.0)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_dense_step_macs_counts_linear_weights_times_batch():
    mlp = build_model(TrainConfig(), (2,), 3)  # 3 hidden layers of 64
    assert device.dense_step_macs(mlp, 64) == 64 * (2 * 64 + 64 * 64 * 2 + 64 * 3)
    wide = build_model(TrainConfig(width=200, depth=1), (784,), 10)
    assert device.dense_step_macs(wide, 10) == 10 * (784 * 200 + 200 * 10)


def test_a_model_with_convolutions_is_not_a_dense_step(two_idle_threads):
    cnn = build_model(TrainConfig(dataset="mnist", model="cnn", cnn_channels=4), (1, 28, 28), 10)
    assert device.dense_step_macs(cnn, 1) is None
    assert not device.small_dense_step(cnn, 1)
    assert device.run_threads(0, cnn, 1, on_cpu=True) == 2  # the idle machine's count


@pytest.mark.parametrize(("width", "batch", "threads"), [(64, 64, 1), (64, 512, 1),
                                                         (256, 64, 2), (512, 256, 2)])
def test_run_threads_uses_one_thread_below_the_threshold(two_idle_threads, width, batch,
                                                          threads):
    mlp = build_model(TrainConfig(width=width), (2,), 3)
    macs = device.dense_step_macs(mlp, batch)
    assert (macs < device.SMALL_STEP_MACS) == (threads == 1)
    assert device.small_dense_step(mlp, batch) == (threads == 1)
    assert device.run_threads(0, mlp, batch, on_cpu=True) == threads
    assert device.run_threads(0, mlp, batch, on_cpu=False) == 2  # the rule is the CPU's
    assert device.run_threads(3, mlp, batch, on_cpu=True) == 3  # a request wins


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, 1),  # the default spiral MLP: one thread
    ({"width": 512, "batch_size": 256}, 2),  # a big dense step keeps the machine's count
    ({"threads": 2}, 2),  # an explicit request always wins
])
def test_a_run_trains_on_the_chosen_threads_and_restores_the_callers(two_idle_threads, changes,
                                                                     expected):
    cfg = TrainConfig(n_samples=400, epochs=1, **changes)
    seen = ThreadsSeen()
    result = Trainer(cfg, [seen]).run(raise_errors=True)
    assert result.ok
    assert seen.seen == {expected}
    assert torch.get_num_threads() == 2
