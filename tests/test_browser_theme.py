"""Charts follow Streamlit's theme: in a browser that prefers dark, every page's Plotly axis text
contrasts with a dark page (and with a light one)."""

from __future__ import annotations

import re

import pytest

from ui.nav import PAGES

TICK_COLOUR = """() => { const t = document.querySelector('.js-plotly-plot g[class$="tick"] text');
                         return t ? getComputedStyle(t).fill : null; }"""
PAGE_BG = """() => getComputedStyle(document.querySelector('[data-testid="stApp"]'))
                     .backgroundColor"""


def _luminance(css: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_charts_follow_the_theme(scheme, server, browser):
    from tests.browser import open_page

    context = browser.new_context(color_scheme=scheme, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        for spec in PAGES:
            if spec.url_path == "training":
                continue  # its charts appear once a run starts: tests/test_browser_training.py
            open_page(page, server, spec.url_path)
            page.wait_for_selector('.js-plotly-plot g[class$="tick"] text', state="attached",
                                   timeout=60_000)
            bg, tick = _luminance(page.evaluate(PAGE_BG)), _luminance(page.evaluate(TICK_COLOUR))
            assert (bg < 0.3) if scheme == "dark" else (bg > 0.7), (spec.url_path, bg)
            assert abs(bg - tick) > 0.3, (spec.url_path, bg, tick)  # readable axis text
    finally:
        context.close()
