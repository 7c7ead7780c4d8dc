"""The Pooling tab (Max / Avg / adaptive) and the Upsampling tab (nn.Upsample, F.interpolate)."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from core.conv_visual import adaptive_grid, avg_divisors, has_overhang, pool_grid
from core.pool_arith import (
    AdaptiveSpec,
    PoolSpec,
    adaptive_code,
    adaptive_report,
    adaptive_window_latex,
    pool_code,
    pool_report,
)
from core.upsample_arith import (
    MODES,
    UpsampleSpec,
    interpolate,
    source_coords,
    upsample_code,
    upsample_report,
)
from ui import state
from ui.conv_charts import sliding_window
from ui.conv_step_charts import pattern, upsample_figure
from ui.conv_widgets import (
    axis_pair,
    cached,
    cell_picker,
    fix_setter,
    picture_skipped,
    show_report,
    unread_note,
)
from ui.page import code_expander

POOLS = ("MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d")
POOL_KEYS = {(f, i): p + a for f, p in (("size", "conv_pool_"), ("kernel", "conv_pool_k"),
                                        ("stride", "conv_pool_s"), ("padding", "conv_pool_p"),
                                        ("dilation", "conv_pool_d"))
             for i, a in enumerate("hw")}
UP_KEYS = {**{("size", i): "conv_up_" + a for i, a in enumerate("hw")},
           **{("scale", i): "conv_up_sf" + a for i, a in enumerate("hw")},
           **{("out_size", i): "conv_up_o" + a for i, a in enumerate("hw")},
           ("align_corners", None): "conv_up_align", ("mode", None): "conv_up_mode"}

pool_report_of = cached(pool_report)
pool_grid_of = cached(pool_grid)
adaptive_report_of = cached(adaptive_report)
adaptive_grid_of = cached(adaptive_grid)
upsample_report_of = cached(upsample_report)


def render_pooling() -> None:
    """Max / Avg pooling with ceil_mode, or an adaptive pool; the window picture."""
    left, right = st.columns([1, 2], gap="large")
    with left:
        kind = state.radio("Layer", POOLS, "MaxPool2d", key="conv_pool_type", horizontal=True)
        size = axis_pair("Input", "conv_pool_", (7, 8), 1)
        if kind.startswith("Adaptive"):
            out = axis_pair("output_size", "conv_ad_o", (3, 4), 1)
            spec_a = AdaptiveSpec("avg" if "Avg" in kind else "max", size, out)
        else:
            spec_p = _pool_controls(kind, size)
    if kind.startswith("Adaptive"):
        _adaptive(spec_a, right)
    else:
        _pool(spec_p, right)


def _pool_controls(kind: str, size: tuple[int, ...]) -> PoolSpec:
    kernel = axis_pair("Kernel", "conv_pool_k", (2, 2), 1)
    stride = axis_pair("Stride", "conv_pool_s", (2, 2), 1,
                       help="nn.MaxPool2d's default stride is the kernel size.")
    padding = axis_pair("Padding", "conv_pool_p", (0, 0), 0,
                        help="At most half the kernel. Max pooling pads with −∞.")
    dilation = (1, 1)
    if kind == "MaxPool2d":
        dilation = axis_pair("Dilation", "conv_pool_d", (1, 1), 1)
    ceil = state.toggle("ceil_mode", False, key="conv_pool_ceil",
                        help="Round up: keep a last, partial window.")
    include = True
    if kind == "AvgPool2d":
        include = state.toggle("count_include_pad", True, key="conv_pool_cip",
                               help="Divide by the window size including padding cells.")
    return PoolSpec("max" if kind == "MaxPool2d" else "avg", size, kernel, stride, padding,
                    dilation, ceil, include)


def _pool(spec: PoolSpec, right) -> None:
    report = pool_report_of(spec)
    with right:
        show_report(report, "conv_pool", fix_setter(POOL_KEYS))
    if report.ok and not picture_skipped(report.out_shape, spec.kernel):
        grid = pool_grid_of(spec)
        divisor = avg_divisors(spec)[0] if spec.kind == "avg" else None
        i, j = cell_picker("conv_pool_", *grid.out_shape)
        st.plotly_chart(sliding_window(grid, i, j, out_values=divisor, out_label="÷"),
                        theme="streamlit", key="conv_pool_grid")
        extra = (" Output cells show AvgPool2d's divisor: padding counts when "
                 "count_include_pad is on, cells beyond the padding never do."
                 if spec.kind == "avg" else " Max pooling ignores padding (it pads with −∞).")
        pink = ("Pink cells lie beyond the padding: only ceil_mode's last window reaches "
                "them, and it must start inside the input or the left padding. "
                if has_overhang(grid) else "")
        st.caption(pink + extra.lstrip() + unread_note(grid))
    code_expander(pool_code(spec))


def _adaptive(spec: AdaptiveSpec, right) -> None:
    report = adaptive_report_of(spec)
    keys = {(f, i): p + a for f, p in (("size", "conv_pool_"), ("out", "conv_ad_o"))
            for i, a in enumerate("hw")}
    with right:
        show_report(report, "conv_ad", fix_setter(keys))
    if report.ok:
        grid = adaptive_grid_of(spec)
        i, j = cell_picker("conv_ad_", *grid.out_shape)
        st.latex(adaptive_window_latex("H", spec.size[0], spec.out[0], i))
        st.latex(adaptive_window_latex("W", spec.size[1], spec.out[1], j))
        st.plotly_chart(sliding_window(grid, i, j), theme="streamlit", key="conv_ad_grid")
        st.caption("Each output cell pools its own window; windows can differ in size and "
                   "overlap when the input does not divide evenly.")
    code_expander(adaptive_code(spec))


def _upsample_controls() -> UpsampleSpec:
    size = axis_pair("Input", "conv_up_", (4, 5), 1)
    mode = state.selectbox("mode", MODES, "bilinear", key="conv_up_mode")
    by = state.radio("Output given by", ["scale_factor", "size"], "scale_factor",
                     key="conv_up_by", horizontal=True)
    if by == "size":
        out = axis_pair("size", "conv_up_o", (8, 7), 1)
        scale = None
    else:
        out = None
        cols = st.columns(2)
        with cols[0]:
            sh = state.number("scale_factor height", 2.0, key="conv_up_sfh", min_value=0.01,
                              max_value=64.0, step=0.25, format="%.4g")
        with cols[1]:
            sw = state.number("scale_factor width", 1.5, key="conv_up_sfw", min_value=0.01,
                              max_value=64.0, step=0.25, format="%.4g")
        scale = (float(sh), float(sw))
    align = state.toggle("align_corners", False, key="conv_up_align",
                         help="Only for bilinear / bicubic: corner pixels of input and output "
                              "coincide.")
    return UpsampleSpec(size, mode, out, scale, align)


@st.cache_data(max_entries=32, show_spinner=False)
def _upsampled(spec: UpsampleSpec) -> tuple[np.ndarray, np.ndarray]:
    before = pattern(*spec.size)
    after = interpolate(spec, torch.tensor(before, dtype=torch.float32)[None, None])
    return before, after[0, 0].clamp(0, 1).numpy()


def render_upsampling() -> None:
    """nn.Upsample / F.interpolate: size, coordinates and the result on a pattern."""
    left, right = st.columns([1, 2], gap="large")
    with left:
        spec = _upsample_controls()
    report = upsample_report_of(spec)
    with right:
        show_report(report, "conv_up", fix_setter(UP_KEYS))
    if report.ok and min(report.out_shape[2:]) > 0:
        h, w = report.out_shape[2:]
        maps = (None, None)
        if max(h, w, *spec.size) <= 512:
            maps = _upsampled(spec)
        fig = upsample_figure(source_coords(spec, 0), source_coords(spec, 1), *spec.size, *maps)
        st.plotly_chart(fig, theme="streamlit", key="conv_up_chart")
        st.caption("Left: the input coordinate each output index samples (area: the centre "
                   "of its window). align_corners=True pins the first and last pixels; "
                   "with a scale_factor PyTorch steps by 1/scale_factor, not by "
                   "input/output size. Right: the real F.interpolate on a checkerboard.")
    code_expander(upsample_code(spec))
