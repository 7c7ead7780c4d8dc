"""AppTest of the shape-tracer section on its own: every control by key, the URL, bad input."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core.shape_presets import DEFAULT_PRESET, SHAPE_PRESETS
from tests.conftest import APPTEST_TIMEOUT, ROOT

EDIT = "trace_table"


@pytest.fixture
def app(tmp_path):
    """An AppTest of a tiny script that only renders the tracer (not yet run)."""
    script = tmp_path / "tracer_app.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
                      "from ui.conv_tracer import render_tracer\nrender_tracer()\n")

    def make(**query: str) -> AppTest:
        at = AppTest.from_file(str(script), default_timeout=APPTEST_TIMEOUT)
        for key, value in query.items():
            at.query_params[key] = value
        return at

    return make


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def table(at: AppTest, column: str):
    """The first st.dataframe having `column` (read-only tables carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.error)


def test_default_view_traces_the_mnist_cnn(app):
    at = ok(app().run())
    assert metrics(at)["Output shape"] == "(64, 10)"
    assert metrics(at)["Parameters"] == "1,199,882"
    assert metrics(at)["Layers traced"] == "11 of 11"
    assert not at.error and dict(at.query_params) == {}
    result = table(at, "receptive field")
    assert list(result["output shape"])[7] == "(64, 9216)"
    assert list(result["receptive field"])[:6] == ["1", "3", "3", "5", "5", "6"]
    code = at.expander[-1].code[0].value  # the "PyTorch code" expander
    assert "nn.Linear(9216, 128)" in code and "torch.Size([64, 10])" in code
    assert at.download_button(key="trace_download").label == "Download model.py"
    assert at.get("plotly_chart") and at.latex
    editor = at.data_editor(key=EDIT)
    assert editor.editing_mode == "dynamic"
    assert list(editor.value["layer"])[:3] == ["Conv2d", "ReLU", "Conv2d"]
    assert len(table(at, "URL code")) >= 19  # the settings reference


@pytest.mark.parametrize("name", list(SHAPE_PRESETS))
def test_every_preset(app, name):
    at = ok(app().run())
    at.selectbox(key="trace_preset").set_value(name).run()
    ok(at)
    preset = SHAPE_PRESETS[name]
    assert at.text_input(key="trace_input").value == ", ".join(map(str, preset.input_shape))
    assert dict(at.query_params) == ({} if name == DEFAULT_PRESET else {"trace_preset": name})
    if preset.broken_at is None:
        assert not at.error
        assert metrics(at)["Layers traced"].startswith(str(preset.stack.count("|") + 1))
    else:
        assert f"Layer {preset.broken_at + 1} (" in errors(at)
        assert at.button(key="trace_fix").label.startswith("Apply the fix")


def test_fix_button_repairs_the_stack_and_goes_in_the_url(app):
    name = "Broken: LeNet-5 fed 28×28 MNIST"
    at = ok(app(trace_preset=name).run())
    assert "expects in_features=400 but gets 256" in errors(at)
    assert "16·4·4 = 256" in errors(at)
    at.button(key="trace_fix").click().run()
    ok(at)
    assert not at.error and metrics(at)["Output shape"] == "(1, 10)"
    assert "linear:120:in=256" in at.query_params["trace_stack"]
    assert list(at.data_editor(key=EDIT).value["settings"])[7] == "out=120 in=256"
    at.button(key="trace_reset").click().run()  # back to the preset, and out of the URL
    ok(at)
    assert "trace_stack" not in at.query_params and "in_features=400" in errors(at)


def test_batchnorm_fix_changes_the_input_shape(app):
    at = ok(app(trace_stack="adaptavg:1|bn", trace_input="1, 8, 5, 5").run())
    assert "more than one value per channel" in errors(at)
    at.button(key="trace_fix").click().run()
    ok(at)
    assert at.text_input(key="trace_input").value == "2, 8, 5, 5" and not at.error


def test_input_shape_box(app):
    at = ok(app().run())
    at.text_input(key="trace_input").set_value("1, 1, 32, 32").run()
    ok(at)
    assert "set in_features=12544" in " ".join(b.label for b in at.button)
    assert at.query_params["trace_input"] == "1, 1, 32, 32"
    at.text_input(key="trace_input").set_value("one, two").run()
    ok(at)
    assert "Input shape:" in errors(at) and not at.metric


def test_deep_link_reproduces_the_view(app):
    at = ok(app(trace_stack="conv:8:3|flatten|linear:10:in=5", trace_input="2,1,8,8").run())
    assert "expects in_features=5 but gets 288" in errors(at)
    assert [str(v) for v in at.data_editor(key=EDIT).value["settings"]] == [
        "out=8 k=3", "", "out=10 in=5"]
    bad = ok(app(trace_stack="conv:x|||", trace_preset="no such preset").run())
    assert metrics(bad)["Output shape"] == "(64, 10)"  # a mangled link falls back quietly


