"""The activations page under AppTest: every control by key, URL state, messages, speed."""

from __future__ import annotations

import json
import statistics
import time

import pytest

from core.activation_specs import ACTIVATION_SPECS, spec
from core.prelu_demo import TASKS
from tests.conftest import make_app

PAGE = "pages/activations.py"
DEPTH = {"act_tab": "Depth experiment"}
PRELU = {"act_tab": "PReLU learns"}


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def chart(at, index: int = 0) -> dict:
    return at.get("plotly_chart")[index].proto.spec


def metric(at, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def test_defaults_show_the_functions_tab(run_page):
    at = ok(run_page(PAGE))
    assert at.title[0].value == "Activations"
    assert len(at.get("plotly_chart")) == 1
    assert at.multiselect(key="act_compare").value == ["relu", "tanh", "sigmoid", "gelu", "swish"]
    assert metric(at, "Tanh: f(-2)") == "-0.9640"
    assert any("tanh" in latex.value for latex in at.latex)
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 5
    assert "act_swish_beta" in [s.key for s in at.slider]
    assert any("autograd" in c.value for c in at.code)  # the PyTorch code expander


def test_every_function_control(run_page):
    at = ok(run_page(PAGE))
    at.multiselect(key="act_compare").set_value(list(ACTIVATION_SPECS)).run()
    ok(at)
    keys = {s.key for s in at.slider}
    for name, s in ACTIVATION_SPECS.items():
        for p in s.params:
            assert f"act_{name}_{p.name}" in keys
    before = chart(at)
    at.slider(key="act_swish_beta").set_value(3.0)
    at.slider(key="act_elu_alpha").set_value(2.0)
    at.slider(key="act_hardtanh_min_val").set_value(-2.0)
    at.slider(key="act_softplus_threshold").set_value(5.0)
    at.slider(key="act_prelu_init").set_value(-0.5)
    ok(at.run())
    assert chart(at) != before
    assert at.query_params["act_swish_beta"] == "3"
    for name, s in ACTIVATION_SPECS.items():  # every parameter slider to an end of its range
        for p in s.params:
            at.slider(key=f"act_{name}_{p.name}").set_value(p.hi if p.name == "max_val" else p.lo)
    ok(at.run())
    at.selectbox(key="act_focus").set_value("softplus").run()
    assert any("f itself jumps" in c.value for c in ok(at).caption)  # torch's switch to x
    at.slider(key="act_xrange").set_value((-3.0, 8.0))
    at.slider(key="act_probe").set_value(5.0)
    at.select_slider(key="act_vanish").set_value(0.2)
    ok(at.run())
    assert at.query_params["act_xrange"] == "-3,8" and at.query_params["act_vanish"] == "0.2"


def test_kink_note_names_the_subgradient(run_page):
    at = ok(run_page(PAGE, query={"act_focus": "relu"}))
    text = " ".join(c.value for c in at.caption)
    assert "x = 0" in text and "autograd returns 0" in text and "subgradient" in text


def test_deep_link_restores_the_view(run_page):
    at = ok(run_page(PAGE, query={"act_compare": "relu,selu", "act_focus": "selu",
                                  "act_probe": "0.5", "act_xrange": "-4,4"}))
    assert at.multiselect(key="act_compare").value == ["relu", "selu"]
    assert at.slider(key="act_probe").value == 0.5
    assert metric(at, "SELU: f(0.5)") == "0.5254"


def test_bad_settings_give_messages_not_tracebacks(run_page):
    at = ok(run_page(PAGE, query={"act_compare": "hardtanh"}))
    at.slider(key="act_hardtanh_min_val").set_value(2.0).run()
    assert not at.exception and len(at.error) == 1
    assert "min_val must be smaller" in at.error[0].value
    at = ok(run_page(PAGE, query={**DEPTH, "act_depth_fn": "rrelu"}))
    at.slider(key="act_depth_rrelu_lower").set_value(0.9).run()
    assert not at.exception and "lower <= upper" in at.error[0].value
    at = ok(run_page(PAGE))
    at.multiselect(key="act_compare").set_value([]).run()
    assert not at.exception and "Pick at least one" in at.warning[0].value
    at = ok(run_page(PAGE))
    at.slider(key="act_xrange").set_value((2.0, 2.0)).run()
    assert not at.exception and "wider" in at.warning[0].value


@pytest.mark.parametrize("xrange", ["1", "", "1,2,3", "6,-6"])
def test_a_malformed_range_in_the_url_falls_back_to_the_default(run_page, xrange):
    at = ok(run_page(PAGE, query={"act_xrange": xrange}))
    assert at.slider(key="act_xrange").value == (-6.0, 6.0)
    assert any("act_xrange" in t.value and "default (-6,6)" in t.value for t in at.toast)


def test_depth_tab_every_control(run_page):
    at = ok(run_page(PAGE, query=DEPTH))
    assert len(at.get("plotly_chart")) == 3
    assert {t["name"] for t in json.loads(chart(at))["data"]} == {"PyTorch default"}
    at.toggle(key="act_depth_compare").set_value(True).run()
    traces = json.loads(chart(ok(at)))["data"]
    assert {t["name"] for t in traces} == {"PyTorch default", "Xavier normal", "Kaiming normal"}
    vanishing = float(metric(at, "|dL/dW| first / last"))
    assert vanishing < 1e-3  # ReLU + PyTorch's default init over 20 layers
    at.selectbox(key="act_depth_init").set_value("kaiming_normal").run()
    assert 0.05 < float(metric(ok(at), "|dL/dW| first / last")) < 20
    at.toggle(key="act_depth_xgain").set_value(True)
    at.slider(key="act_depth_layers").set_value(8)
    at.select_slider(key="act_depth_width").set_value(64)
    at.select_slider(key="act_depth_scale").set_value(2.0)
    at.select_slider(key="act_depth_sat").set_value(0.1)
    at.toggle(key="act_depth_compare").set_value(False)
    ok(at.run())
    assert len(json.loads(chart(at))["data"]) == 2  # only the chosen init: std and gradients
    assert at.query_params["act_depth_layers"] == "8"
    assert float(metric(at, "std of last layer")) > 10  # weights x2 with Kaiming: exploding
    for name, s in ACTIVATION_SPECS.items():
        if not s.params:
            continue
        at.selectbox(key="act_depth_fn").set_value(name).run()
        for p in spec(name).params:
            assert at.slider(key=f"act_depth_{name}_{p.name}").value == pytest.approx(p.default)
        at.slider(key=f"act_depth_{name}_{s.params[0].name}").set_value(s.params[0].lo).run()
        ok(at)
    at.selectbox(key="act_depth_fn").set_value("tanh").run()
    assert metric(ok(at), "gain used") == "1.667"  # kaiming with nonlinearity='tanh'


def test_depth_overflow_is_a_warning(run_page):
    at = ok(run_page(PAGE, query={**DEPTH, "act_depth_init": "kaiming_normal",
                                  "act_depth_scale": "2", "act_depth_layers": "60",
                                  "act_depth_width": "256", "act_depth_compare": "0"}))
    assert "overflowed" in at.warning[0].value


def test_prelu_tab_every_control(run_page):
    at = ok(run_page(PAGE, query=PRELU))
    assert float(metric(at, "learned a")) == pytest.approx(-1.0, abs=0.02)
    for task in TASKS:
        at.selectbox(key="act_prelu_task").set_value(task).run()
        ok(at)
    at.selectbox(key="act_prelu_task").set_value("leaky")
    at.slider(key="act_prelu_init").set_value(-0.5)
    at.slider(key="act_prelu_steps").set_value(200)
    at.select_slider(key="act_prelu_lr").set_value(0.3)
    ok(at.run())
    assert float(metric(at, "learned a")) == pytest.approx(0.2, abs=0.02)
    at.select_slider(key="act_prelu_lr").set_value(1.0).run()
    assert not at.exception and "diverged" in at.warning[0].value
    assert at.query_params["act_prelu_lr"] == "1"


@pytest.mark.slow
def test_rerun_after_a_slider_is_fast():
    """Median of 10 reruns after moving a slider (after warm-up); the page budget is 200 ms."""
    at = make_app(PAGE).run()
    for value in (0.0, 0.5):  # warm-up: imports, caches, plotly
        at.slider(key="act_probe").set_value(value).run()
    times = []
    for i in range(10):
        at.slider(key="act_probe").set_value(-1.0 + 0.1 * i)
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    ok(at)
    median = statistics.median(times)
    print(f"median rerun after moving act_probe: {median * 1000:.0f} ms")
    assert median < 0.4  # 200 ms budget; margin for a CPU shared with other test runs


def test_back_and_forward_restore_what_the_url_says(run_page, monkeypatch):
    """The browser's Back reran the page with the older URL, and the app wrote the current
    value straight back: Back seemed to do nothing. The URL now wins when it changed."""
    from ui import state

    monkeypatch.setattr(state, "ECHO_S", 0.0)  # no stale-URL grace: these steps are instant
    at = ok(run_page(PAGE))
    at.slider(key="act_probe").set_value(1.0).run()
    assert at.query_params["act_probe"] in (["1"], "1")
    del at.query_params["act_probe"]  # Back: the entry from before the change
    ok(at.run())
    assert at.slider(key="act_probe").value == -2.0
    at.query_params["act_probe"] = "1"  # Forward
    ok(at.run())
    assert at.slider(key="act_probe").value == 1.0
    at.slider(key="act_probe").set_value(0.5).run()  # an ordinary change still sticks
    assert at.slider(key="act_probe").value == 0.5
    assert at.query_params["act_probe"] in (["0.5"], "0.5")


def test_a_stale_url_right_after_a_change_is_not_taken_for_back(run_page):
    """Quick slider presses send reruns before the browser shows the previous URL: such an
    echo of the old value must not undo the change."""
    at = ok(run_page(PAGE))
    at.slider(key="act_probe").set_value(1.0).run()
    at.query_params["act_probe"] = "-1.5"  # a rerun still carrying an older URL
    ok(at.run())
    assert at.slider(key="act_probe").value == 1.0
