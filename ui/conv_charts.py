"""Sliding-window pictures: the padded input with the kernel's taps for one output cell, and the
output grid with that cell selected; a Play button slides the window (Plotly frames).

Grids are heatmaps (one trace however large), the highlighted cells are one filled polygon
trace, and big grids are cropped to a window around the selected cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from core.conv_visual import (
    INPUT,
    OVERHANG,
    PADDING,
    UNREAD,
    SlideGrid,
    cell_kinds,
    window_cells,
)
from ui import theme

MAX_VIEW = 64  # cells per axis drawn before cropping around the selection
MAX_TEXT = 16  # cells per axis that still get a number written in them
FRAME_BUDGET = 60_000  # numbers in all animation frames together (keeps the page light)
KIND_COLORS = {INPUT: "rgba(86,180,233,0.55)", PADDING: theme.MUTED,
               OVERHANG: "rgba(204,121,167,0.25)", UNREAD: "rgba(86,180,233,0.15)"}
KIND_NAMES = {INPUT: "input", PADDING: "padding", OVERHANG: "beyond the padding (ceil_mode)",
              UNREAD: "input no output reads"}


@dataclass(frozen=True)
class View:
    """Which part of an axis is drawn: cells [lo, hi)."""

    lo: int
    hi: int

    def covers(self, extent: int) -> bool:
        return self.lo == 0 and self.hi == extent


def finish(fig: go.Figure, height: int, legend: bool = False, top: int = 56,
           yshift: int = 14) -> go.Figure:
    """theme.style plus room above the plots for subplot titles (and top tick labels)."""
    theme.style(fig, height=height, legend=legend)
    fig.update_layout(margin=dict(t=top))
    fig.update_annotations(font_size=13, yshift=yshift)
    return fig


GREY = [[0.0, "rgb(0,0,0)"], [1.0, "rgb(255,255,255)"]]  # 0 black, 1 white, like the picture


def colorscale(name: str) -> list:
    """A named Plotly colorscale as a list: unvalidated figures pass names to plotly.js, which
    knows neither Python's '_r' reversals nor every alias."""
    return [[float(v), c] for v, c in plotly.colors.get_colorscale(name)]


def panels(widths: list[float], titles: list[str], gap: float = 0.06) -> dict:
    """Layout for side-by-side panels (x, x2, ...) with widths in proportion and titles above.

    Figures are assembled as plain dicts and wrapped without Plotly's per-property validation:
    make_subplots plus validated traces cost ~150 ms a rerun, the dicts ~2 ms.
    """
    usable = 1 - gap * (len(widths) - 1)
    total = sum(widths)
    layout: dict = {"annotations": []}
    left = 0.0
    for n, (w, title) in enumerate(zip(widths, titles, strict=True), start=1):
        right = min(round(left + usable * w / total, 6), 1.0)  # float drift past 1 is refused
        suffix = "" if n == 1 else str(n)
        layout[f"xaxis{suffix}"] = dict(domain=[round(left, 6), right], anchor=f"y{suffix}")
        layout[f"yaxis{suffix}"] = dict(domain=[0, 1], anchor=f"x{suffix}")
        layout["annotations"].append(dict(text=title, x=(left + right) / 2, y=1, xref="paper",
                                          yref="paper", xanchor="center", yanchor="bottom",
                                          showarrow=False))
        left = right + gap
    return layout


def figure(data: list[dict], layout: dict, frames: list[dict] | None = None) -> go.Figure:
    """A go.Figure from plain dicts, skipping per-property validation (see `panels`)."""
    spec: dict = {"data": data, "layout": layout}
    if frames:
        spec["frames"] = frames
    return go.Figure(spec, _validate=False)


def _tick_step(cells: int) -> int:
    """Label every cell of a small grid, about eight labels on a big one."""
    return 1 if cells <= MAX_TEXT else max(1, round(cells / 8))


def cell_axes(layout: dict, n: int, xs: np.ndarray, ys: np.ndarray, *, ticks: bool = True,
              top: bool = True) -> None:
    """Square cells, row 0 at the top, for panel n (1-based)."""
    suffix = "" if n == 1 else str(n)
    layout[f"xaxis{suffix}"].update(
        showgrid=False, zeroline=False, constrain="domain", side="top" if top else "bottom",
        range=[xs[0] - 0.5, xs[-1] + 0.5] if len(xs) else None,
        dtick=_tick_step(len(xs)), showticklabels=ticks)
    layout[f"yaxis{suffix}"].update(
        showgrid=False, zeroline=False, constrain="domain", constraintoward="top",
        scaleanchor=f"x{suffix}",
        range=[ys[-1] + 0.5, ys[0] - 0.5] if len(ys) else None,
        dtick=_tick_step(len(ys)), showticklabels=ticks)


