"""Helpers for Playwright tests of Streamlit pages."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Download, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import SCREENSHOTS

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def wait_idle(page: Page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished the current script run (and rendered)."""
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(300)  # let the frontend paint the last delta
    page.wait_for_selector(IDLE, timeout=timeout)


def open_page(page: Page, base: str, url_path: str = "", **query: str) -> None:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    page.goto(f"{base}/{url_path}" + (f"?{qs}" if qs else ""))
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    wait_idle(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def wait_plot_json(page: Page, index: int = 0, timeout_ms: float = 30_000) -> str:
    """plot_json once the index-th Plotly chart has drawn its data (Plotly draws after
    Streamlit's script has finished, so a page that looks idle can still have no chart)."""
    page.wait_for_function(
        """(i) => { const el = document.querySelectorAll('.js-plotly-plot')[i];
                    return el && el.data; }""", arg=index, timeout=timeout_ms)
    return plot_json(page, index)


def plot_json(page: Page, index: int = 0) -> str:
    """The data of the index-th Plotly chart as JSON text (to see that it changed)."""
    return page.evaluate(
        """(i) => { const el = document.querySelectorAll('.js-plotly-plot')[i];
                    return el ? JSON.stringify(el.data) : null; }""",
        index,
    )


# Tags every Plotly chart element the page mounts; a chart redrawn in place keeps its tag.
# Streamlit 1.67 mounts a changed st.plotly_chart figure as a new element.
COUNT_PLOTS = """() => { window.__plots = 0; const seen = new WeakSet();
  setInterval(() => document.querySelectorAll('.js-plotly-plot').forEach(gd => {
    if (!seen.has(gd)) { seen.add(gd); window.__plots += 1; } }), 100); }"""


def count_plots(page: Page) -> None:
    """Start counting the Plotly chart elements the page mounts (see plots_mounted)."""
    page.evaluate(COUNT_PLOTS)


def plots_mounted(page: Page) -> int:
    """Chart elements mounted since count_plots."""
    return page.evaluate("() => window.__plots")


def download(page: Page, button: str, *, tries: int = 3, timeout_ms: float = 20_000) -> Download:
    """Click a download button and return the download. A deferred download (data built when
    clicked) whose click lands while the page reruns can come to nothing, in a browser as
    here; a user clicks again, and so does this (at most `tries` times)."""
    for _ in range(tries):
        try:
            with page.expect_download(timeout=timeout_ms) as info:
                page.get_by_role("button", name=button).click()
            return info.value
        except PlaywrightTimeout:
            wait_idle(page)
    raise AssertionError(f"no download from {button!r} after {tries} clicks")
