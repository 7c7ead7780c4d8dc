"""AppTest of pages/normalization.py: every control, by key."""

from __future__ import annotations

import contextlib
import io

import pytest

from tests.conftest import make_app

PAGE = "pages/normalization.py"


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _code(at) -> str:
    return [c.value for c in at.code if "import torch" in c.value][0]


def _run_snippet(src: str) -> dict:
    ns: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(src, "<snippet>", "exec"), ns)  # noqa: S102 - our own snippet
    return ns


@pytest.fixture
def at(run_page):
    return run_page(PAGE)


def test_defaults_show_the_picture_formula_check_and_runnable_code(at):
    assert at.title[0].value == "Normalization"
    keys = {c.key for c in at.get("plotly_chart")}
    assert {"norm_cube", "norm_hist", "norm_running", "norm_noise"} <= keys
    assert at.latex and "\\mu_{c}" in at.latex[0].value
    assert any("Checked against the real layer" in s.value for s in at.success)
    assert not at.error
    ns = _run_snippet(_code(at))
    assert abs(float(ns["manual"].detach()) - float(ns["real"].detach())) < 1e-5
    md = " ".join(m.value for m in at.markdown)
    assert "| quantity | by hand | the real layer |" in md
    assert "GroupNorm(1, C)" in md and "InstanceNorm2d(C, affine=True)" in md


@pytest.mark.parametrize("layer, controls", [
    ("BatchNorm1d", {"radio": {"norm_bn1d_view": ["sequence", "features"]}}),
    ("BatchNorm2d", {"checkbox": {"norm_track": [False]}, "radio": {"norm_mode": ["eval"]}}),
    ("LayerNorm", {"radio": {"norm_shape": ["H,W", "W", "C (channels last)", "C,H,W"]}}),
    ("GroupNorm", {"select_slider": {"norm_groups": [1, 3, 6]}}),
    ("InstanceNorm2d", {"radio": {"norm_mode": ["eval"]}, "checkbox": {"norm_track": [False]}}),
    ("RMSNorm", {"radio": {"norm_shape": ["W"]}, "select_slider": {"norm_eps": ["1e-05"]}}),
])
def test_each_layer_and_its_own_controls(at, layer, controls):
    at.selectbox(key="norm_layer").set_value(layer).run()
    _ok(at)
    assert at.query_params.get("norm_layer") in ([layer], layer) or layer == "BatchNorm2d"
    for kind, per_key in controls.items():
        for key, values in per_key.items():
            for v in values:
                getattr(at, kind)(key=key).set_value(v).run()
                _ok(at)
                assert not at.error, (key, v, [e.value for e in at.error])
                ns = _run_snippet(_code(at))
                gap = float(ns["manual"].detach()) - float(ns["real"].detach())
                assert abs(gap) < 1e-4, (key, v)


def test_common_layer_controls(at):
    for v in ("1e-08", "0.1", "1"):
        at.select_slider(key="norm_eps").set_value(v).run()
        _ok(at)
    assert "eps=1" in _code(at)
    at.checkbox(key="norm_random_affine").check().run()
    _ok(at)
    assert "uniform_(0.5, 1.5" in _code(at)
    at.checkbox(key="norm_affine").uncheck().run()
    _ok(at)
    assert "affine=False" in _code(at)
    assert "\\gamma" not in at.latex[0].value


def test_element_picker_and_layout(at):
    md_before = [m.value for m in at.markdown if "highlighted" in m.value][0]
    for key, v in (("norm_pick_n", 3), ("norm_pick_c", 5), ("norm_pick_h", 2),
                   ("norm_pick_w", 1)):
        at.number_input(key=key).set_value(v).run()
        _ok(at)
    assert "x[3, 5, 2, 1]" in _code(at)
    assert [m.value for m in at.markdown if "highlighted" in m.value][0] != md_before
    at.radio(key="norm_layout").set_value("paper").run()
    _ok(at)


