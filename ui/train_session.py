"""Training runs: a worker thread per run, owned by one browser session, capped server-wide.

- `LiveRun`: Trainer + History + Probe on a daemon thread. The worker never calls `st.*`; the
  page reads `history.snapshot()` / `probe.snapshot()` (both lock-protected copies). When the
  run ends, the worker keeps the bytes to download and drops the trainer, model and data, so a
  finished run holds only numbers and bytes.
- `RunRegistry` (one per server process, module-level, lock-protected): at most `cap`
  concurrent runs (env TORCH_PLAYGROUND_MAX_RUNS, default 2); a finished run leaves it.
- `SessionRuns` (in `st.session_state`, never a shared cache): this session's current run and
  its last KEEP_RUNS finished ones, for overlays and re-downloads. Another session's runs are
  not reachable from here, so it can neither see nor stop them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from core import export
from core.config import TrainConfig
from core.data import DatasetMissingError
from core.history import History
from core.train_probe import Probe
from core.trainer import RunResult, Trainer

MAX_RUNS_ENV = "TORCH_PLAYGROUND_MAX_RUNS"
KEEP_RUNS = 5
SESSION_KEY = "_train_session"
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
        self.registry: RunRegistry | None = None  # set when a registry starts it
        self.thread = threading.Thread(target=self._work, name=f"train-run-{number}",
                                       daemon=True)

    # ---- the worker (no st.* here) ---------------------------------------------------------
    def _work(self) -> None:
        try:
            result = self.trainer.run()
            self.reason, self.message = result.reason, result.message
            self.oom = result.reason == "failed" and is_oom(result.error, result.message)
            self.missing_data = isinstance(result.error, DatasetMissingError)
            self.downloads = self._collect(result)
        except Exception as exc:  # noqa: BLE001 - export trouble must not kill the server
            self.reason, self.message = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            if self.probe is not None:
                self.final_views = self.probe.snapshot()
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

    def views(self) -> dict[str, Any] | None:
        """The probe's latest views (live) or its last ones (finished)."""
        probe = self.probe
        return probe.snapshot() if probe is not None else self.final_views

    def drop_checkpoint(self) -> None:
        """Older runs keep weights, not the optimizer state (checkpoints are several x bigger)."""
        self.downloads.pop("checkpoint.pt", None)


def _default_probe() -> Any:
    return Probe(every_s=1.0, max_images=16, grid=60)


class RunRegistry:
    """Server-wide: which runs are training now, capped at `cap`."""

    def __init__(self, cap: int) -> None:
        self.cap = max(1, cap)
        self._lock = threading.Lock()
        self._runs: dict[int, LiveRun] = {}

    def reap(self) -> None:
        """Forget runs whose thread has ended (normally they release themselves)."""
        with self._lock:
            for key in [k for k, r in self._runs.items() if not r.thread.is_alive()
                        and r.done.is_set()]:
                del self._runs[key]

    def start(self, run: LiveRun) -> bool:
        """Start `run` if there is room; False when the server is busy."""
        self.reap()
        with self._lock:
            if len(self._runs) >= self.cap:
                return False
            self._runs[id(run)] = run
        run.registry = self
        run.thread.start()
        return True

    def release(self, run: LiveRun) -> None:
        with self._lock:
            self._runs.pop(id(run), None)

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._runs)

    def busy_message(self) -> str:
        return (f"The server is busy: {self.active} training runs are going on right now "
                f"(the limit is {self.cap}, set by {MAX_RUNS_ENV}). Your settings are kept: "
                "press Start again in a little while.")


REGISTRY = RunRegistry(int(os.environ.get(MAX_RUNS_ENV, "2") or 2))


class SessionRuns:
    """One session's runs: the newest last; at most KEEP_RUNS finished ones are kept."""

    def __init__(self, registry: RunRegistry | None = None) -> None:
        self.registry = registry or REGISTRY
        self.runs: list[LiveRun] = []
        self.count = 0
        self.busy = ""

    @property
    def current(self) -> LiveRun | None:
        return self.runs[-1] if self.runs else None

    @property
    def active(self) -> LiveRun | None:
        run = self.current
        return run if run is not None and run.active else None

    def start(self, cfg: TrainConfig | None, **kw: Any) -> LiveRun | None:
        """Start a run (cfg, or resume=bytes); None and `self.busy` set if the server is full."""
        if self.active is not None:
            raise ValueError("A run is already going on in this session: stop it first.")
        run = LiveRun(cfg, self.count + 1, **kw)
        if not self.registry.start(run):
            self.busy = self.registry.busy_message()
            return None
        self.busy, self.count = "", self.count + 1
        for old in self.runs:
            old.drop_checkpoint()
        self.runs = [*self.runs, run][-(KEEP_RUNS + 1):]
        return run

    def finished(self) -> list[LiveRun]:
        return [r for r in self.runs if not r.active]

    def stop_and_wait(self, timeout: float = 10.0) -> None:
        """Stop this session's run and wait for its thread (tests, page teardown)."""
        run = self.active
        if run is not None:
            run.stop()
            run.done.wait(timeout)
            run.thread.join(timeout)


def session_runs() -> SessionRuns:
    """This browser session's runs (created on first use)."""
    if SESSION_KEY not in st.session_state:
        st.session_state[SESSION_KEY] = SessionRuns()
    return st.session_state[SESSION_KEY]


def wait_finished(run: LiveRun, timeout: float) -> bool:
    """Poll until `run` is done (tests)."""
    deadline = time.monotonic() + timeout
    while run.active and time.monotonic() < deadline:
        time.sleep(0.05)
    return not run.active
