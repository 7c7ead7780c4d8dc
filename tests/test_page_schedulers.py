"""AppTest of the LR scheduler page: every control by key, errors as messages, URL state."""

from __future__ import annotations

import json
from unittest import mock

import pytest

from core.lr_curves import record_curve
from core.lr_params import CHILD_KINDS, KINDS, PARAMS
from tests.conftest import make_app
from tests.lr_plotly import decode_traces
from ui.lr_widgets import param_key

PAGE = "pages/schedulers.py"
EXPR = {"MultiplicativeLR": "0.9", "LambdaLR": "0.95 ** epoch", "CyclicLR": "1 / x"}
# Parameters whose new value leaves the default curve as it is (and why).
NO_VISIBLE_CHANGE: dict = {}  # every parameter's new value moves a chart
# Controls shown disabled until another setting makes them matter: (widget, key, value) first.
ENABLE = {
    ("CosineAnnealingWarmRestarts", "epoch_fraction"): ("radio", "lr_step_every", "batch"),
    ("CyclicLR", "gamma"): ("radio", "lr_cycliclr_mode", "exp_range"),
    ("CyclicLR", "scale_mode"): ("text_input", "lr_cycliclr_scale_fn", "1 / (x + 1)"),
}


def chart(at, index: int = 0) -> dict:
    """The figure as sent to the browser, its numpy arrays decoded to lists."""
    fig = json.loads(at.get("plotly_chart")[index].proto.spec)
    return {**fig, "data": decode_traces(fig["data"])}


def charts(at) -> list:
    return [c.proto.spec for c in at.get("plotly_chart")]


def lr_data(at) -> list:
    return list(chart(at)["data"][0]["y"])


def new_value(kind, p):
    """A valid value different from the default, for each kind of control."""
    if (kind, p.name) == ("ReduceLROnPlateau", "min_lr"):
        return 0.03  # above the LR the third cut would reach
    if (kind, p.name) == ("ReduceLROnPlateau", "eps"):
        return 0.1  # larger than the first cut (0.1 -> 0.05), which torch then skips
    if p.kind == "bool":
        return not p.default
    if p.kind == "choice":
        return next(c for c in p.choices if c != p.default)
    if p.kind == "ints":
        return "3,7"
    if p.kind == "expr":
        return EXPR[kind]
    if p.kind == "int":
        return p.default + 1 if p.default + 1 <= p.hi else p.default - 1
    return p.default * 0.5 if p.default else 0.01


def set_widget(at, key, p, value):
    return _widget(at, key, p).set_value(value)


