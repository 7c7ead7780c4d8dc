"""The Convolution page's "Layer-stack shape tracer" section: `render_tracer()` draws all of it.

State: the preset (`trace_preset`), the input shape (`trace_input`) and the stack in compact
form (`trace_stack`) live in the URL; each is left out while it equals the preset's.
"""

from __future__ import annotations

import streamlit as st

from core.shape_explain import Problem
from core.shape_presets import DEFAULT_PRESET, SHAPE_PRESETS
from core.shape_text import encode_stack, parse_stack
from core.shape_trace import Trace, parse_shape, trace
from ui import state
from ui.page import code_expander
from ui.trace_charts import shape_profile
from ui.trace_table import (
    LAYER,
    ORDER,
    SETTINGS,
    column_config,
    frame_stack,
    reference_frame,
    result_frame,
    stack_frame,
)

STACK, BASE, VER = "trace_stack", "_trace_base", "_trace_version"
NAMES = list(SHAPE_PRESETS)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_trace(stack: str, shape: tuple[int, ...]) -> Trace:
    """The trace of a stack (pure, so one result serves every rerun and every user)."""
    return trace(parse_stack(stack), shape)


def _shape_text(shape: tuple[int, ...]) -> str:
    return ", ".join(str(v) for v in shape)


def _parses(text: str) -> bool:
    try:
        return bool(parse_stack(text))
    except ValueError:
        return False


def _reset_table(stack: str, shape: tuple[int, ...] | None = None) -> None:
    """Start the editor afresh from `stack` (a new version gives it a new identity)."""
    st.session_state[STACK] = st.session_state[BASE] = stack
    st.session_state[VER] = st.session_state.get(VER, 0) + 1
    if shape is not None:
        st.session_state["trace_input"] = _shape_text(shape)


def _load_preset() -> None:
    preset = SHAPE_PRESETS[st.session_state["trace_preset"]]
    _reset_table(preset.stack, preset.input_shape)


def _edit_table(preset_stack: str) -> tuple | None:
    """The editor; returns the layers, or None after showing why a row can't be read."""
    state.seed(STACK, preset_stack, _parses)
    if BASE not in st.session_state or "trace_table" not in st.session_state:
        st.session_state[BASE] = st.session_state[STACK]  # editor state is gone: start from now
    frame = stack_frame(parse_stack(st.session_state[BASE]), st.session_state.get(VER, 0))
    rows = min(len(frame) + 2, 24)  # header, rows and the "add row" line, without scrolling
    edited = st.data_editor(frame, key="trace_table", num_rows="dynamic", hide_index=True,
                            column_order=(ORDER, LAYER, SETTINGS), column_config=column_config(),
                            width="stretch", height=rows * 35 + 3)
    layers, errors = frame_stack(edited)
    if errors:
        st.error("Some rows can't be read yet:\n\n" + "\n".join(f"- {e}" for e in errors),
                 icon=":material/edit_note:")
        return None
    if not layers:
        st.warning("The table is empty: add a layer, or pick a preset.", icon=":material/add:")
        return None
    stack = encode_stack(layers)
    st.session_state[STACK] = stack
    state.sync(STACK, stack, preset_stack)
    return layers


def _show_problem(problem: Problem) -> None:
    st.error(f"Layer {problem.index + 1} ({problem.title}): {problem.message}",
             icon=":material/error:")
    if problem.torch_error:
        st.caption(f"PyTorch's own message: `{problem.torch_error}`")
    if problem.fix is not None:
        fix = problem.fix
        st.button(f"Apply the fix: {fix.text}", key="trace_fix", icon=":material/build:",
                  on_click=_reset_table, args=(fix.stack, fix.input_shape))


