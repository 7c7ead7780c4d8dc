"""History: a callback that turns events into per-step and per-epoch lists of numbers.

The training thread appends under a lock; the page, the CLI and the tests read `snapshot()`,
which returns copies, so a reader never sees a half-written row.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import threading
from typing import Any

from core.events import BatchEnded, Callback, EarlyStopped, EpochEnded, RunFinished, RunStarted

STEP_KEYS = ("step", "epoch", "loss", "acc", "lr", "grad_norm", "samples_per_s", "elapsed")
EPOCH_KEYS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "step",
              "elapsed", "epoch_time")


def _empty(keys: tuple[str, ...]) -> dict[str, list]:
    return {k: [] for k in keys}


def _thin(series: dict[str, list], max_points: int | None) -> dict[str, list]:
    """Every k-th row (always keeping the last) so a chart gets about max_points points."""
    n = len(next(iter(series.values()), []))
    if not max_points or n <= max_points:
        return {k: list(v) for k, v in series.items()}
    stride = -(-n // max_points)
    idx = list(range(0, n, stride))
    if idx[-1] != n - 1:
        idx.append(n - 1)
    return {k: [v[i] for i in idx] for k, v in series.items()}


class History(Callback):
    """Thread-safe record of a run; `version` grows with every event (cheap change detection)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self.steps = _empty(STEP_KEYS)
            self.epochs = _empty(EPOCH_KEYS)
            self.started: dict[str, Any] | None = None
            self.finished: dict[str, Any] | None = None
            self.early_stopped: dict[str, Any] | None = None
            self.version = 0

    def on_event(self, event: Any) -> None:
        with self._lock:
            self.version += 1
            if isinstance(event, BatchEnded):
                for k in STEP_KEYS:
                    self.steps[k].append(getattr(event, k))
            elif isinstance(event, EpochEnded):
                for k in EPOCH_KEYS:
                    self.epochs[k].append(getattr(event, k))
            elif isinstance(event, RunStarted):
                # the latest start describes the run going on: a resumed run's own config
                # (more epochs), total steps, device, and the step it resumed from
                self.started = dataclasses.asdict(event)
                self.finished = None
            elif isinstance(event, EarlyStopped):
                self.early_stopped = dataclasses.asdict(event)
            elif isinstance(event, RunFinished):
                self.finished = dataclasses.asdict(event)

    # ---- reading ------------------------------------------------------------------------------
    def snapshot(self, max_points: int | None = None) -> dict[str, Any]:
        """Copies of everything: {'steps', 'epochs', 'started', 'finished', 'early_stopped',
        'version'}; max_points thins the step series for live charts."""
        with self._lock:
            return {
                "steps": _thin(self.steps, max_points),
                "epochs": {k: list(v) for k, v in self.epochs.items()},
                "started": None if self.started is None else dict(self.started),
                "finished": None if self.finished is None else dict(self.finished),
                "early_stopped": None if self.early_stopped is None else dict(self.early_stopped),
                "version": self.version,
            }

    @property
    def done(self) -> bool:
        with self._lock:
            return self.finished is not None

    def to_csv(self, kind: str = "epochs") -> str:
        """The per-epoch (default) or per-step series as CSV text with a header row."""
        if kind not in ("epochs", "steps"):
            raise ValueError(f"kind must be 'epochs' or 'steps', got {kind!r}")
        with self._lock:
            series = self.epochs if kind == "epochs" else self.steps
            keys = EPOCH_KEYS if kind == "epochs" else STEP_KEYS
            rows = list(zip(*(series[k] for k in keys), strict=True))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(keys)
        for row in rows:
            w.writerow(["" if v is None else repr(v) if isinstance(v, float) else v
                        for v in row])
        return buf.getvalue()

    # ---- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Plain lists and dicts (loadable with torch.load(weights_only=True))."""
        snap = self.snapshot()
        snap.pop("version")
        return snap

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with self._lock:
            self.steps = {k: list(state["steps"].get(k, [])) for k in STEP_KEYS}
            self.epochs = {k: list(state["epochs"].get(k, [])) for k in EPOCH_KEYS}
            self.started = state.get("started")
            self.finished = state.get("finished")
            self.early_stopped = state.get("early_stopped")
            self.version += 1