def no_errors(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("kind", [k for k in KINDS if PARAMS[k] and k != "SequentialLR"])
def test_every_parameter_control(kind):
    at = make_app(PAGE, {"lr_kind": kind, "lr_spe": "25"}).run()
    no_errors(at)
    for p in PARAMS[kind]:
        key = param_key(kind, p.name)
        pre = ENABLE.get((kind, p.name))
        if pre:
            assert at.get(pre[0]) is not None and _widget(at, key, p).disabled
            undo = _widget(at, pre[1], None, pre[0]).value
            _widget(at, pre[1], None, pre[0]).set_value(pre[2]).run()
        before = charts(at)
        set_widget(at, key, p, new_value(kind, p)).run()
        no_errors(at)
        assert key in at.query_params, key  # mirrored into the URL
        if (kind, p.name) not in NO_VISIBLE_CHANGE:
            assert charts(at) != before, key  # the LR, momentum or plateau chart moved
        set_widget(at, key, p, p.default if p.kind != "ints" else "10,20").run()
        assert key not in at.query_params  # back to the default: out of the URL
        if pre:
            _widget(at, pre[1], None, pre[0]).set_value(undo).run()


def _widget(at, key, p, kind=None):
    kind = kind or {"bool": "toggle", "choice": "radio", "ints": "text_input",
                    "expr": "text_input"}.get(p.kind, "number_input")
    return getattr(at, kind)(key=key)


def test_run_controls_and_chart_options():
    at = make_app(PAGE, {"lr_kind": "OneCycleLR", "lr_epochs": "10", "lr_spe": "8"}).run()
    no_errors(at)
    first = chart(at)
    assert len(first["data"][0]["y"]) == 80 and first["layout"]["yaxis2"]["title"]["text"] \
        == "momentum"
    at.radio(key="lr_optimizer").set_value("adam").run()
    assert chart(at)["layout"]["yaxis2"]["title"]["text"] == "beta1"
    at.number_input(key="lr_momentum").set_value(0.5).run()
    at.number_input(key="lr_epochs").set_value(12).run()
    at.number_input(key="lr_spe").set_value(5).run()
    assert len(lr_data(at)) == 60
    at.radio(key="lr_step_every").set_value("epoch").run()
    assert len(lr_data(at)) == 12 and any("cut short" in i.value for i in at.info)
    at.radio(key="lr_xunit").set_value("batches").run()
    assert chart(at)["data"][0]["x"][1] == 5
    at.toggle(key="lr_logy").set_value(True).run()
    assert chart(at)["layout"]["yaxis"]["type"] == "log"
    at.selectbox(key="lr_kind").set_value("StepLR").run()
    before = lr_data(at)
    at.number_input(key="lr_lr").set_value(0.5).run()
    assert lr_data(at) == [v * 5 for v in before] or lr_data(at)[0] == 0.5
    at.radio(key="lr_order").set_value("scheduler_first").run()
    no_errors(at)
    assert any("before the optimizer" in w.value for w in at.warning)
    assert any("before `optimizer.step()`" in c.value for c in at.caption)


def test_composition_controls():
    at = make_app(PAGE, {"lr_kind": "SequentialLR"}).run()
    no_errors(at)
    at.radio(key="lr_nchildren").set_value(3).run()
    no_errors(at)
    at.number_input(key="lr_seq_m1").set_value(15).run()
    at.selectbox(key="lr_c1_kind").set_value("StepLR").run()
    at.number_input(key="lr_c1_steplr_step_size").set_value(3).run()
    before = lr_data(at)
    at.number_input(key="lr_c1_steplr_gamma").set_value(0.2).run()
    no_errors(at)
    assert lr_data(at) != before and at.query_params["lr_c1_steplr_gamma"] == "0.2"
    at.number_input(key="lr_seq_m0").set_value(2).run()
    assert lr_data(at)[2] == 0.1  # StepLR takes over at step 2, from the base LR
    at.selectbox(key="lr_c2_kind").set_value("ExponentialLR").run()
    at.number_input(key="lr_c2_exponentiallr_gamma").set_value(0.5).run()
    no_errors(at)
    at.number_input(key="lr_seq_m1").set_value(1).run()  # milestones not increasing
    assert any("increasing" in e.value for e in at.error) and not at.exception
    at.selectbox(key="lr_kind").set_value("ChainedScheduler").run()  # same children, chained
    no_errors(at)
    for kind in CHILD_KINDS:  # every kind can sit inside a composite
        at.selectbox(key="lr_c0_kind").set_value(kind).run()
        no_errors(at)


def test_plateau_controls():
    at = make_app(PAGE, {"lr_kind": "ReduceLROnPlateau"}).run()
    no_errors(at)
    assert len(at.get("plotly_chart")) == 2
    assert any("**After epoch 11**" in m.value and "patience 2" in m.value for m in at.markdown)
    for key, value in (("lr_metric_noise", 0.05), ("lr_metric_seed", 7),
                       ("lr_metric_plateau_len", 10)):
        before = chart(at, 1)["data"][0]["y"]
        at.number_input(key=key).set_value(value).run()
        no_errors(at)
        assert chart(at, 1)["data"][0]["y"] != before, key
    before = chart(at, 1)["data"][0]["y"]
    at.text_input(key="lr_metric_plateau_at").set_value("4,12").run()
    assert chart(at, 1)["data"][0]["y"] != before
    for shape in ("decay", "noisy", "rising"):
        at.radio(key="lr_metric_shape").set_value(shape).run()
        no_errors(at)
    at.radio(key="lr_metric_shape").set_value("plateaus").run()
    at.toggle(key="lr_plateau_only").set_value(False).run()
    assert len(at.dataframe[0].value) == 30  # every epoch explained
    at.text_input(key="lr_metric_plateau_at").set_value("4,x").run()
    assert any("not a whole number" in e.value for e in at.error) and not at.exception


def test_bad_input_is_a_message_not_a_traceback():
    at = make_app(PAGE, {"lr_kind": "LambdaLR"}).run()
    at.text_input(key="lr_lambdalr_lr_lambda").set_value("__import__('os').system('x')").run()
    assert not at.exception and any("attribute access" in e.value for e in at.error)
    at.text_input(key="lr_lambdalr_lr_lambda").set_value("1 / (epoch - 3)").run()
    assert not at.exception and any("division by zero" in e.value for e in at.error)
    at.selectbox(key="lr_kind").set_value("MultiStepLR").run()
    at.text_input(key="lr_multisteplr_milestones").set_value("10,oops").run()
    assert not at.exception and any("not a whole number" in e.value for e in at.error)
    at.text_input(key="lr_multisteplr_milestones").set_value("20,10").run()
    assert not at.exception and any("increasing" in e.value for e in at.error)
    at.selectbox(key="lr_kind").set_value("StepLR").run()
    at.radio(key="lr_step_every").set_value("batch").run()
    at.number_input(key="lr_epochs").set_value(5000).run()
    at.number_input(key="lr_spe").set_value(100).run()
    assert not at.exception and any("at most" in e.value for e in at.error)


@pytest.mark.parametrize("query", [
    {"lr_kind": "CyclicLR", "lr_cycliclr_mode": "triangular2", "lr_cycliclr_step_size_up": "5",
     "lr_epochs": "400", "lr_spe": "50"},
    {"lr_kind": "CyclicLR", "lr_cycliclr_mode": "exp_range", "lr_cycliclr_gamma": "2",
     "lr_epochs": "40"},
    {"lr_kind": "LambdaLR", "lr_lambdalr_lr_lambda": "2 ** 0x" + "f" * 290},
])
def test_overflow_is_a_message_not_a_traceback(query):
    at = make_app(PAGE, query).run()
    assert not at.exception, [e.value for e in at.exception]
    said = " ".join(m.value for m in [*at.warning, *at.error])
    assert "overflowed" in said or "too large" in said, said


def test_deep_link_reproduces_the_view():
    query = {"lr_kind": "CyclicLR", "lr_cycliclr_mode": "exp_range", "lr_cycliclr_gamma": "0.99",
             "lr_epochs": "8", "lr_spe": "20", "lr_optimizer": "adam", "lr_xunit": "batches"}
    at = make_app(PAGE, query).run()
    no_errors(at)
    expected = record_curve({"kind": "CyclicLR", "params": {"mode": "exp_range", "gamma": 0.99}},
                            {"epochs": 8, "steps_per_epoch": 20, "optimizer": "adam"})
    data = chart(at)["data"]
    assert list(data[0]["y"]) == expected.lr and list(data[1]["y"]) == expected.momentum
    assert at.radio(key="lr_xunit").value == "batches"
    code = next(c.value for c in at.code)
    assert "mode='exp_range'" in code and "torch.optim.Adam" in code


def test_comparison_list_and_csv():
    at = make_app(PAGE, {"lr_kind": "StepLR"}).run()
    at.text_input(key="lr_cmp_name").set_value("staircase").run()
    at.button(key="lr_cmp_add").click().run()
    at.selectbox(key="lr_kind").set_value("ExponentialLR").run()
    at.button(key="lr_cmp_add").click().run()
    no_errors(at)
    names = [t["name"] for t in chart(at)["data"]]
    assert names == ["current", "staircase", "2. ExponentialLR"]
    assert at.text_input(key="lr_cmp_name").value == ""  # cleared for the next one
    at.text_input(key="lr_cmp_name").set_value("staircase").run()
    at.button(key="lr_cmp_add").click().run()
    assert any("already a curve" in w.value for w in at.warning)
    assert at.get("download_button")[0].proto.label == "CSV of all curves"
    at.multiselect(key="lr_cmp_remove").set_value(["staircase"]).run()
    at.button(key="lr_cmp_del").click().run()
    assert "staircase" not in [t["name"] for t in chart(at)["data"]]
    at.button(key="lr_cmp_clear").click().run()
    no_errors(at)
    assert [t["name"] for t in chart(at)["data"]] == ["current"]


def test_use_in_training_switches_page_with_the_config():
    at = make_app(PAGE, {"lr_kind": "SequentialLR"}).run()
    with mock.patch("streamlit.switch_page") as switch:
        at.button(key="lr_use_in_training").click().run()
    no_errors(at)
    switch.assert_called_once()
    args, kwargs = switch.call_args
    assert args == ("pages/training.py",)
    assert kwargs["query_params"]["train_scheduler"] == "cosine"
    assert kwargs["query_params"]["train_warmup_steps"] == "250"
    at.selectbox(key="lr_kind").set_value("LambdaLR").run()
    assert at.button(key="lr_use_in_training").disabled
    assert any("can't carry a formula" in c.value for c in at.caption)


def test_onecycle_warm_up_of_zero_steps_says_what_to_change():
    """pct_start x steps = 1: torch divides by zero building the scheduler; the page explains
    it and the suggested pct_start draws the curve."""
    at = make_app(PAGE, {"lr_kind": "OneCycleLR", "lr_epochs": "10", "lr_spe": "2"}).run()
    at.number_input(key="lr_onecyclelr_pct_start").set_value(0.05).run()
    assert not at.exception
    message = " ".join(e.value for e in at.error)
    assert "length zero" in message and "pct_start 0.05 x total_steps 20 = 1" in message
    at.number_input(key="lr_onecyclelr_pct_start").set_value(0.1).run()  # "e.g. 0.1"
    assert "e.g. 0.1," in message
    no_errors(at)
    assert len(lr_data(at)) == 20
