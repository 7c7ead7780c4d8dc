"""The normalization page in real Chromium: deep link, change the layer, the highlighted set
changes; screenshot for the README."""

from __future__ import annotations

import json

import pytest

from tests.browser import open_page, plot_json, screenshot, wait_idle, wait_plot_json

pytestmark = pytest.mark.browser


def _highlight(page) -> str:
    """The legend name of the highlighted set in the cube picture (the first chart)."""
    data = json.loads(wait_plot_json(page, 0))
    return [t["name"] for t in data if t.get("name", "").startswith("shares")][0]


def test_changing_the_layer_changes_the_highlighted_set(server, page):
    open_page(page, server, "normalization", norm_pick_n="1", norm_pick_c="2")
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)  # first load imports torch
    wait_idle(page)
    assert page.title().startswith("Normalization")
    before = wait_plot_json(page, 0)
    assert _highlight(page) == "shares its statistics (64 elements)"  # BatchNorm2d: N*H*W

    page.locator(".st-key-norm_layer").click()
    page.get_by_role("option", name="LayerNorm", exact=True).click()
    wait_idle(page)
    assert plot_json(page, 0) != before
    assert _highlight(page) == "shares its statistics (96 elements)"  # LayerNorm: C*H*W
    assert "norm_layer=LayerNorm" in page.url
    assert page.get_by_text("Checked against the real layer").count() == 1

    page.locator(".st-key-norm_layer").click()
    page.get_by_role("option", name="GroupNorm", exact=True).click()
    wait_idle(page)
    assert _highlight(page) == "shares its statistics (48 elements)"  # G=2: 3 channels * H*W
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "normalization")
