"""The activations page in real Chromium: deep link, a slider changes the chart, screenshots."""

from __future__ import annotations

import json

import pytest

from tests.browser import open_page, plot_json, screenshot, wait_idle, wait_plot_json

pytestmark = pytest.mark.browser


def _nudge(page, key: str, presses: int = 5, key_name: str = "ArrowRight") -> None:
    """Move a Streamlit slider with the keyboard (like a user) and wait for the rerun."""
    handle = page.locator(f".st-key-{key} input[type='range']").first
    handle.focus()
    for _ in range(presses):
        handle.press(key_name)
    wait_idle(page)


def _tall_screenshot(page, name: str) -> None:
    """Streamlit scrolls inside its own container: grow the window to show the whole tab."""
    page.set_viewport_size({"width": 1440, "height": 1700})
    wait_idle(page)
    screenshot(page, name)


def _open(page, server, **query) -> None:
    open_page(page, server, "activations", **query)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)  # first load imports torch
    wait_idle(page)


def test_functions_tab_slider_changes_chart(server, page):
    _open(page, server)
    assert page.title().startswith("Activations")
    before = wait_plot_json(page, 0)
    assert before and "Swish (beta)" in before
    _nudge(page, "act_swish_beta", presses=10)  # beta 1.0 -> 2.0
    after = plot_json(page, 0)
    assert after != before
    swish = [t for t in json.loads(after) if t.get("name") == "Swish (beta)"]
    assert swish, "the Swish curve is still drawn"
    assert "beta=2" in page.content() or "act_swish_beta=2" in page.url
    _tall_screenshot(page, "activations")


def test_depth_tab_by_deep_link(server, page):
    _open(page, server, act_tab="Depth experiment", act_depth_compare="1")
    assert page.locator(".js-plotly-plot").count() == 3
    before = wait_plot_json(page, 0)
    _nudge(page, "act_depth_layers", presses=10)  # 20 -> 30 layers
    assert plot_json(page, 0) != before
    assert "act_depth_layers=30" in page.url
    _tall_screenshot(page, "activations_depth")


def test_prelu_tab_by_deep_link(server, page):
    _open(page, server, act_tab="PReLU learns", act_prelu_task="leaky")
    before = wait_plot_json(page, 0)
    _nudge(page, "act_prelu_init", presses=4, key_name="ArrowLeft")  # 0.25 -> 0.05
    assert plot_json(page, 0) != before
    _tall_screenshot(page, "activations_prelu")
