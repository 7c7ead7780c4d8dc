"""The Transposed conv tab: ConvTranspose2d's output size and its four-step equivalence."""

from __future__ import annotations

import streamlit as st

from core.tconv_arith import TConvSpec, tconv_report
from core.tconv_steps import tconv_steps, tconv_steps_code, transposed_pads
from ui import state
from ui.conv_step_charts import MAX_STEP_CELLS, tconv_figure
from ui.conv_widgets import axis_pair, cached, cell_picker, fix_setter, show_report
from ui.page import code_expander

DEFAULTS = dict(size=(3, 4), kernel=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1),
                dilation=(1, 1))
FIELDS = (("size", "conv_t_"), ("kernel", "conv_t_k"), ("stride", "conv_t_s"),
          ("padding", "conv_t_p"), ("output_padding", "conv_t_op"), ("dilation", "conv_t_d"))

report_of = cached(tconv_report)
steps_of = cached(tconv_steps)


def fix_keys() -> dict:
    keys: dict = {(f, i): p + a for f, p in FIELDS for i, a in enumerate("hw")}
    keys.update({("in_channels", None): "conv_t_cin", ("out_channels", None): "conv_t_cout",
                 ("groups", None): "conv_t_groups"})
    return keys


def controls() -> TConvSpec:
    d = DEFAULTS
    values = dict(
        size=axis_pair("Input", "conv_t_", d["size"], 1),
        kernel=axis_pair("Kernel", "conv_t_k", d["kernel"], 1),
        stride=axis_pair("Stride", "conv_t_s", d["stride"], 1),
        padding=axis_pair("Padding", "conv_t_p", d["padding"], 0),
        output_padding=axis_pair("output_padding", "conv_t_op", d["output_padding"], 0,
                                 help="Extra cells on the bottom / right: picks one of the "
                                      "input sizes a strided conv would map to the same size."),
        dilation=axis_pair("Dilation", "conv_t_d", d["dilation"], 1))
    cols = st.columns(3)
    with cols[0]:
        c_in = state.number("in_channels", 1, key="conv_t_cin", min_value=1, max_value=1024)
    with cols[1]:
        c_out = state.number("out_channels", 1, key="conv_t_cout", min_value=1, max_value=1024)
    with cols[2]:
        groups = state.number("groups", 1, key="conv_t_groups", min_value=1, max_value=1024)
    return TConvSpec(**values, in_channels=int(c_in), out_channels=int(c_out),
                     groups=int(groups))


def render_transposed() -> None:
    """Controls left; shapes, formula and the four steps right."""
    st.markdown("A transposed convolution maps each input value through the kernel onto a "
                "larger grid. It equals an ordinary convolution after four steps: **insert** "
                "s − 1 zeros between input values, **pad** d(k − 1) − p on each side "
                "(output_padding extra at the bottom / right), **flip** the kernel, "
                "**convolve** with stride 1.")
    left, right = st.columns([1, 2], gap="large")
    with left:
        spec = controls()
    report = report_of(spec)
    with right:
        show_report(report, "conv_t", fix_setter(fix_keys()))
    if report.ok and min(report.out_shape[2:]) > 0:
        _four_steps(spec, report.out_shape[2:])
    code_expander(tconv_steps_code(spec))


def _four_steps(spec: TConvSpec, out_hw: tuple[int, ...]) -> None:
    top, bottom, left, right = transposed_pads(spec)
    grid_h = (spec.size[0] - 1) * spec.stride[0] + 1 + top + bottom
    grid_w = (spec.size[1] - 1) * spec.stride[1] + 1 + left + right
    work = out_hw[0] * out_hw[1] * spec.out_channels * spec.in_channels * \
        spec.kernel[0] * spec.kernel[1] // spec.groups
    if max(grid_h, grid_w) > MAX_STEP_CELLS or work > 20_000_000:
        st.info(f"The four-step picture is drawn for grids up to {MAX_STEP_CELLS} cells a side "
                f"(this one is {grid_h}×{grid_w}); the size formula above still holds.")
        return
    steps = steps_of(spec)
    i, j = cell_picker("conv_t_", *out_hw)
    st.plotly_chart(tconv_figure(steps, i, j, spec.dilation), theme="streamlit",
                    key="conv_t_steps")
    verdict = "equal" if steps.max_abs_diff == 0 else f"max |difference| {steps.max_abs_diff:g}"
    st.caption(
        f"Whole-number inputs and weights, channel 0 shown. Step 4's output and "
        f"`nn.ConvTranspose2d`'s are **{verdict}** for every output channel "
        f"({spec.out_channels})."
        f" Orange: the cells output ({i}, {j}) reads in step 4 (the flipped kernel, "
        f"dilation {spec.dilation}). A negative pad crops: p > d(k − 1) removes border cells.")
