"""The convolution page in real Chromium: deep link, change a parameter, the output size and the
picture change; Play animates the window; a refused setting shows its explanation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import open_page, plot_json, screenshot, wait_idle, wait_plot_json

pytestmark = pytest.mark.browser


METRIC = '[data-testid="stMetricValue"]'


def expect_outputs(page, shape: str) -> None:
    """Both the formula's and the real layer's output shape show `shape`."""
    expect(page.locator(METRIC).nth(1)).to_have_text(shape)
    expect(page.locator(METRIC).nth(2)).to_have_text(shape)


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_timeout(300)
    wait_idle(page)


def test_output_size_follows_a_parameter(server, page):
    page.set_viewport_size({"width": 1440, "height": 1900})  # the whole tab in the screenshot
    open_page(page, server, "convolution", conv_tab="Output size")
    expect_outputs(page, "(1, 8, 4, 5)")
    expect(page.locator(".js-plotly-plot")).to_have_count(1)
    before = wait_plot_json(page, 0)

    set_number(page, "Input height", 11)
    expect_outputs(page, "(1, 8, 6, 5)")  # the formula and the real nn.Conv2d
    assert plot_json(page, 0) != before  # the padded grid grew
    assert "conv_h=11" in page.url
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring
    page.wait_for_timeout(500)
    screenshot(page, "convolution")

    # ▶ Play slides the window on the client (Plotly frames): the highlighted cells move
    still = wait_plot_json(page, 0)
    page.locator(".updatemenu-item-text", has_text="Play").click()
    page.wait_for_timeout(1500)
    assert plot_json(page, 0) != still
    page.locator(".updatemenu-item-text", has_text="Pause").click()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_refused_setting_is_explained_and_fixed(server, page):
    open_page(page, server, "convolution", conv_tab="Output size", conv_groups="3")
    alert = page.locator('[data-testid="stAlertContentError"]').first
    expect(alert).to_contain_text("divisible by groups")
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    page.get_by_role("button", name="groups → 2").click()
    wait_idle(page)
    expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
    expect_outputs(page, "(1, 8, 4, 5)")