def _show_result(result: Trace, layers: tuple) -> None:
    titles = [layer.kind.title for layer in layers]
    cols = st.columns(4)
    label = "Output shape" if result.problem is None else "Shape before the stop"
    cols[0].metric(label, str(result.output_shape))
    cols[1].metric("Parameters", f"{result.total_params:,}")
    cols[2].metric("Mult-adds per sample", f"{result.total_macs:,}")
    cols[3].metric("Layers traced", f"{len(result.steps)} of {len(layers)}")
    if result.problem is not None:
        _show_problem(result.problem)
    frame = result_frame(result, titles)
    # Numbers get room for 11 digits; an all-empty note column is left out (its space went
    # to nothing while the layer column was cut).
    shown = [c for c in frame.columns if c != "note" or frame[c].astype(bool).any()]
    st.dataframe(frame, hide_index=True, width="stretch", key="trace_result",
                 height=min(len(frame) + 1, 30) * 35 + 3, column_order=shown, column_config={
                     "params": st.column_config.NumberColumn(format="localized", width=110),
                     "mult-adds": st.column_config.NumberColumn(format="localized", width=120),
                     "layer": st.column_config.TextColumn(width="large"),
                     "note": st.column_config.TextColumn(width="medium")})
    ran = ("on CPU (a batch of 1 or 2, weights zeroed: values don't change shapes)"
           if result.device == "cpu" else "on PyTorch's meta device (shapes only, no "
           "arithmetic: this stack is too big to run on every change)")
    st.caption(f"Each layer is the real `torch.nn` module in training mode (Dropout aside: same "
               f"shape, and no random numbers drawn), run {ran}; "
               "mult-adds are counted by `torch.utils.flop_counter` (convolutions and matrix "
               "products). Receptive field: input pixels one output value can see, and jump: "
               "input pixels between neighbouring outputs.")
    st.plotly_chart(shape_profile(result, titles), theme="streamlit", key="trace_chart")
    st.latex(r"H_\ell = \left\lfloor \frac{H_{\ell-1} + 2p - d(k-1) - 1}{s} \right\rfloor + 1"
             r"\qquad r_\ell = r_{\ell-1} + d\,(k - 1)\, j_{\ell-1} \qquad "
             r"j_\ell = j_{\ell-1}\, s \qquad (r_0 = j_0 = 1)")
    code_expander(result.code, title="PyTorch code for this stack")
    st.download_button("Download model.py", result.code, file_name="model.py",
                       mime="text/x-python", key="trace_download", icon=":material/download:")


def render_tracer() -> None:
    """Draw the whole shape-tracer section (widgets keyed `trace_*`)."""
    st.markdown("Stack layers and watch the tensor's shape change from layer to layer. Every "
                "shape comes from building the real `torch.nn` module and running a dummy "
                "tensor through it; the first layer that doesn't fit stops the trace, with the "
                "reason and a fix.")
    left, right = st.columns([2, 1])
    with left:
        name = state.selectbox("Start from a preset", NAMES, DEFAULT_PRESET, key="trace_preset",
                               on_change=_load_preset)
    preset = SHAPE_PRESETS[name]
    with right:
        raw = state.text("Input shape (N, C, H, W)", _shape_text(preset.input_shape),
                         key="trace_input", help="Batch, channels, height, width. Use N, C, L "
                         "for Conv1d stacks, or N, features for an MLP.")
    layers = _edit_table(preset.stack)
    edited = st.session_state[STACK] != preset.stack
    st.caption(("Edited from this preset. " if edited else "") + preset.blurb)
    with st.expander("Layer settings reference", icon=":material/help:"):
        st.dataframe(reference_frame(), hide_index=True, width="stretch", key="trace_reference")
    c1, c2 = st.columns([3, 1])
    c1.caption(f"The stack as text (kept in the URL): `{st.session_state[STACK]}`")
    c2.button("Reset to preset", key="trace_reset", on_click=_load_preset,
              icon=":material/restart_alt:")
    try:
        shape = parse_shape(raw)
    except ValueError as exc:
        st.error(f"Input shape: {exc}", icon=":material/error:")
        return
    if layers is None:
        return
    try:
        result = cached_trace(encode_stack(layers), shape)
    except ValueError as exc:
        st.error(f"This stack can't be traced: {exc}", icon=":material/error:")
        return
    _show_result(result, layers)
