"""Training runs owned by sessions: the server-wide cap, the busy message, reaping, isolation."""

from __future__ import annotations

import gc
import os
import time
import weakref

import pytest
import torch

from core.config import TrainConfig
from core.events import Callback, RunStarted
from ui import train_session as ts
from ui.train_run import is_oom
from ui.train_session import KEEP_RUNS, RunRegistry, SessionRuns, wait_finished

QUICK = TrainConfig(n_samples=200, epochs=2, batch_size=32)
LONG = TrainConfig(n_samples=2000, epochs=5000, batch_size=16)  # hours: always stopped


def _wait(pred, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.05)
    return pred()


@pytest.fixture
def registry():
    return RunRegistry(cap=1)


def test_cap_refuses_with_busy_message_and_frees_on_stop(registry):
    a, b = SessionRuns(registry), SessionRuns(registry)
    run = a.start(LONG)
    assert run is not None and registry.active == 1
    assert b.start(QUICK) is None
    assert "busy" in b.notice and "limit is 1" in b.notice and ts.MAX_RUNS_ENV in b.notice
    assert b.runs == []  # nothing started, nothing kept
    a.stop_and_wait()
    assert run.reason == "stopped" and registry.active == 0
    assert "busy" not in b.notice and "slot is free now" in b.notice  # not a stale count
    second = b.start(QUICK)
    assert second is not None and b.notice == ""
    assert wait_finished(second, 60) and second.reason == "completed"


def test_finished_run_releases_thread_model_and_data(registry):
    runs = SessionRuns(registry)
    run = runs.start(QUICK)
    assert _wait(lambda: run.trainer is None or run.trainer.model is not None)
    trainer = run.trainer
    model_ref = weakref.ref(trainer.model) if trainer is not None else None
    del trainer
    assert wait_finished(run, 60)
    run.thread.join(5)
    assert not run.thread.is_alive() and registry.active == 0
    assert run.trainer is None and run.probe is None
    gc.collect()
    assert model_ref is None or model_ref() is None  # nothing holds the network any more
    assert set(run.downloads) == {"weights.pt", "weights.safetensors", "checkpoint.pt",
                                  "metrics.csv", "config.json", "train.py"}
    assert run.final_views is not None and run.final_views["boundary"] is not None


def test_reap_forgets_dead_threads(registry):
    runs = SessionRuns(registry)
    run = runs.start(QUICK)
    assert wait_finished(run, 60)
    registry._runs[id(run)] = run  # as if the worker had died before releasing itself
    run.thread.join(5)
    registry.reap()
    assert registry.active == 0


def test_sessions_neither_see_nor_stop_each_other():
    reg = RunRegistry(cap=2)
    a, b = SessionRuns(reg), SessionRuns(reg)
    ra, rb = a.start(LONG), b.start(LONG)
    try:
        assert ra is not None and rb is not None and reg.active == 2
        assert a.runs == [ra] and b.runs == [rb]
        a.stop_and_wait()
        assert not ra.active and rb.active
        assert _wait(lambda: len(rb.history.snapshot()["steps"]["step"]) > 0)
    finally:
        b.stop_and_wait()
    assert rb.reason == "stopped" and reg.active == 0


def test_one_active_run_per_session(registry):
    runs = SessionRuns(RunRegistry(cap=2))
    runs.start(LONG)
    try:
        with pytest.raises(ValueError, match="already going on"):
            runs.start(QUICK)
    finally:
        runs.stop_and_wait()


def test_keeps_the_last_runs_and_only_the_newest_checkpoint(registry):
    runs = SessionRuns(registry)
    tiny = QUICK.replace(epochs=1)
    for _ in range(KEEP_RUNS + 2):
        assert wait_finished(runs.start(tiny), 60)
    assert len(runs.runs) == KEEP_RUNS + 1
    assert [r.number for r in runs.runs] == list(range(2, KEEP_RUNS + 3))
    assert "checkpoint.pt" in runs.current.downloads
    assert all("checkpoint.pt" not in r.downloads and "weights.pt" in r.downloads
               for r in runs.runs[:-1])


class _OutOfMemory(Callback):
    def on_event(self, event):
        if isinstance(event, RunStarted):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_out_of_memory_is_recognised(registry):
    runs = SessionRuns(registry)
    run = runs.start(QUICK, probe_factory=_OutOfMemory)
    assert wait_finished(run, 60)
    assert run.reason == "failed" and run.oom and not run.missing_data
    assert is_oom(MemoryError()) and not is_oom(ValueError("lr must be > 0"))


def test_pause_and_resume_from_another_thread(registry):
    runs = SessionRuns(registry)
    run = runs.start(LONG)
    try:
        assert _wait(lambda: len(run.history.snapshot()["steps"]["step"]) > 0)
        run.pause()
        assert run.paused
        time.sleep(0.3)  # let the loop reach its pause gate
        n = len(run.history.snapshot()["steps"]["step"])
        time.sleep(0.5)
        assert len(run.history.snapshot()["steps"]["step"]) == n
        run.resume()
        assert _wait(lambda: len(run.history.snapshot()["steps"]["step"]) > n)
    finally:
        runs.stop_and_wait()


def _page(query):
    from tests.conftest import make_app

    at = make_app("pages/training.py", query).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_two_browser_sessions_and_the_busy_message(monkeypatch):
    """Two AppTest sessions share the server's registry but not their runs."""
    monkeypatch.setattr(ts.REGISTRY, "cap", 1)
    long = {"train_n_samples": "2000", "train_epochs": "5000", "train_batch_size": "16"}
    a, b = _page(long), _page(long)
    try:
        a.button(key="train_start").click().run()
        assert "train_stop" in {w.key for w in a.button}
        b.button(key="train_start").click().run()
        assert "server is busy" in b.warning[0].value
        assert "train_stop" not in {w.key for w in b.button}  # b cannot see or stop a's run
        assert b.session_state["_train_session"].runs == []
        assert not b.button(key="train_start").disabled  # b may try again later
        a.button(key="train_stop").click().run()
        a.session_state["_train_session"].current.done.wait(30)
        b.button(key="train_start").click().run()
        assert not b.warning and "train_stop" in {w.key for w in b.button}
        assert not a.session_state["_train_session"].current.active
    finally:
        for at in (a, b):
            at.session_state["_train_session"].stop_and_wait()


def test_a_forgotten_session_stops_its_run(registry):
    runs = SessionRuns(registry)
    run = runs.start(LONG)
    assert _wait(lambda: len(run.history.snapshot()["steps"]["step"]) > 0)
    del runs  # what happens when Streamlit drops a closed session's state
    gc.collect()
    assert wait_finished(run, 30) and run.reason == "stopped" and registry.active == 0


def test_a_page_run_starts_from_the_machines_cores_not_a_pages_one_thread(monkeypatch):
    """The visualisation pages set torch to 1 thread process-wide; a page run with threads=0
    must still get the cores the CLI would (the trainer then lowers them to the idle ones)."""
    from core import device
    from ui.train_run import LiveRun

    seen: dict[str, int] = {}
    monkeypatch.setattr(device, "idle_cores", lambda: 64.0)  # an idle machine
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # a dense step big enough for more than one thread (core.device.run_threads)
        run = LiveRun(TrainConfig(epochs=1, n_samples=300, width=512, batch_size=256), 1)
        run.trainer.callbacks.append(type("Spy", (), {
            "on_event": lambda self, e: seen.setdefault("n", torch.get_num_threads())})())
        run.thread.start()
        run.thread.join(60)
    finally:
        torch.set_num_threads(prev)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert seen["n"] == cores