def test_tensor_and_distribution_controls(at):
    for key, v in (("norm_n", 2), ("norm_c", 4), ("norm_h", 3), ("norm_w", 5)):
        at.slider(key=key).set_value(v).run()
        _ok(at)
    assert "N, C, H, W = 2, 4, 3, 5" in _code(at)
    for key, v in (("norm_shift", -2.0), ("norm_spread", 1.5), ("norm_out_frac", 0.1),
                   ("norm_out_size", 25.0)):
        at.slider(key=key).set_value(v).run()
        _ok(at)
    at.number_input(key="norm_seed").set_value(7).run()
    _ok(at)
    code = _code(at)
    assert "-2.0 * ch" in code and "< 0.1" in code and "* 25.0" in code and "seed=7" in code
    assert at.query_params["norm_seed"] in (["7"], "7")


def test_running_statistics_controls(at):
    at.radio(key="norm_mode").set_value("eval").run()
    for key, v in (("norm_steps", 5), ("norm_rs_batch", 2)):
        at.slider(key=key).set_value(v).run()
        _ok(at)
    at.select_slider(key="norm_momentum").set_value("None").run()
    _ok(at)
    assert "momentum=None" in _code(at) and "make_input(10, seed=1).split(2)" in _code(at)
    md = " ".join(m.value for m in at.markdown)
    assert "None (cumulative average)" in md and "after 5 training batches of 2" in md


def test_bad_settings_show_messages_not_tracebacks(run_page):
    at = run_page(PAGE, query={"norm_layer": "BatchNorm1d", "norm_n": "1"})
    assert any("Expected more than 1 value per channel" in e.value for e in at.error)
    at = run_page(PAGE, query={"norm_layer": "InstanceNorm2d", "norm_h": "1", "norm_w": "1"})
    assert any("more than 1 spatial element" in e.value for e in at.error)
    assert any("H·W > 1" in w.value for w in at.warning)  # the GroupNorm-limits tab
    at = run_page(PAGE, query={"norm_layer": "LayerNorm", "norm_shape": "W", "norm_w": "1"})
    assert any("single element" in w.value for w in at.warning)
    at = run_page(PAGE, query={"norm_rs_batch": "1", "norm_h": "1", "norm_w": "1"})
    assert any("more than one value per channel" in e.value for e in at.error)


def _errors(at) -> str:
    return " ".join(e.value for e in at.error)


def test_a_single_value_error_names_the_setting_that_caused_it(run_page):
    # eval mode: the warm-up batches fail, so N (already 4) is not the thing to change
    at = run_page(PAGE, query={"norm_layer": "BatchNorm1d", "norm_mode": "eval",
                               "norm_rs_batch": "1"})
    assert "Expected more than 1" in _errors(at)
    assert "raise *Batch size of those steps* (sidebar) to 2" in _errors(at)
    assert "N ≥ 2" not in _errors(at)
    # InstanceNorm fails in eval mode too: only H·W helps
    at = run_page(PAGE, query={"norm_layer": "InstanceNorm2d", "norm_mode": "eval",
                               "norm_h": "1", "norm_w": "1"})
    assert "make H·W > 1" in _errors(at)
    assert "eval mode with running statistics" not in _errors(at)
    # train mode: N is the fix; the Train vs eval tab's error names its own batch size
    at = run_page(PAGE, query={"norm_layer": "BatchNorm1d", "norm_n": "1"})
    assert "set N ≥ 2 (now 1)" in _errors(at)
    at = run_page(PAGE, query={"norm_rs_batch": "1", "norm_h": "1", "norm_w": "1"})
    assert "the sidebar's *Batch size of those steps* (1)" in _errors(at)


def test_two_element_sets_with_tiny_eps_pass_the_autograd_check(run_page):
    at = run_page(PAGE, query={"norm_layer": "LayerNorm", "norm_shape": "W", "norm_w": "2",
                               "norm_eps": "1e-08"})
    assert not at.error, _errors(at)
    assert any("Checked against the real layer" in s.value for s in at.success)


def _warnings(at) -> str:
    return " ".join(w.value for w in at.warning)


