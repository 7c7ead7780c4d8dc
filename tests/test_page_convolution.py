"""AppTest of the convolution page: every control by key, on every tab (tab chosen by URL)."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from PIL import Image

from tests.conftest import make_app
from tests.test_conv_arith import conv_specs

PAGE = "pages/convolution.py"


def app(tab: str, **query):
    """The page run once with `tab` open (and extra query params)."""
    at = make_app(PAGE, {"conv_tab": tab, **query}).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label))


def rerun(at):
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def errors(at) -> str:
    return " ".join(e.value for e in at.error).lower()


# --------------------------------------------------------------------------- Output size
def test_default_output_size_agrees_with_torch():
    at = app("Output size")
    assert metric(at, "Output by the formula") == "(1, 8, 4, 5)"
    assert metric(at, "Output of nn.Conv2d") == "(1, 8, 4, 5)"
    assert any("agree" in s.value for s in at.success)
    assert any(r"\rfloor + 1" in x.value for x in at.latex)
    assert any("nn.Conv2d(4, 8" in c.value for c in at.code)


@pytest.mark.parametrize("key, value, expect", [
    ("conv_h", 11, "(1, 8, 6, 5)"), ("conv_w", 4, "(1, 8, 4, 2)"),
    ("conv_kh", 5, "(1, 8, 3, 5)"), ("conv_kw", 1, "(1, 8, 4, 6)"),
    ("conv_sh", 1, "(1, 8, 7, 5)"), ("conv_sw", 3, "(1, 8, 4, 3)"),
    ("conv_ph", 0, "(1, 8, 3, 5)"), ("conv_pw", 3, "(1, 8, 4, 7)"),
    ("conv_dh", 2, "(1, 8, 3, 5)"), ("conv_dw", 3, "(1, 8, 4, 3)"),
    ("conv_cout", 6, "(1, 6, 4, 5)"), ("conv_cin", 2, "(1, 8, 4, 5)"),
])
def test_each_number_changes_the_shape(key, value, expect):
    at = app("Output size")
    at.number_input(key=key).set_value(value)
    rerun(at)
    assert metric(at, "Output by the formula") == expect
    assert metric(at, "Output of nn.Conv2d") == expect
    assert at.query_params[key] == str(value)  # the URL remembers it


def test_conv1d_same_valid_and_padding_mode():
    at = app("Output size")
    at.radio(key="conv_dim").set_value("Conv1d")
    rerun(at)
    assert metric(at, "Output by the formula") == "(1, 8, 5)"
    assert metric(at, "Output of nn.Conv1d") == "(1, 8, 5)"
    at.radio(key="conv_pad").set_value("valid")
    rerun(at)
    assert metric(at, "Output by the formula") == "(1, 8, 4)"
    at.number_input(key="conv_sw").set_value(1)
    at.radio(key="conv_pad").set_value("same")
    at.selectbox(key="conv_pmode").set_value("circular")
    rerun(at)
    assert metric(at, "Output by the formula") == "(1, 8, 9)"
    assert any("p_{\\text{left}}" in x.value for x in at.latex)


def test_invalid_config_explains_and_one_click_fix_repairs():
    at = app("Output size", conv_kh="10")
    assert metric(at, "Output by the formula") == "—"
    assert "output height must be at least 1" in errors(at)
    assert any("PyTorch's own message" in c.value for c in at.caption)
    fix = next(b for b in at.button if b.key.startswith("conv_fix_") and "kernel" in b.label)
    fix.click()
    rerun(at)
    assert not at.error and metric(at, "Output by the formula") == "(1, 8, 1, 5)"
    assert at.number_input(key="conv_kh").value == 9


@pytest.mark.parametrize("query, words", [
    ({"conv_groups": "3"}, "divisible by groups"),
    ({"conv_pad": "same"}, "only works with stride 1"),
    ({"conv_pmode": "reflect", "conv_ph": "7"}, "reflect padding must be smaller"),
])
def test_invalid_configs_get_a_message_not_a_traceback(query, words):
    at = app("Output size", **query)
    assert words in errors(at)
    at.button(key="conv_fix_0_0").click()
    rerun(at)
    assert words not in errors(at)


def test_cell_picker_and_step_button_move_the_window():
    at = app("Output size")
    at.slider(key="conv_oi").set_value(2)
    at.slider(key="conv_oj").set_value(4)
    rerun(at)
    assert any("Output cell (2, 4) reads input rows 3–5, columns 7–8" in c.value
               for c in at.caption)
    at.button(key="conv_step").click()
    rerun(at)
    assert at.slider(key="conv_oi").value == 3 and at.slider(key="conv_oj").value == 0


# --------------------------------------------------------------------------- other tabs
def test_transposed_tab_controls():
    at = app("Transposed conv")
    assert metric(at, "Output by the formula") == "(1, 1, 6, 8)"
    assert any("**equal**" in c.value for c in at.caption)
    for key, value in [("conv_t_h", 4), ("conv_t_w", 5), ("conv_t_kh", 4), ("conv_t_kw", 2),
                       ("conv_t_sh", 3), ("conv_t_sw", 1), ("conv_t_ph", 0), ("conv_t_pw", 0),
                       ("conv_t_oph", 2), ("conv_t_opw", 0), ("conv_t_dh", 1), ("conv_t_dw", 2),
                       ("conv_t_cin", 2), ("conv_t_cout", 4), ("conv_t_groups", 2)]:
        at.number_input(key=key).set_value(value)
    rerun(at)
    # H: (4-1)·3 - 0 + 1·3 + 2 + 1 = 15;  W: (5-1)·1 - 0 + 2·1 + 0 + 1 = 7
    assert metric(at, "Output of nn.ConvTranspose2d") == "(1, 4, 15, 7)"
    at.slider(key="conv_t_oi").set_value(14)
    at.slider(key="conv_t_oj").set_value(6)
    at.button(key="conv_t_step").click()
    rerun(at)
    assert any("**equal**" in c.value for c in at.caption)
    at.number_input(key="conv_t_oph").set_value(3)
    rerun(at)
    assert "output_padding height must be smaller" in errors(at)


def test_pooling_tab_controls():
    at = app("Pooling")
    assert metric(at, "Output of nn.MaxPool2d") == "(1, 1, 3, 4)"
    at.toggle(key="conv_pool_ceil").set_value(True)
    rerun(at)
    assert metric(at, "Output of nn.MaxPool2d") == "(1, 1, 4, 4)"
    for key, value in [("conv_pool_h", 9), ("conv_pool_w", 9), ("conv_pool_kh", 3),
                       ("conv_pool_kw", 3), ("conv_pool_sh", 2), ("conv_pool_sw", 3),
                       ("conv_pool_ph", 1), ("conv_pool_pw", 1), ("conv_pool_dh", 2),
                       ("conv_pool_dw", 1)]:
        at.number_input(key=key).set_value(value)
    rerun(at)
    assert metric(at, "Output by the formula") == metric(at, "Output of nn.MaxPool2d")
    at.slider(key="conv_pool_oi").set_value(2)
    at.slider(key="conv_pool_oj").set_value(1)
    at.button(key="conv_pool_step").click()
    rerun(at)
    at.radio(key="conv_pool_type").set_value("AvgPool2d")
    rerun(at)
    at.toggle(key="conv_pool_cip").set_value(False)
    rerun(at)
    assert metric(at, "Output by the formula") == metric(at, "Output of nn.AvgPool2d")
    at.number_input(key="conv_pool_ph").set_value(2)
    rerun(at)
    assert "at most half the kernel" in errors(at)


def test_adaptive_pooling_controls():
    at = app("Pooling", conv_pool_type="AdaptiveMaxPool2d")
    assert metric(at, "Output of nn.AdaptiveMaxPool2d") == "(1, 1, 3, 4)"
    at.number_input(key="conv_ad_oh").set_value(5)
    at.number_input(key="conv_ad_ow").set_value(2)
    rerun(at)
    assert metric(at, "Output of nn.AdaptiveMaxPool2d") == "(1, 1, 5, 2)"
    at.slider(key="conv_ad_oi").set_value(4)
    at.slider(key="conv_ad_oj").set_value(1)
    rerun(at)
    assert any(r"\lceil \frac{5\cdot 7}{5}" in x.value for x in at.latex)
    at.button(key="conv_ad_step").click()
    rerun(at)
    assert at.slider(key="conv_ad_oi").value == 0


def test_upsampling_tab_controls():
    at = app("Upsampling")
    assert metric(at, "Output of nn.Upsample") == "(1, 1, 8, 7)"
    at.number_input(key="conv_up_sfh").set_value(0.1)
    rerun(at)
    assert "must be at least 1" in errors(at)
    at.number_input(key="conv_up_sfh").set_value(1.25)
    at.number_input(key="conv_up_sfw").set_value(3.0)
    at.number_input(key="conv_up_h").set_value(6)
    at.number_input(key="conv_up_w").set_value(3)
    rerun(at)
    assert metric(at, "Output of nn.Upsample") == "(1, 1, 7, 9)"
    at.radio(key="conv_up_by").set_value("size")
    rerun(at)
    at.number_input(key="conv_up_oh").set_value(5)
    at.number_input(key="conv_up_ow").set_value(2)
    at.selectbox(key="conv_up_mode").set_value("bicubic")
    at.toggle(key="conv_up_align").set_value(True)
    rerun(at)
    assert metric(at, "Output of nn.Upsample") == "(1, 1, 5, 2)"
    at.selectbox(key="conv_up_mode").set_value("nearest")
    rerun(at)
    assert "align_corners only applies" in errors(at)


def test_groups_tab_controls():
    at = app("Groups & cost")
    assert metric(at, "Parameters") == "152"
    at.number_input(key="conv_groups").set_value(4)
    rerun(at)
    assert metric(at, "Parameters") == "80"
    at.number_input(key="conv_cin").set_value(8)
    at.number_input(key="conv_cout").set_value(16)
    at.number_input(key="conv_kh").set_value(5)
    rerun(at)
    assert metric(at, "Weight shape") == "(16, 2, 5, 3)"
    at.number_input(key="conv_groups").set_value(3)
    rerun(at)
    assert "divisible by groups" in errors(at)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


def test_real_image_tab_controls():
    at = app("Real image")
    assert at.get("plotly_chart")
    at.number_input(key="conv_img_digit").set_value(7)
    at.selectbox(key="conv_img_kernel").set_value("gaussian blur")
    at.radio(key="conv_img_ksize").set_value(5)
    at.radio(key="conv_img_stride").set_value(2)
    rerun(at)
    assert "needs stride 1" in errors(at)
    at.radio(key="conv_img_pad").set_value("valid")
    rerun(at)
    assert not at.error
    at.session_state["conv_img_edit"] = {"edited_rows": {0: {"0": 7.0}}, "added_rows": [],
                                         "deleted_rows": []}
    rerun(at)
    assert at.query_params["conv_img_k"].startswith("7,")
    at.radio(key="conv_img_src").set_value("photo")
    rerun(at)
    at.slider(key="conv_img_max").set_value(64)
    rerun(at)
    at.radio(key="conv_img_src").set_value("upload")
    rerun(at)
    assert any("Choose a picture" in i.value for i in at.info)
    at.file_uploader(key="conv_img_upload").set_value(("red.png", _png(), "image/png"))
    rerun(at)
    assert any("red.png" in c.value for c in at.caption)
    at.file_uploader(key="conv_img_upload").set_value(("bad.png", b"not a picture",
                                                       "image/png"))
    rerun(at)
    assert "not a picture" in errors(at)


def test_layer_stack_tab_shows_the_tracer():
    at = app("Layer stack")
    assert at.selectbox(key="trace_preset") is not None


def test_snippets_on_every_tab_run():
    from tests.test_conv_arith import run_snippet

    for tab in ("Output size", "Transposed conv", "Pooling", "Upsampling", "Groups & cost"):
        at = app(tab)
        out = run_snippet(at.code[0].value)
        assert out.strip(), tab


def test_same_padding_fix_switches_to_numbers():
    at = app("Output size", conv_pad="same")
    numbers = next(b for b in at.button if "padding → numbers" in b.label)
    numbers.click()
    rerun(at)
    assert at.radio(key="conv_pad").value == "numbers" and not at.error
    assert metric(at, "Output of nn.Conv2d") == "(1, 8, 4, 5)"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_specs())
def test_page_explains_exactly_when_torch_raises(spec):
    """Random configurations through the URL: an error box appears iff the real layer raises."""
    from tests.test_conv_arith import torch_conv_shape

    axes = ("h", "w") if spec.dims == 2 else ("w",)
    query = {"conv_dim": f"Conv{spec.dims}d", "conv_cin": spec.in_channels,
             "conv_cout": spec.out_channels, "conv_groups": spec.groups,
             "conv_pmode": spec.padding_mode,
             "conv_pad": spec.padding if isinstance(spec.padding, str) else "numbers"}
    for field, prefix in (("size", "conv_"), ("kernel", "conv_k"), ("stride", "conv_s"),
                          ("dilation", "conv_d")) + ((("padding", "conv_p"),)
                                                     if not isinstance(spec.padding, str)
                                                     else ()):
        for a, v in zip(axes, getattr(spec, field), strict=True):
            query[prefix + a] = v
    at = app("Output size", **{k: str(v) for k, v in query.items()})
    real = torch_conv_shape(spec)
    assert bool(at.error) == (real is None), (spec, errors(at))
    if real is not None:
        assert metric(at, f"Output of nn.Conv{spec.dims}d") == str(real)


@pytest.mark.parametrize("query", [
    {"conv_h": "16384", "conv_w": "16384", "conv_kh": "8192", "conv_kw": "8192"},
    {"conv_tab": "Pooling", "conv_pool_h": "16384", "conv_pool_w": "16384", "conv_pool_kh": "8192",
     "conv_pool_kw": "8192", "conv_pool_sh": "1", "conv_pool_sw": "1"},
])
def test_a_huge_kernel_skips_the_picture_with_a_note(query):
    """8192-wide windows sliding over 16384 cells list 67 million taps per axis: the page
    says it won't draw them (it once ran out of memory) and still reports the sizes."""
    at = make_app(PAGE, query).run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    assert any("window taps" in i.value for i in at.info)


def test_a_huge_kernel_that_fits_once_draws_only_what_is_visible():
    at = make_app(PAGE, {"conv_h": "16384", "conv_w": "16384", "conv_kh": "16384",
                         "conv_kw": "16384"}).run(timeout=120)
    assert not at.exception
    fig = [c for c in at.get("plotly_chart") if c.proto.id and "conv_grid" in c.proto.id][0]
    taps = json.loads(fig.proto.spec)["data"][2]  # the taps read: 64 × 64 visible, not 16384²
    assert len(taps["x"]) <= 6 * 64 * 64


def test_a_two_change_fix_button_sets_both_widgets():
    at = app("Pooling", conv_pool_h="2", conv_pool_w="8", conv_pool_kh="3", conv_pool_kw="2",
             conv_pool_sh="1", conv_pool_sw="1", conv_pool_ph="3", conv_pool_pw="0",
             conv_pool_dh="3", conv_pool_dw="1")
    assert "at most half the kernel" in errors(at)
    fix = next(b for b in at.button if b.label == "padding height → 1 and kernel height → 2")
    fix.click()
    rerun(at)
    assert not at.error
    assert at.number_input(key="conv_pool_ph").value == 1
    assert at.number_input(key="conv_pool_kh").value == 2
