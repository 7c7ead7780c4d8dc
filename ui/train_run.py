"""One training run on its own thread: Trainer + History + Probe, and what it leaves behind.

The worker never calls `st.*`; the page reads `history.snapshot()` / `views()` (lock-protected
copies). When the run ends, the worker keeps the bytes to download and the probe's last views,
and drops the trainer, model, optimizer and data, so a finished run holds only numbers and
bytes. Runs are started (and capped) by ui/train_session.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import Any

import torch

from core import export
from core.config import TrainConfig
from core.data import DatasetMissingError
from core.device import keep_freed_memory, usable_cores
from core.history import History
from core.train_probe import Probe
from core.trainer import RunResult, Trainer

OOM_HINT = ("The run ran out of memory. Try a smaller batch_size, a narrower or shallower "
            "model, a subset of the data, amp='bf16' (or fp16 on a GPU), or device='cpu' if a "
            "small GPU was full.")


def is_oom(error: BaseException | None, message: str = "") -> bool:
    """True for CUDA/MPS/CPU out-of-memory errors (torch raises several kinds)."""
    if isinstance(error, MemoryError):
        return True
    text = f"{type(error).__name__}: {error} {message}".lower()
    return "out of memory" in text or "outofmemory" in text


class LiveRun:
    """One run of `cfg` (or the continuation of a checkpoint) on its own thread."""

    def __init__(self, cfg: TrainConfig, number: int, *, resume: bytes | None = None,
                 epochs: int | None = None, probe_factory: Callable[[], Any] | None = None,
                 ) -> None:
        self.number = number
        self.history = History()
        self.probe = (probe_factory or _default_probe)()
        callbacks = [self.history] + ([self.probe] if self.probe is not None else [])
        if resume is not None:  # the checkpoint's config, with more epochs if asked
            changes = {} if epochs is None else {"epochs": epochs}
            self.trainer: Trainer | None = Trainer.from_checkpoint(resume, callbacks, **changes)
        else:
            self.trainer = Trainer(cfg, callbacks)
        self.cfg = self.trainer.cfg
        self.label = f"run {number}: {self.cfg.dataset}/{self.cfg.model}/{self.cfg.optimizer}" \
                     f" lr={self.cfg.lr:g}" + (" (resumed)" if resume is not None else "")
        self.control = self.trainer.control
        if self.probe is not None and hasattr(self.probe, "attach"):
            self.probe.attach(self.trainer)
        self.downloads: dict[str, bytes] = {}
        self.reason = self.message = ""
        self.oom = self.missing_data = False
        self.final_views: dict[str, Any] | None = None
        self.done = threading.Event()
        self.registry: Any = None  # the RunRegistry that started it (ui/train_session.py)
        self.thread = threading.Thread(target=self._work, name=f"train-run-{number}",
                                       daemon=True)

    # ---- the worker (no st.* here) ---------------------------------------------------------
    def _work(self) -> None:
        # As the CLI does (20-25 % faster MNIST steps here): glibc keeps each step's freed
        # activation buffers for the next step instead of returning and re-faulting them.
        # Process-wide and idempotent; bench/leak_check_server.py measures the server's RSS.
        keep_freed_memory()
        try:
            # torch's thread count is process-wide, and the visualisation pages lower it to 1
            # for their tiny tensors; start from the machine's cores so threads=0 means the same
            # as from the CLI (the trainer then lowers it to the cores idle right now).
            if self.trainer.cfg.threads == 0:
                torch.set_num_threads(usable_cores())
            result = self.trainer.run()
            self.reason, self.message = result.reason, result.message
            self.oom = result.reason == "failed" and is_oom(result.error, result.message)
            self.missing_data = isinstance(result.error, DatasetMissingError)
            self.downloads = self._collect(result)
        except Exception as exc:  # noqa: BLE001 - export trouble must not kill the server
            self.reason, self.message = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            self._finish()

    def _finish(self) -> None:
        """Keep the last views, drop the heavy objects, free the registry slot: always."""
        try:
            if self.probe is not None:
                self.final_views = self.probe.snapshot()
        except Exception:  # noqa: BLE001 - the views are optional; the slot must be freed
            self.final_views = None
        finally:
            self.trainer = None  # releases model, optimizer and data with the thread
            self.probe = None
            self.done.set()
            if self.registry is not None:
                self.registry.release(self)

    def _collect(self, result: RunResult) -> dict[str, bytes]:
        """Everything to download, as bytes, while the model is still here."""
        if result.model is None:
            return {}
        out = {"weights.pt": export.weights_pt_bytes(result.model),
               "weights.safetensors": export.weights_safetensors_bytes(result.model),
               "metrics.csv": export.metrics_csv_bytes(self.history),
               "config.json": export.config_json_bytes(self.cfg),
               "train.py": export.standalone_script(self.cfg, result.data).encode()}
        try:
            out["checkpoint.pt"] = self.trainer.checkpoint()
        except ValueError:
            pass
        return out

    # ---- control (script thread) -----------------------------------------------------------
    @property
    def active(self) -> bool:
        return not self.done.is_set()

    @property
    def paused(self) -> bool:
        return self.active and self.control.paused

    def stop(self) -> None:
        self.control.stop()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def views(self, only: Collection[str] | None = None) -> dict[str, Any] | None:
        """The probe's latest views (live; `only` these, the rest None) or its last ones
        (finished: all of them)."""
        probe = self.probe
        return probe.snapshot(only=only) if probe is not None else self.final_views

    def drop_checkpoint(self) -> None:
        """Older runs keep weights, not the optimizer state (checkpoints are several x bigger)."""
        self.downloads.pop("checkpoint.pt", None)


def _default_probe() -> Any:
    # 800 training points over the boundary: each is an SVG node the browser redraws each tick
    return Probe(every_s=1.0, max_images=16, grid=60, max_points=800)