def test_edge_settings_are_explained_per_layer(run_page):
    at = run_page(PAGE, query={"norm_layer": "InstanceNorm2d", "norm_mode": "eval",
                               "norm_momentum": "None"})
    assert "never updates its running statistics" in _warnings(at)
    at = run_page(PAGE, query={"norm_layer": "BatchNorm2d", "norm_mode": "eval",
                               "norm_momentum": "None"})
    assert "never updates" not in _warnings(at)
    at = run_page(PAGE, query={"norm_layer": "RMSNorm", "norm_shape": "W", "norm_w": "1"})
    assert "the output is ±γ" in _warnings(at)
    assert "β" not in _warnings(at)  # RMSNorm has no shift


def test_deep_link_reproduces_the_view(run_page):
    at = run_page(PAGE, query={"norm_layer": "GroupNorm", "norm_groups": "3", "norm_pick_c": "4",
                               "norm_eps": "0.1"})
    assert at.selectbox(key="norm_layer").value == "GroupNorm"
    assert at.select_slider(key="norm_groups").value == 3
    assert "nn.GroupNorm(3, C, eps=0.1" in _code(at)
    assert "x[1, 4:6]" in _code(at)  # default n = 1, and channel 4 lies in group 4:6
    at = run_page(PAGE, query={"norm_layer": "NoSuchNorm", "norm_c": "banana"})
    assert at.selectbox(key="norm_layer").value == "BatchNorm2d"  # a mangled link falls back


def test_experiment_runs_only_on_the_button(at):
    assert any("Run experiment" in i.value for i in at.info)
    for key, v in (("norm_exp_depth", 2), ("norm_exp_epochs", 3)):
        at.slider(key=key).set_value(v).run()
    at.selectbox(key="norm_exp_act").set_value("relu").run()
    at.selectbox(key="norm_exp_opt").set_value("adam").run()
    at.select_slider(key="norm_exp_lr").set_value(0.003).run()
    at.select_slider(key="norm_exp_batch").set_value(64).run()
    at.number_input(key="norm_exp_seed").set_value(3).run()
    _ok(at)
    assert at.query_params["norm_exp_seed"] in (["3"], "3")
    assert "norm_exp_chart" not in {c.key for c in at.get("plotly_chart")}
    at.button(key="norm_exp_run").click().run()
    _ok(at)
    assert "norm_exp_chart" in {c.key for c in at.get("plotly_chart")}
    table = [m.value for m in at.markdown if "| run | final train loss" in m.value][0]
    for run in ("no normalization", "BatchNorm1d", "LayerNorm", "GroupNorm(4)"):
        assert f"| {run} |" in table
    assert table.count("| completed |") == 4
    at.slider(key="norm_n").set_value(3).run()  # another control: the result stays
    assert "norm_exp_chart" in {c.key for c in at.get("plotly_chart")}
    at.slider(key="norm_exp_depth").set_value(3).run()  # new settings: press again
    assert "norm_exp_chart" not in {c.key for c in at.get("plotly_chart")}


def test_page_reruns_quickly_after_warm_up():
    """Each control change (experiment excluded) re-renders in well under a second here."""
    import time

    at = make_app(PAGE).run()
    _ok(at)
    for layer in ("LayerNorm", "GroupNorm", "BatchNorm2d"):  # warm-up
        at.selectbox(key="norm_layer").set_value(layer).run()
    times = []
    for layer in ("LayerNorm", "GroupNorm", "InstanceNorm2d"):
        at.number_input(key="norm_pick_c").set_value(len(times) + 1).run()
        t0 = time.perf_counter()
        at.selectbox(key="norm_layer").set_value(layer).run()
        times.append(time.perf_counter() - t0)
        _ok(at)
    # 200 ms is the target on an idle 2-core CPU; the bound leaves room for a busy test machine
    assert sorted(times)[1] < 1.0, times


def test_the_open_tab_lives_in_the_link(run_page):
    at = run_page(PAGE, query={"norm_tab": "Train vs eval"})
    assert at.query_params["norm_tab"] in (["Train vs eval"], "Train vs eval")
    assert not at.toast
    at = run_page(PAGE, query={"norm_tab": "No such tab"})
    assert any("names no tab here" in t.value for t in at.toast)
