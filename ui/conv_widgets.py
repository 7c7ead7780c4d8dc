"""Widgets shared by the convolution page's tabs: per-axis number pairs, the size report (shapes,
formula steps, problems with one-click fixes) and the output-cell picker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core.conv_visual import MAX_TAPS, UNREAD_MAX_N, SlideGrid, too_many_taps, unread
from core.size_report import Fix, SizeReport
from ui import state

MAX_SIZE = 16_384  # per axis: large enough for real images, small enough to draw windows fast
WORDS = {"h": "height", "w": "width"}


def axis_pair(label: str, prefix: str, default: tuple[int, int], low: int, *, dims: int = 2,
              high: int = MAX_SIZE, help: str | None = None) -> tuple[int, ...]:
    """One setting per axis (keys prefix+'h', prefix+'w'); a 1-D layer shows only the length."""
    axes = ("h", "w") if dims == 2 else ("w",)
    cols = st.columns(len(axes))
    values = []
    for col, axis, value in zip(cols, axes, default[-len(axes):], strict=True):
        word = "length" if dims == 1 else WORDS[axis]
        with col:
            values.append(state.number(f"{label} {word}", value, key=f"{prefix}{axis}",
                                       min_value=low, max_value=high, step=1, help=help))
    return tuple(int(v) for v in values)


def fix_setter(keys: dict[tuple[str, int | None], str], dims: int = 2
               ) -> Callable[[Fix], None]:
    """A callback that writes a suggested value into the widget(s) that hold it."""
    def apply(fix: Fix) -> None:
        value = fix.value
        if fix.axis is None and isinstance(value, tuple):  # e.g. stride → (1, 1)
            for i, v in enumerate(value):
                st.session_state[keys[(fix.field, i if dims == 2 else 0)]] = v
            if (fix.field, "kind") in keys:
                st.session_state[keys[(fix.field, "kind")]] = "numbers"
        else:
            st.session_state[keys[(fix.field, fix.axis)]] = value
        if fix.then is not None:
            apply(fix.then)
    return apply


def show_problems(report: SizeReport, key: str, on_fix: Callable[[Fix], None] | None) -> None:
    """Each broken rule with its numbers, and a button per nearest valid value."""
    for n, problem in enumerate(report.problems):
        st.error(f"**{problem.rule[0].upper() + problem.rule[1:]}**: {problem.detail}.",
                 icon=":material/block:")
        if problem.fixes:  # a wrapping row: a two-change label stays readable
            row = st.container(horizontal=True, vertical_alignment="center")
            row.caption("Nearest valid:", width="content")
            for m, fix in enumerate(problem.fixes[:4]):
                row.button(fix.label, key=f"{key}_fix_{n}_{m}", on_click=on_fix, args=(fix,),
                           disabled=on_fix is None, width="content")
    if report.torch_error:
        st.caption(f"PyTorch's own message: `{report.torch_error}`")


def shape_text(shape: tuple[int, ...] | None) -> str:
    return "—" if shape is None else "(" + ", ".join(str(s) for s in shape) + ")"


def show_shapes(report: SizeReport) -> None:
    """Input, the formula's output and the real layer's output side by side (the last is
    wider: 'Output of nn.AdaptiveMaxPool2d' must fit a laptop's column)."""
    cols = st.columns([1, 1, 1.5])
    cols[0].metric("Input shape", shape_text(report.in_shape))
    cols[1].metric("Output by the formula", shape_text(report.out_shape))
    where = "meta device: shape logic only" if report.device == "meta" else "CPU"
    cols[2].metric(f"Output of nn.{report.layer}", shape_text(report.torch_shape),
                   help=f"Run on a dummy tensor of zeros ({where}).")
    if report.ok:
        if report.agree:
            st.success(f"The formula and the real `{report.layer}` agree.",
                       icon=":material/check_circle:")
        else:
            st.warning("The formula and PyTorch disagree — please report this.")
    for note in report.notes:
        st.info(note, icon=":material/info:")


def show_steps(report: SizeReport) -> None:
    """The substituted formula per axis, one below the other."""
    for steps in report.steps:  # stacked: side by side they overflow a laptop's column
        for line in steps.pre:
            st.latex(line)
        st.latex(steps.latex)
        for line in steps.post:
            st.latex(line)


def show_report(report: SizeReport, key: str, on_fix: Callable[[Fix], None] | None) -> None:
    """Shapes, problems (if any) and the formula steps."""
    show_shapes(report)
    show_problems(report, key, on_fix)
    show_steps(report)


def cell_picker(prefix: str, out_rows: int, out_cols: int) -> tuple[int, int]:
    """Two sliders choosing an output cell (keys prefix+'oi', prefix+'oj') and a Step button."""
    def step() -> None:
        i, j = st.session_state.get(f"{prefix}oi", 0), st.session_state.get(f"{prefix}oj", 0)
        j += 1
        if j >= out_cols:
            i, j = (i + 1) % out_rows, 0
        if out_rows > 1:
            st.session_state[f"{prefix}oi"] = i
        if out_cols > 1:
            st.session_state[f"{prefix}oj"] = j

    cols = st.columns([3, 3, 1])
    i = j = 0
    with cols[0]:
        if out_rows > 1:
            i = state.slider("Output row", 0, out_rows - 1, 0, key=f"{prefix}oi")
    with cols[1]:
        if out_cols > 1:
            j = state.slider("Output column", 0, out_cols - 1, 0, key=f"{prefix}oj")
    with cols[2]:
        st.button("Step", key=f"{prefix}step", on_click=step, icon=":material/skip_next:",
                  help="Slide the kernel to the next output cell", width="stretch",
                  disabled=out_rows * out_cols < 2)
    return i, j


def unread_note(grid: SlideGrid, dims: int = 2) -> str:
    """' Never read: input rows 6.' when some input cells reach no output (else '')."""
    if max(grid.rows.n, grid.cols.n) > UNREAD_MAX_N:
        return ""
    parts = []
    for name, axis in (("rows", grid.rows), ("columns", grid.cols))[2 - dims:]:
        missing = unread(axis)
        if missing:
            shown = ", ".join(str(v) for v in missing[:8]) + (" …" if len(missing) > 8 else "")
            parts.append(f"{name} {shown}")
    return (" **Never read by any output** (faded): input " + "; ".join(parts) + ".") if parts \
        else ""


def human(n: int) -> str:
    """1234567 -> '1.23 M': counts readable at a glance (the exact number goes in the help)."""
    for size, suffix in ((1e12, " T"), (1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(n) >= size:
            return f"{n / size:.3g}{suffix}"
    return str(n)


def cached(fn: Callable[..., Any]) -> Callable[..., Any]:
    """st.cache_data with a bounded size: pure computations keyed by their frozen specs."""
    return st.cache_data(max_entries=64, show_spinner=False)(fn)


def picture_skipped(out_shape: tuple[int, ...], kernel: tuple[int, ...]) -> bool:
    """Say so (and return True) when the sliding picture would list too many window taps."""
    taps = too_many_taps(out_shape, kernel)
    if taps is None:
        return False
    st.info(f"The sliding-window picture is drawn for up to {MAX_TAPS:,} window taps; this "
            f"layer's windows have {taps:,}. The sizes and the formula above still hold.",
            icon=":material/info:")
    return True
