"""The LR scheduler page in real Chromium: deep link, change a parameter, the curve changes."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser


def traces(page) -> list:
    from tests.browser import wait_plot_json
    from tests.lr_plotly import decode_traces

    return decode_traces(json.loads(wait_plot_json(page, 0)))


def lr_values(page) -> list:
    return traces(page)[0]["y"]


def test_deep_link_change_parameter_and_hand_off(server, page):
    from playwright.sync_api import expect

    from tests.browser import download, open_page, plot_json, screenshot, wait_idle

    open_page(page, server, "schedulers", lr_kind="OneCycleLR", lr_epochs="20")
    expect(page.get_by_role("heading", name="Learning-rate schedulers")).to_be_visible()
    before = lr_values(page)
    before_json = plot_json(page, 0)
    assert len(before) == 20 * 50 and max(before) == pytest.approx(0.1)

    box = page.get_by_label("max_lr", exact=True)
    box.fill("0.4")
    box.press("Enter")
    wait_idle(page)
    after = lr_values(page)
    assert plot_json(page, 0) != before_json and after != before and max(after) == pytest.approx(0.4)
    assert "lr_onecyclelr_max_lr=0.4" in page.url  # the view lives in the URL

    # a second curve on the chart: the comparison list
    page.get_by_role("button", name="Add to comparison").click()
    wait_idle(page)
    names = [t["name"] for t in traces(page)]
    assert names[::2] == ["current", "1. OneCycleLR"]  # each followed by its momentum trace
    text = open(download(page, "CSV of all curves").path()).read()  # built when clicked
    assert text.startswith("schedule,step,epoch,batch,lr,momentum_or_beta1")
    assert text.count("\ncurrent,") == 1000 and text.count("\n1. OneCycleLR,") == 1000

    box = page.get_by_label("pct_start", exact=True)
    box.fill("0.1")
    box.press("Enter")
    wait_idle(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    page.get_by_role("heading", name="Learning-rate schedulers").click()  # no focus ring
    page.set_viewport_size({"width": 1440, "height": 1500})  # Streamlit scrolls inside; grow
    wait_idle(page)
    screenshot(page, "schedulers", full_page=False)

    page.get_by_role("button", name="Use in training").click()
    page.wait_for_url("**/training?*", timeout=30_000)
    assert "train_scheduler=onecycle" in page.url and "train_max_lr=0.4" in page.url
