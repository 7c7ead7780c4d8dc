"""The Output size and Groups & cost tabs: one Conv1d / Conv2d layer, set by the same widgets
(same keys) in whichever of the two tabs is open."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from core.conv_arith import PADDING_MODES, ConvSpec, conv_code, conv_macs, conv_report
from core.conv_cost import conv_params, receptive_field, torch_counts, variants
from core.conv_visual import conv_grid, receptive_region
from ui import state
from ui.conv_channel_charts import connectivity
from ui.conv_charts import sliding_window
from ui.conv_widgets import (
    axis_pair,
    cached,
    cell_picker,
    fix_setter,
    human,
    picture_skipped,
    show_report,
    unread_note,
)
from ui.page import code_expander

PAD_KINDS = ("numbers", "same", "valid")
CONV_DEFAULTS = dict(size=(7, 9), kernel=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(1, 1),
                     in_channels=4, out_channels=8, groups=2)


def conv_fix_keys(dims: int) -> dict:
    """(field, axis) -> widget key, for the one-click fixes."""
    axes = ("h", "w") if dims == 2 else ("w",)
    keys: dict = {}
    for field, prefix in (("size", "conv_"), ("kernel", "conv_k"), ("stride", "conv_s"),
                          ("padding", "conv_p"), ("dilation", "conv_d")):
        for i, a in enumerate(axes):
            keys[(field, i)] = prefix + a
    keys.update({("in_channels", None): "conv_cin", ("out_channels", None): "conv_cout",
                 ("groups", None): "conv_groups", ("padding_mode", None): "conv_pmode",
                 ("padding", "kind"): "conv_pad"})
    return keys


def spatial_controls() -> dict:
    """Input size, kernel, stride, padding, dilation and padding mode, per axis."""
    d = CONV_DEFAULTS
    dims = 1 if state.radio("Layer", ["Conv2d", "Conv1d"], "Conv2d", key="conv_dim",
                            horizontal=True) == "Conv1d" else 2
    size = axis_pair("Input", "conv_", d["size"], 1, dims=dims)
    kernel = axis_pair("Kernel", "conv_k", d["kernel"], 1, dims=dims)
    stride = axis_pair("Stride", "conv_s", d["stride"], 1, dims=dims)
    kind = state.radio("Padding", PAD_KINDS, "numbers", key="conv_pad", horizontal=True,
                       help="'same' keeps the size (stride 1 only); 'valid' means no padding.")
    padding: tuple[int, ...] | str = kind
    if kind == "numbers":
        padding = axis_pair("Padding", "conv_p", d["padding"], 0, dims=dims)
    dilation = axis_pair("Dilation", "conv_d", d["dilation"], 1, dims=dims)
    mode = state.selectbox("padding_mode", PADDING_MODES, "zeros", key="conv_pmode",
                           help="What the padding cells hold: zeros, or copies of the input.")
    return dict(size=size, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                padding_mode=mode)


def channel_controls() -> dict:
    """in_channels, out_channels and groups in one row."""
    d = CONV_DEFAULTS
    cols = st.columns(3)
    with cols[0]:
        c_in = state.number("in_channels", d["in_channels"], key="conv_cin", min_value=1,
                            max_value=4096, step=1)
    with cols[1]:
        c_out = state.number("out_channels", d["out_channels"], key="conv_cout", min_value=1,
                             max_value=4096, step=1)
    with cols[2]:
        groups = state.number("groups", d["groups"], key="conv_groups", min_value=1,
                              max_value=4096, step=1,
                              help="Split the channels into independent convolutions.")
    return dict(in_channels=int(c_in), out_channels=int(c_out), groups=int(groups))


report_of = cached(conv_report)
grid_of = cached(conv_grid)
counts_of = cached(torch_counts)


def render_output_size() -> None:
    """Output size tab: controls, shapes, formula, the sliding picture, code."""
    left, right = st.columns([1, 2], gap="large")
    with left:
        spec = ConvSpec(**spatial_controls(), **channel_controls())
    report = report_of(spec)
    with right:
        show_report(report, "conv", fix_setter(conv_fix_keys(spec.dims)))
    if report.ok and not picture_skipped(report.out_shape, spec.kernel):
        grid = grid_of(spec)
        i, j = cell_picker("conv_", *grid.out_shape)
        st.plotly_chart(sliding_window(grid, i, j), theme="streamlit", key="conv_grid")
        rows, cols = receptive_region(grid, i, j)
        rf = " × ".join(str(v) for v in receptive_field(spec))
        where = (f"Output position {j} reads input positions {cols.start}–{cols.stop - 1}"
                 if spec.dims == 1 else
                 f"Output cell ({i}, {j}) reads input rows {rows.start}–{rows.stop - 1}, "
                 f"columns {cols.start}–{cols.stop - 1}")
        st.caption(
            f"{where} (orange; the dotted box is the kernel "
            f"window, its gaps are the dilation). Receptive field d(k−1)+1 = {rf}. Grey "
            "cells are padding; hover them to see what they hold. ▶ Play slides the window."
            + unread_note(grid, spec.dims))
    code_expander(conv_code(spec))


def render_groups() -> None:
    """Groups & cost tab: channel connectivity and the cost of the same layer."""
    st.markdown("Grouped convolution splits the channels into `groups` independent convolutions:"
                " each output channel only reads the input channels of its own group. "
                "`groups = in_channels` is depthwise.")
    spec_parts = channel_controls()
    with st.expander("Kernel, stride, padding and input size (shared with Output size)"):
        spec = ConvSpec(**spatial_controls(), **spec_parts)
    report = report_of(spec)
    if not report.ok:
        show_report(report, "conv_g", fix_setter(conv_fix_keys(spec.dims)))
        return
    params, macs = counts_of(spec)
    cols = st.columns(4)
    cols[0].metric("Parameters", human(conv_params(spec)),
                   help=f"C_out·(C_in/g)·k + bias; PyTorch counts {params:,}.")
    cols[1].metric("Multiply-adds", human(conv_macs(spec)),
                   help=f"outputs · C_in/g · k per output; FlopCounterMode/2 gives {macs:,}.")
    cols[2].metric("Receptive field", " × ".join(str(v) for v in receptive_field(spec)))
    cols[3].metric("Weight shape", "(" + ", ".join(
        str(v) for v in (spec.out_channels, spec.in_channels // spec.groups, *spec.kernel)) + ")")
    links = connectivity(spec.in_channels, spec.out_channels, spec.groups, math.prod(spec.kernel))
    st.plotly_chart(links, theme="streamlit", key="conv_links")
    table = pd.DataFrame([dict(layer=v.name, groups=str(v.groups) if v.groups else "dw + 1×1",
                               parameters=v.params, multiply_adds=v.macs, how=v.note)
                          for v in variants(spec)])
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(f"Checked against PyTorch: {params:,} parameters from the module, "
               f"{macs:,} multiply-adds from torch.utils.flop_counter.")
    code_expander(conv_code(spec) + "print(sum(p.numel() for p in layer.parameters()))\n")
