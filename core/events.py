"""What a training run reports: small frozen dataclasses of plain Python numbers (no tensors).

The order of a run (EVENT_ORDER is the authoritative list; tests assert it on a tiny set):

    RunStarted
    ( EpochStarted  BatchEnded*  Validated?  EpochEnded )*     Validated only with a val split
    EarlyStopped?                                              only when early stopping fired
    RunFinished                                                always last, whatever happened

BatchEnded comes every cfg.log_every optimizer steps (each one is a host sync). A stop request or
a divergence cuts the current epoch short: EpochStarted BatchEnded* then RunFinished, with no
Validated / EpochEnded for that epoch. A run that fails before it starts (bad data, a model that
does not fit) reports RunFinished(reason="failed") only. A resumed run starts again with
RunStarted(start_epoch=...) and goes on with the next epoch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

REASONS = ("completed", "stopped", "early_stopped", "diverged", "failed")


@dataclass(frozen=True)
class RunStarted:
    config: dict[str, Any]
    device: str
    params: int  # trainable parameters
    steps_per_epoch: int  # optimizer steps
    total_steps: int
    train_size: int
    val_size: int
    test_size: int
    amp: str  # "off" | "bf16" | "fp16"
    optimizer_impl: str  # "fused" | "foreach" | "for-loop"
    start_epoch: int = 0  # > 0 when resumed from a checkpoint
    world_size: int = 1  # processes training together (torchrun / DDP)
    global_batch: int = 0  # samples per optimizer step: batch_size x grad_accum x world_size
    start_step: int = 0  # optimizer steps already done when resumed (mid-epoch stops count too)


@dataclass(frozen=True)
class EpochStarted:
    epoch: int  # 1-based
    lr: float


@dataclass(frozen=True)
class BatchEnded:
    step: int  # optimizer steps so far (1-based, across epochs)
    epoch: int
    loss: float  # mean training loss over the steps since the previous BatchEnded
    acc: float | None  # mean training accuracy over the same steps (None for regression)
    lr: float  # LR the last step used
    grad_norm: float  # total L2 norm of the last step's gradients, before clipping
    samples_per_s: float
    elapsed: float  # seconds since the run started (excluding pauses)
    progress: float  # 0..1 of all optimizer steps
    eta_s: float  # estimated seconds left


@dataclass(frozen=True)
class Validated:
    epoch: int
    val_loss: float
    val_acc: float | None
    train_loss: float
    train_acc: float | None
    lr: float


@dataclass(frozen=True)
class EpochEnded:
    epoch: int
    train_loss: float  # mean over the epoch's batches (the weights moved during it)
    train_acc: float | None
    val_loss: float | None
    val_acc: float | None
    lr: float  # LR the epoch's last step used
    step: int
    elapsed: float
    epoch_time: float


@dataclass(frozen=True)
class EarlyStopped:
    epoch: int  # the epoch after which the run stopped
    best_epoch: int  # whose weights were restored
    best_value: float
    metric: str


@dataclass(frozen=True)
class RunFinished:
    reason: str  # one of REASONS
    message: str
    elapsed: float
    epochs: int  # completed epochs
    steps: int
    final: dict[str, float | None] = field(default_factory=dict)  # train/val/test loss and acc


# The authoritative list, in the order a run emits them.
EVENT_ORDER: tuple[type, ...] = (RunStarted, EpochStarted, BatchEnded, Validated, EpochEnded,
                                 EarlyStopped, RunFinished)
Event = (RunStarted | EpochStarted | BatchEnded | Validated | EpochEnded | EarlyStopped
         | RunFinished)


def event_to_dict(event: Any) -> dict[str, Any]:
    """{'event': 'BatchEnded', ...fields} for logs and JSON."""
    return {"event": type(event).__name__, **dataclasses.asdict(event)}


class RunControl:
    """The only way in: a stop flag and a pause gate, both threading.Events, safe from any thread.

    The loop checks them between optimizer steps, so a stop leaves the weights consistent.
    """

    def __init__(self) -> None:
        import threading

        self.stop_requested = threading.Event()
        self.running = threading.Event()  # cleared = paused
        self.running.set()

    def stop(self) -> None:
        self.stop_requested.set()
        self.running.set()  # a paused loop must wake up to stop

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    @property
    def paused(self) -> bool:
        return not self.running.is_set()

    def wait_if_paused(self) -> float:
        """Block while paused (waking to notice a stop); return the seconds spent waiting."""
        if self.running.is_set():
            return 0.0
        import time

        t0 = time.perf_counter()
        while not self.running.wait(timeout=0.1):
            if self.stop_requested.is_set():
                break
        return time.perf_counter() - t0


class Callback:
    """Base class with a no-op hook. The trainer binds `control` before the run starts, so a
    callback may ask to stop (`self.control.stop()`) but never reaches into the loop."""

    control: RunControl | None = None

    def bind(self, control: RunControl) -> None:
        self.control = control

    def on_event(self, event: Any) -> None:  # noqa: B027 - a hook meant to be overridden
        """Called with every event, in order, on the training thread."""
