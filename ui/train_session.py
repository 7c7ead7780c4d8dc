"""Training runs owned by one browser session, capped server-wide.

- `LiveRun` (ui/train_run.py): Trainer + History + Probe on a worker thread.
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
import weakref
from typing import Any

import streamlit as st

from core.config import TrainConfig
from ui.train_run import LiveRun

MAX_RUNS_ENV = "TORCH_PLAYGROUND_MAX_RUNS"
KEEP_RUNS = 5
SESSION_KEY = "_train_session"


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
        n = self.active
        runs = f"{n} training run is" if n == 1 else f"{n} training runs are"
        return (f"The server is busy: {runs} going on right now (the limit is {self.cap}, set "
                f"by {MAX_RUNS_ENV}). Your settings are kept: press Start again in a little "
                "while.")


REGISTRY = RunRegistry(int(os.environ.get(MAX_RUNS_ENV, "2") or 2))


class SessionRuns:
    """One session's runs: the newest last; at most KEEP_RUNS finished ones are kept."""

    def __init__(self, registry: RunRegistry | None = None) -> None:
        self.registry = registry or REGISTRY
        self.runs: list[LiveRun] = []
        self.count = 0
        self._error = ""  # why the last start failed (a bad checkpoint...)
        self._refused = False  # the last start found the server full
        # When Streamlit forgets a closed session, its state (and this object) goes: stop its
        # run then, so an abandoned 10,000-epoch run does not hold a slot for hours.
        self._controls: list[Any] = []
        weakref.finalize(self, _stop_all, self._controls)

    @property
    def notice(self) -> str:
        """Why the last start did not happen, as of now: the busy message is rebuilt on every
        read, so it never shows a stale count, and says so once a slot has freed up."""
        if not self._refused:
            return self._error
        self.registry.reap()
        if self.registry.active >= self.registry.cap:
            return self.registry.busy_message()
        return "A training slot is free now: press Start (your settings are kept)."

    @property
    def current(self) -> LiveRun | None:
        return self.runs[-1] if self.runs else None

    @property
    def active(self) -> LiveRun | None:
        run = self.current
        return run if run is not None and run.active else None

    def start(self, cfg: TrainConfig | None, **kw: Any) -> LiveRun | None:
        """Start a run (cfg, or resume=bytes); None (and `notice` says why) if the server is
        full (ValueError for a bad checkpoint, or when this session is already training)."""
        if self.active is not None:
            raise ValueError("A run is already going on in this session: stop it first.")
        run = LiveRun(cfg, self.count + 1, **kw)
        if not self.registry.start(run):
            self._refused = True
            return None
        self._error, self._refused, self.count = "", False, self.count + 1
        self._controls[:] = [run.control]
        for old in self.runs:
            old.drop_checkpoint()
        self.runs = [*self.runs, run][-(KEEP_RUNS + 1):]
        return run

    def start_from_button(self, cfg: TrainConfig | None, **kw: Any) -> None:
        """A button callback: start, or leave the reason in `self.notice` for the page."""
        try:
            self.start(cfg, **kw)
        except ValueError as exc:
            self._error, self._refused = f"Could not start: {exc}", False

    def finished(self) -> list[LiveRun]:
        return [r for r in self.runs if not r.active]

    def stop_and_wait(self, timeout: float = 10.0) -> None:
        """Stop this session's run and wait for its thread (tests, page teardown)."""
        run = self.active
        if run is not None:
            run.stop()
            run.done.wait(timeout)
            run.thread.join(timeout)


def _stop_all(controls: list[Any]) -> None:
    for control in controls:
        control.stop()


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
