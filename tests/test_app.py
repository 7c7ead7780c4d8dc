"""The home page and navigation: every page reachable, with the same titles either way."""

from __future__ import annotations

import pytest

from tests.conftest import make_app
from ui.nav import PAGES


def test_home_links_every_page():
    at = make_app("app.py").run()
    assert not at.exception
    assert at.title[0].value == "torch-playground"
    text = " ".join(c.value for c in at.caption)
    for spec in PAGES:
        assert spec.blurb in text


@pytest.mark.browser
@pytest.mark.parametrize("spec", PAGES, ids=[p.url_path for p in PAGES])
def test_deep_link_on_fresh_server(spec, fresh_server, page):
    """A deep link on a newly started server shows the page with the app's own titles."""
    from tests.browser import open_page

    open_page(page, fresh_server, spec.url_path)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav_text = nav.inner_text()
    for other in PAGES:
        assert other.title in nav_text  # app.py's titles, not file names
    assert "Home" in nav_text
    assert page.title().startswith(spec.title)


@pytest.mark.browser
def test_home_in_a_browser(server, page):
    """The home page links every page; the link opens it. Screenshot for the README."""
    from tests.browser import open_page, screenshot, wait_idle

    open_page(page, server, "")
    main = page.locator('[data-testid="stMain"]')
    for spec in PAGES:
        assert spec.blurb in main.inner_text()
    screenshot(page, "home", full_page=False)
    main.get_by_role("link", name=PAGES[0].title).click()
    page.wait_for_url(f"**/{PAGES[0].url_path}*")
    wait_idle(page)
    assert page.title().startswith(PAGES[0].title)