def test_editing_the_table(app):
    at = ok(app().run())
    at.session_state[EDIT] = {
        "edited_rows": {7: {"settings": "out=128 in=999"}},
        "added_rows": [{"#": 2.5, "layer": "BatchNorm2d", "settings": ""}],
        "deleted_rows": [5],
    }
    at.run()
    ok(at)
    stack = at.query_params["trace_stack"]
    assert stack.startswith("conv:32:3|relu|bn|conv:64:3") and "dropout:0.25" not in stack
    assert "expects in_features=999 but gets 9216" in errors(at)
    assert "set in_features=9216" in at.button(key="trace_fix").label


def test_unreadable_rows_and_an_empty_table(app):
    at = ok(app().run())
    at.session_state[EDIT] = {"edited_rows": {0: {"settings": "out=32 k=banana"}},
                              "added_rows": [{"layer": None, "settings": "ignored"}],
                              "deleted_rows": []}
    at.run()
    ok(at)
    assert "can't be read" in errors(at) and "k must be a whole number" in errors(at)
    assert not at.metric  # nothing traced from a half-typed table
    empty = ok(app().run())
    empty.session_state[EDIT] = {"edited_rows": {}, "added_rows": [],
                                 "deleted_rows": list(range(11))}
    empty.run()
    ok(empty)
    assert "empty" in " ".join(w.value for w in empty.warning)


def test_reruns_are_fast_once_warm(app):
    """Measured: a cached rerun of the section is tens of ms; allow slack for a busy machine."""
    at = ok(app().run())
    at.selectbox(key="trace_preset").set_value("VGG-style blocks (CIFAR 32×32)").run()
    start = time.perf_counter()
    at.run()
    assert time.perf_counter() - start < 1.0


# --------------------------------------------------------------------------- real browser
@pytest.fixture(scope="module")
def tracer_server(tmp_path_factory):
    """`streamlit run` on a wide page holding only the tracer (the editor needs a browser)."""
    import subprocess
    import sys
    import urllib.request

    from tests.conftest import ARTIFACTS, free_port

    script = tmp_path_factory.mktemp("tracer") / "tracer_app.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nimport streamlit as st\n"
                      "st.set_page_config(layout='wide')\n"
                      "from ui.conv_tracer import render_tracer\nrender_tracer()\n")
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / f"tracer-{port}.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2):
                break
        except OSError:
            time.sleep(0.3)
    yield base
    proc.terminate()
    proc.wait(10)


def _edit_settings(page, row: int, text: str) -> None:
    """Type into the Settings cell of table row `row` (1-based): select, Enter, fill, Enter."""
    from tests.browser import wait_idle

    editor = page.locator(".gdg-input").first
    for _ in range(10):  # the grid takes a moment after a rerun before a click selects a cell
        box = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + 35 * row + 17)
        page.keyboard.press("Enter")
        try:
            editor.wait_for(state="visible", timeout=2_000)
            break
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: try the click again
            page.keyboard.press("Escape")
    editor.fill(text)
    page.keyboard.press("Enter")
    wait_idle(page)


@pytest.mark.browser
def test_tracer_in_a_browser(tracer_server, page):
    from urllib.parse import quote, unquote

    from playwright.sync_api import expect

    from tests.browser import open_page, screenshot, wait_idle

    def values() -> list[str]:
        return page.locator('[data-testid="stMetricValue"]').all_inner_texts()

    page.set_viewport_size({"width": 1440, "height": 2400})  # Streamlit scrolls inside: tall
    open_page(page, tracer_server, "", trace_preset=quote("Broken: LeNet-5 fed 28×28 MNIST"))
    alert = page.get_by_test_id("stAlertContentError")
    expect(alert).to_contain_text("Linear expects in_features=400 but gets 256")
    page.get_by_role("button", name="Apply the fix").click()
    wait_idle(page)
    expect(page.locator('[data-testid="stAlert"]')).to_have_count(0)
    assert values()[0] == "(1, 10)" and "in%3D256" in page.url

    _edit_settings(page, 1, "out=8 k=5 p=2")  # LeNet's own padding: 28 -> 28 -> ... -> 5×5
    assert "conv:8:5:p=2|" in unquote(page.url)
    expect(alert).to_contain_text("expects in_features=256 but gets 400")
    assert values()[0] == "(1, 400)"
    screenshot(page, "conv_tracer", full_page=False)

    page.get_by_role("button", name="Reset to preset").click()  # edits must not come back
    wait_idle(page)
    assert "trace_stack" not in page.url and "in_features=400 but gets 256" in page.content()
    _edit_settings(page, 12, "out=3")
    assert "conv:6:5|" in unquote(page.url) and "linear:3" in unquote(page.url)
