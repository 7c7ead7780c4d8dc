"""Shared by the training page's AppTest files: fixtures, polling, reading what the page shows."""

from __future__ import annotations

import time

import pytest

from tests.conftest import make_app

PAGE = "pages/training.py"
QUICK = {"train_n_samples": "300", "train_epochs": "3"}
LONG = {"train_n_samples": "2000", "train_epochs": "5000", "train_batch_size": "16"}


@pytest.fixture
def media(monkeypatch):
    """One media store for every run, so a test can read what a download button serves."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    store = MemoryMediaFileStorage("/mock/media")
    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", lambda endpoint: store)
    return store


@pytest.fixture
def apps():
    """make(query) -> a run AppTest; every run they started is stopped afterwards."""
    made = []

    def make(query=None):
        at = make_app(PAGE, query).run()
        assert not at.exception, [e.value for e in at.exception]
        made.append(at)
        return at

    yield make
    for at in made:
        if "_train_session" in at.session_state:
            at.session_state["_train_session"].stop_and_wait()


def poll(at, done, timeout=90.0):
    """Rerun (as the fragment's ticks would) until done(at)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if done(at):
            return at
        time.sleep(0.3)
    raise AssertionError("timed out waiting for the page")


def keys(at, kind="button"):
    return {w.key for w in at.get(kind)}


def finished(at):
    return "train_stop" not in keys(at) and at.session_state["_train_session"].current \
        is not None and not at.session_state["_train_session"].current.active


def steps_seen(at):
    run = at.session_state["_train_session"].current
    return run is not None and len(run.history.snapshot()["steps"]["step"]) > 0


def download(at, media, label):
    button = next(b for b in at.get("download_button") if b.label == label)
    return media.get_file(button.proto.url.rsplit("/", 1)[1]).content


def chart_specs(at) -> str:
    return " ".join(c.proto.spec for c in at.get("plotly_chart"))


def chart_keys(at) -> set[str]:
    """The keys of the Plotly charts on the page (their ids end with '-<key>')."""
    return {c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")}


def all_views():
    from ui.train_live import VIEWS

    return VIEWS
