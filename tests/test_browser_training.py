"""The training page in real Chromium: train, watch the chart change, stop, download weights."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.config import TrainConfig
from core.data import load_data
from core.evaluate import evaluate
from core.export import load_weights
from core.models import build_model
from tests.browser import (
    count_plots,
    open_page,
    plot_json,
    plots_mounted,
    screenshot,
    wait_idle,
)

# Long enough to be stopped midway even on an idle machine (minutes); the boundary sharpens
# within seconds.
QUERY = {"train_n_samples": "600", "train_epochs": "10000"}


def _changes(page, index: int, timeout: float = 60.0) -> tuple[str, str]:
    """Two different JSON states of the index-th chart, seen while the run goes on."""
    deadline = time.monotonic() + timeout
    first = None
    while time.monotonic() < deadline:
        now = plot_json(page, index)
        # y as a list, or as plotly's typed array {"dtype": ..., "bdata": ...}: drawn data
        if now and re.search(r'"y":\s*[\[{]', now) and first is None:
            first = now
        elif first is not None and now and now != first:
            return first, now
        page.wait_for_timeout(500)
    raise AssertionError("the chart did not change while training")


def _reach_epoch(page, epoch: int, timeout: float = 40.0) -> None:
    """Wait (at most timeout s) until the progress line says epoch >= `epoch`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = page.get_by_text(re.compile(r"epoch \d+/10000")).first.inner_text()
        if int(re.search(r"epoch (\d+)/", text).group(1)) >= epoch:
            return
        page.wait_for_timeout(500)


@pytest.mark.browser
def test_train_watch_stop_download(page, server):
    open_page(page, server, "training", **QUERY)
    expect(page.get_by_text("Press Start to train", exact=False)).to_be_visible()
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_visible(timeout=60_000)
    before, after = _changes(page, 0)  # the loss curve, redrawn by the ticking fragment
    assert before != after
    _reach_epoch(page, 20)  # for the screenshot: curves with some history, a clear boundary
    page.set_viewport_size({"width": 1440, "height": 1900})  # Streamlit scrolls inside
    page.wait_for_timeout(1500)
    screenshot(page, "training")
    page.get_by_role("button", name="Stop", exact=True).click()
    weights = page.get_by_role("button", name="Weights (.pt)")
    expect(weights).to_be_visible(timeout=60_000)
    wait_idle(page)
    expect(page.get_by_text("Stopped on request", exact=False)).to_be_visible()
    with page.expect_download() as info:
        weights.click()
    download = info.value
    assert download.suggested_filename.endswith("-weights.pt")
    data = Path(download.path()).read_bytes()

    cfg = TrainConfig(n_samples=600, epochs=10000)
    bundle = load_data(cfg)
    model = load_weights(build_model(cfg, (2,), bundle.num_classes), data, "weights.pt")
    result = evaluate(model, bundle, "val")
    assert result.accuracy > 0.6  # three arms: chance is 1/3; it learned something


def _mounted_during(page, ms: int) -> int:
    before = plots_mounted(page)
    page.wait_for_timeout(ms)
    return plots_mounted(page) - before


@pytest.mark.browser
def test_paused_charts_stay_put(page, server):
    """The "Show" help promises it: live charts are drawn anew each second (Streamlit mounts a
    changed figure as a new chart), and a paused run's charts stay, so zoom and hover last."""
    open_page(page, server, "training", **QUERY)
    page.get_by_role("button", name="Start", exact=True).click()
    pause = page.get_by_role("button", name="Pause", exact=True)
    expect(pause).to_be_visible(timeout=60_000)
    _changes(page, 0)  # drawing
    count_plots(page)
    assert _mounted_during(page, 3000) >= 2  # at least the curves, at least once a second
    pause.click()
    expect(page.get_by_role("button", name="Resume", exact=True)).to_be_visible(timeout=20_000)
    page.wait_for_timeout(1500)  # a tick already on its way
    assert _mounted_during(page, 3000) == 0
    expect(page.get_by_text("paused", exact=False).first).to_be_visible()
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.get_by_text("Stopped on request", exact=False)).to_be_visible(timeout=60_000)
