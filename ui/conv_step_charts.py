"""Transposed convolution's four steps, and upsampling's coordinate mapping and result."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.tconv_steps import TConvSteps
from ui import theme
from ui.conv_charts import (
    GREY,
    MAX_TEXT,
    _outline,
    _rects,
    cell_axes,
    figure,
    finish,
    panels,
)

VALUES = [[0, "#e3e8ee"], [1, theme.PRIMARY]]  # opaque: Plotly picks readable text per cell
MAX_STEP_CELLS = 128  # per axis; bigger grids are summarised in words


def _values_heatmap(z: np.ndarray, zmax: float, name: str, n: int) -> dict:
    small = z.shape[0] <= MAX_TEXT and z.shape[1] <= MAX_TEXT
    text = None
    if small:
        text = [["" if np.isnan(v) else f"{v:g}" for v in row] for row in z]
    suffix = "" if n == 1 else str(n)
    return dict(type="heatmap", z=z, zmin=0, zmax=zmax, colorscale=VALUES, showscale=False,
                xgap=1, ygap=1, text=text, texttemplate="%{text}" if small else None,
                name=name, xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                hovertemplate=f"{name}[%{{y}}, %{{x}}] = %{{z}}<extra></extra>")


def tconv_figure(steps: TConvSteps, i: int, j: int, dilation: tuple[int, int],
                 height: int | None = None) -> go.Figure:
    """Input → zeros inserted → padded → kernel flipped → ordinary conv (= ConvTranspose2d)."""
    kh, kw = steps.kernel.shape
    pair = np.full((kh, 2 * kw + 1), np.nan)
    pair[:, :kw], pair[:, kw + 1:] = steps.kernel, steps.flipped
    pad_word = "pad" if min(steps.pads) >= 0 else "pad / crop"
    grids = [("input", steps.x), ("1 · insert zeros", steps.zero_inserted),
             (f"2 · {pad_word}", steps.padded), ("3 · flip kernel", pair),
             ("4 · convolve", steps.conv_out)]
    widths = [z.shape[1] + 2 for _, z in grids]
    layout = panels(widths, [name for name, _ in grids], gap=0.025)
    vmax = float(np.nanmax(np.abs(steps.x))) or 1.0
    data = []
    for n, (name, z) in enumerate(grids, start=1):
        zmax = vmax if n <= 3 else float(np.nanmax(np.abs(z))) or 1.0
        data.append(_values_heatmap(z, zmax, name.split(" · ")[-1], n))
        cell_axes(layout, n, np.arange(z.shape[1]), np.arange(z.shape[0]), ticks=False)
    rows = [i + a * dilation[0] for a in range(kh)]
    cols = [j + b * dilation[1] for b in range(kw)]
    tx, ty = _rects(cols, rows)
    ox, oy = _outline(cols[0], cols[-1], rows[0], rows[-1])
    sx, sy = _rects([j], [i], pad=0.5)
    data += [
        dict(type="scatter", x=tx, y=ty, xaxis="x3", yaxis="y3", mode="lines", fill="toself",
             line=dict(width=0), fillcolor=theme.SECONDARY, opacity=0.55, hoverinfo="skip",
             name="read by the output cell"),
        dict(type="scatter", x=ox, y=oy, xaxis="x3", yaxis="y3", mode="lines",
             hoverinfo="skip", name="window", line=dict(color=theme.BAD, width=2, dash="dot")),
        dict(type="scatter", x=sx, y=sy, xaxis="x5", yaxis="y5", mode="lines",
             line=dict(color=theme.BAD, width=3), hoverinfo="skip", name="output cell"),
    ]
    if height is None:  # cells ~ as wide as the page allows, so no tall empty band
        cell = min(30.0, 1000 / sum(widths))
        height = int(110 + cell * max(z.shape[0] for _, z in grids))
    return finish(figure(data, layout), max(height, 220))


def pattern(h: int, w: int) -> np.ndarray:
    """A checkerboard with a soft ramp: blocks show nearest, blends show bilinear / area."""
    r, c = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return 0.1 + ((r + c) % 2) * 0.6 + 0.2 * (r / max(h - 1, 1))  # stays in 0.1..0.9


def upsample_figure(src_h: np.ndarray, src_w: np.ndarray, n_h: int, n_w: int,
                    before: np.ndarray | None, after: np.ndarray | None,
                    height: int = 380) -> go.Figure:
    """Where each output index samples the input (left), and a pattern before / after."""
    with_maps = before is not None and after is not None
    titles = ["source coordinate of each output index"]
    if with_maps:
        titles += [f"input {n_h}×{n_w}", f"output {after.shape[0]}×{after.shape[1]}"]
    layout = panels([0.4, 0.3, 0.3] if with_maps else [1.0], titles, gap=0.07)
    data = []
    for k, (name, src) in enumerate((("H (rows)", src_h), ("W (cols)", src_w))):
        step = max(1, len(src) // 2000)
        data.append(dict(type="scatter", x=np.arange(len(src))[::step], y=src[::step],
                         name=name, mode="lines+markers" if len(src) <= 64 else "lines",
                         line=dict(color=theme.color(k)),
                         hovertemplate=f"{name[0]}: out %{{x}} ← in %{{y:.4g}}<extra></extra>"))
    layout["xaxis"].update(title=dict(text="output index"))
    layout["yaxis"].update(title=dict(text="input coordinate"))
    if with_maps:
        for n, z in ((2, before), (3, after)):
            data.append(dict(type="heatmap", z=z, colorscale=GREY, zmin=0, zmax=1,
                             showscale=False, xaxis=f"x{n}", yaxis=f"y{n}",
                             hovertemplate="[%{y}, %{x}] = %{z:.3f}<extra></extra>"))
            cell_axes(layout, n, np.arange(z.shape[1]), np.arange(z.shape[0]), top=False)
    fig = finish(figure(data, layout), height, legend=True, top=60)
    fig.update_layout(legend=dict(orientation="v", x=0.01, y=0.99, xanchor="left",
                                  yanchor="top", yref="paper"))
    return fig