def view_around(extent: int, first: int, last: int, size: int = MAX_VIEW) -> View:
    """All cells when they fit, else `size` cells centred on [first, last]."""
    if extent <= size:
        return View(0, extent)
    centre = (first + last) // 2
    lo = min(max(centre - size // 2, 0), extent - size)
    return View(lo, lo + size)


def _rects(cols: list[float], rows: list[float], pad: float = 0.42) -> tuple[list, list]:
    """One polygon per (row, col) cell, separated by None, for a filled scatter trace."""
    xs: list = []
    ys: list = []
    for r in rows:
        for c in cols:
            xs += [c - pad, c + pad, c + pad, c - pad, c - pad, None]
            ys += [r - pad, r - pad, r + pad, r + pad, r - pad, None]
    return xs, ys


def _outline(x0: float, x1: float, y0: float, y1: float) -> tuple[list, list]:
    return [x0 - 0.5, x1 + 0.5, x1 + 0.5, x0 - 0.5, x0 - 0.5], \
        [y0 - 0.5, y0 - 0.5, y1 + 0.5, y1 + 0.5, y0 - 0.5]


def _position_traces(grid: SlideGrid, i: int, j: int, rv: View, cv: View) -> list[dict]:
    """The three moving traces for output (i, j): taps read (those inside the views drawn: a
    big kernel has more than can be seen), window outline, output cell."""
    rows, cols = window_cells(grid, i, j)
    ob, cb = grid.rows.before, grid.cols.before
    ox, oy = _outline(cols[0] - cb, cols[-1] - cb, rows[0] - ob, rows[-1] - ob)
    rows = [r for r in rows if rv.lo <= r < rv.hi] or rows[:1]
    cols = [c for c in cols if cv.lo <= c < cv.hi] or cols[:1]
    tx, ty = _rects([c - cb for c in cols], [r - ob for r in rows])
    sx, sy = _rects([j], [i], pad=0.5)
    return [dict(x=tx, y=ty), dict(x=ox, y=oy), dict(x=sx, y=sy)]


def _hover(grid: SlideGrid, rv: View, cv: View, kinds: np.ndarray) -> np.ndarray | None:
    """Per-cell hover text for small pictures: what the cell holds."""
    if rv.hi - rv.lo > MAX_TEXT * 2 or cv.hi - cv.lo > MAX_TEXT * 2:
        return None
    mode = grid.mode
    out = []
    for r in range(rv.lo, rv.hi):
        row = []
        for c in range(cv.lo, cv.hi):
            sr, sc = grid.rows.source[r], grid.cols.source[c]
            ir, ic = r - grid.rows.before, c - grid.cols.before
            if 0 <= ir < grid.rows.n and 0 <= ic < grid.cols.n:
                unread = kinds[r - rv.lo, c - cv.lo] == UNREAD
                row.append(f"input[{ir}, {ic}]" + (": no output reads it" if unread else ""))
            elif min(sr, sc) == -2:
                row.append("beyond the padding: only a ceil_mode window reaches here")
            elif min(sr, sc) == -1:
                row.append("padding (zeros for conv, ignored by pooling)")
            else:
                row.append(f"padding = input[{sr}, {sc}] ({mode})")
        out.append(row)
    return np.array(out)


def sliding_window(grid: SlideGrid, i: int, j: int, *, out_values: np.ndarray | None = None,
                   out_label: str = "", animate: bool = True,
                   height: int | None = None) -> go.Figure:
    """Padded input (left) with what output (i, j) reads, and the output grid (right).

    out_values (e.g. AvgPool2d's divisors) colour the output cells and are written in them,
    prefixed by out_label; Plotly then picks a readable text colour per cell in either theme.
    """
    (r0, r1), (c0, c1) = grid.rows.window(i), grid.cols.window(j)
    rv = view_around(grid.rows.extent, r0, r1)
    cv = view_around(grid.cols.extent, c0, c1)
    kinds = cell_kinds(grid, range(rv.lo, rv.hi), range(cv.lo, cv.hi))
    orv = view_around(grid.rows.out, i, i)
    ocv = view_around(grid.cols.out, j, j)
    layout = panels([cv.hi - cv.lo + 1, max(ocv.hi - ocv.lo, 3) + 1],
                    [_title("padded input", rv, cv, grid.rows.extent, grid.cols.extent),
                     _title("output", orv, ocv, grid.rows.out, grid.cols.out)], gap=0.08)
    x_in = np.arange(cv.lo, cv.hi) - grid.cols.before
    y_in = np.arange(rv.lo, rv.hi) - grid.rows.before
    x_out, y_out = np.arange(ocv.lo, ocv.hi), np.arange(orv.lo, orv.hi)
    hover = _hover(grid, rv, cv, kinds)
    values = text_out = None
    if out_values is not None:
        values = out_values[orv.lo:orv.hi, ocv.lo:ocv.hi]
        text_out = [[f"{out_label}{v:g}" for v in row] for row in values]
    moving = _position_traces(grid, i, j, rv, cv)
    data = [
        dict(type="heatmap", z=kinds, x=x_in, y=y_in, zmin=0, zmax=3,
             colorscale=[[k / 3, KIND_COLORS[k]] for k in (INPUT, PADDING, OVERHANG, UNREAD)],
             showscale=False, xgap=1, ygap=1, text=hover, name="input",
             hovertemplate=("%{text}<extra></extra>" if hover is not None
                            else "row %{y}, col %{x}<extra></extra>")),
        dict(type="heatmap", z=np.zeros((len(y_out), len(x_out))) if values is None else values,
             x=x_out, y=y_out, xaxis="x2", yaxis="y2", showscale=False, xgap=1, ygap=1,
             colorscale=[[0, theme.MUTED], [1, theme.MUTED]] if values is None
             else colorscale(theme.SEQUENTIAL), name="output", text=text_out,
             texttemplate="%{text}" if text_out is not None and len(x_out) <= MAX_TEXT
             else None, hovertemplate="output[%{y}, %{x}]<extra></extra>"),
        dict(type="scatter", **moving[0], mode="lines", fill="toself", name="read by the cell",
             line=dict(width=0), fillcolor=theme.SECONDARY, opacity=0.85, hoverinfo="skip"),
        dict(type="scatter", **moving[1], mode="lines", name="kernel window",
             line=dict(color=theme.BAD, width=2, dash="dot"), hoverinfo="skip"),
        dict(type="scatter", **moving[2], mode="lines", fill="toself", name="output cell",
             xaxis="x2", yaxis="y2", line=dict(width=0), fillcolor=theme.SECONDARY,
             hoverinfo="skip"),
    ]
    cell_axes(layout, 1, x_in, y_in)
    cell_axes(layout, 2, x_out, y_out)
    frames = None
    whole = rv.covers(grid.rows.extent) and cv.covers(grid.cols.extent) \
        and orv.covers(grid.rows.out) and ocv.covers(grid.cols.out)
    if animate and whole:  # frames would slide out of a cropped view
        frames = _frames(layout, grid, i, j, rv, cv)
    if height is None:  # square cells across the page width, no tall empty band
        cell = min(36.0, 880 / (len(x_in) + max(len(x_out), 3) + 2))
        height = int(min(max(cell * max(len(y_in), len(y_out)) + 170, 230), 640))
    return finish(figure(data, layout, frames), height, top=80, yshift=28)


def _title(name: str, rv: View, cv: View, rows: int, cols: int) -> str:
    if rv.hi - rv.lo == rows and cv.hi - cv.lo == cols:
        return f"{name} ({rows}×{cols})"
    return f"{name}: rows {rv.lo}–{rv.hi - 1}, cols {cv.lo}–{cv.hi - 1} of {rows}×{cols}"


def frame_positions(out_rows: int, out_cols: int, taps: int, i: int) -> list[tuple[int, int]]:
    """Output cells the animation visits: all of them, else the selected row, within budget."""
    per_frame = taps * 12 + 40
    allowed = min(400, FRAME_BUDGET // per_frame)
    if out_rows * out_cols <= allowed:
        return [(a, b) for a in range(out_rows) for b in range(out_cols)]
    if out_cols <= allowed:
        return [(i, b) for b in range(out_cols)]
    return []


def _frames(layout: dict, grid: SlideGrid, i: int, j: int, rv: View, cv: View
            ) -> list[dict] | None:
    """One frame per visited output cell (moving traces only), plus Play / Pause and a slider.

    redraw must stay on: without it Plotly drops the heatmaps while it animates.
    """
    taps = len(grid.rows.reads[0]) * len(grid.cols.reads[0])
    cells = frame_positions(grid.rows.out, grid.cols.out, taps, i)
    if len(cells) < 2:
        return None
    names = [f"{a},{b}" for a, b in cells]
    frames = [dict(name=n, traces=[2, 3, 4], data=_position_traces(grid, a, b, rv, cv))
              for (a, b), n in zip(cells, names, strict=True)]
    still = {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
             "transition": {"duration": 0}}
    play = {**still, "frame": {"duration": 450, "redraw": True}, "fromcurrent": True}
    layout["updatemenus"] = [dict(
        type="buttons", direction="left", x=0, y=-0.02, xanchor="left", yanchor="top",
        showactive=False, buttons=[dict(label="▶ Play", method="animate", args=[None, play]),
                                   dict(label="❚❚ Pause", method="animate",
                                        args=[[None], still])])]
    layout["sliders"] = [dict(
        active=names.index(f"{i},{j}") if f"{i},{j}" in names else 0,
        x=0.18, len=0.8, y=-0.02, yanchor="top", pad=dict(t=0), ticklen=2,
        currentvalue=dict(prefix="output cell ", font=dict(size=12, color="#888")),
        font=dict(size=1, color="rgba(0,0,0,0)"),  # step labels would crowd the track
        # plotly's default track is near-white, a glare in the dark theme: greys read in both
        bgcolor=theme.MUTED, bordercolor=theme.MUTED, activebgcolor="#888", tickcolor="#888",
        steps=[dict(label=n, method="animate", args=[[n], still]) for n in names])]
    return frames
