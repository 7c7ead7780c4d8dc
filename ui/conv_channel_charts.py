"""Channel connectivity (standard → grouped → depthwise) and feature-map heatmaps."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.conv_cost import channel_links
from ui import theme
from ui.conv_charts import GREY, cell_axes, colorscale, figure, finish, panels

MAX_EDGES = 20_000  # above this a panel shows the (out × in) link matrix instead of lines
MATRIX_CELLS = 160  # rows / columns of that matrix drawn at most


def panels_for(c_in: int, c_out: int, groups: int) -> list[tuple[str, int]]:
    """(title, groups) for standard, the chosen grouping and depthwise (when each is valid)."""
    out = [("standard", 1)]
    if groups not in (1, c_in) and c_in % groups == 0 and c_out % groups == 0:
        out.append((f"grouped, g = {groups}", groups))
    elif groups == 1:  # show a grouped example between the two extremes, if one exists
        middle = [g for g in range(2, c_in) if c_in % g == 0 and c_out % g == 0]
        if middle:
            g = middle[len(middle) // 2]
            out.append((f"grouped, g = {g} (example)", g))
    if c_in > 1 and c_out % c_in == 0:
        out.append(("depthwise, g = C_in", c_in))
    return out


def _edges(links: np.ndarray, c_in: int, c_out: int, groups: int, n: int) -> list[dict]:
    """Lines from input dots (left) to output squares (right), coloured by group.

    One line trace per palette colour (groups share colours cyclically), so a depthwise layer
    with thousands of groups is still a handful of traces.
    """
    axes = dict(xaxis=f"x{'' if n == 1 else n}", yaxis=f"y{'' if n == 1 else n}")
    y_in = np.linspace(0, 1, c_in) if c_in > 1 else np.array([0.5])
    y_out = np.linspace(0, 1, c_out) if c_out > 1 else np.array([0.5])
    group_in = np.arange(c_in) // (c_in // groups)
    group_out = np.arange(c_out) // (c_out // groups)
    colours = len(theme.PALETTE)
    traces = []
    for colour in range(min(groups, colours)):
        xs: list = []
        ys: list = []
        for o in np.flatnonzero(group_out % colours == colour):
            for i in np.flatnonzero(links[o]):
                xs += [0, 1, None]
                ys += [float(y_in[i]), float(y_out[o]), None]
        traces.append(dict(type="scatter", x=xs, y=ys, mode="lines", hoverinfo="skip",
                           showlegend=False, line=dict(color=theme.color(colour), width=1),
                           opacity=0.7 if links.sum() < 500 else 0.35, **axes))
    for side, ys_, grp, symbol in (("input", y_in, group_in, "circle"),
                                   ("output", y_out, group_out, "square")):
        traces.append(dict(
            type="scatter", x=[0 if side == "input" else 1] * len(ys_), y=ys_,
            mode="markers", showlegend=False, customdata=np.stack([np.arange(len(ys_)), grp], 1),
            marker=dict(color=[theme.color(g) for g in grp], size=7 if len(ys_) <= 64 else 3,
                        symbol=symbol),
            hovertemplate=f"{side} channel %{{customdata[0]}} (group %{{customdata[1]}})"
                          "<extra></extra>", **axes))
    return traces


def connectivity(c_in: int, c_out: int, groups: int, kernel_cells: int = 1,
                 height: int = 380) -> go.Figure:
    """Side-by-side panels: which input channels each output channel reads, per grouping."""
    chosen = panels_for(c_in, c_out, groups)
    titles = []
    for title, g in chosen:
        links = c_out * (c_in // g)
        titles.append(f"{title}<br><sub>{links:,} links × {kernel_cells} kernel cells = "
                      f"{links * kernel_cells:,} weights</sub>")
    layout = panels([1.0] * len(chosen), titles, gap=0.06)
    data: list[dict] = []
    for n, (_, g) in enumerate(chosen, start=1):
        suffix = "" if n == 1 else str(n)
        links = channel_links(c_in, c_out, g)
        if links.sum() > MAX_EDGES:
            # a sample of at most MATRIX_CELLS rows / columns keeps the block pattern visible
            rows = np.unique(np.linspace(0, c_out - 1, min(c_out, MATRIX_CELLS)).astype(int))
            cols = np.unique(np.linspace(0, c_in - 1, min(c_in, MATRIX_CELLS)).astype(int))
            data.append(dict(type="heatmap", z=links[np.ix_(rows, cols)].astype(np.int8),
                             x=cols, y=rows, showscale=False, zmin=0, zmax=1,
                             colorscale=[[0, "rgba(0,0,0,0)"], [1, theme.PRIMARY]],
                             xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                             hovertemplate="out %{y} ← in %{x}<extra></extra>"))
            layout[f"xaxis{suffix}"].update(title=dict(text="input channel"))
            layout[f"yaxis{suffix}"].update(title=dict(text="output channel"),
                                            autorange="reversed")
            continue
        data += _edges(links, c_in, c_out, g, n)
        layout[f"xaxis{suffix}"].update(tickvals=[0, 1], ticktext=[f"in ({c_in})",
                                                                   f"out ({c_out})"],
                                        range=[-0.15, 1.15], showgrid=False, zeroline=False)
        layout[f"yaxis{suffix}"].update(visible=False, autorange="reversed")
    return finish(figure(data, layout), height, top=70)


def feature_maps(image: np.ndarray, kernel: np.ndarray, fmap: np.ndarray,
                 height: int = 360) -> go.Figure:
    """Picture, kernel (with its numbers) and the feature map F.conv2d returns."""
    layout = panels([0.42, 0.16, 0.42],
                    [f"input {image.shape[0]}×{image.shape[1]}",
                     f"kernel {kernel.shape[0]}×{kernel.shape[1]}",
                     f"feature map {fmap.shape[0]}×{fmap.shape[1]}"], gap=0.05)
    limit = float(np.abs(kernel).max()) or 1.0
    signed = fmap.min() < 0
    span = float(np.abs(fmap).max()) or 1.0
    data = [
        dict(type="heatmap", z=image, colorscale=GREY, showscale=False,
             hovertemplate="[%{y}, %{x}] = %{z:.3f}<extra></extra>"),
        dict(type="heatmap", z=kernel, colorscale=colorscale(theme.DIVERGING), zmin=-limit,
             zmax=limit, showscale=False, text=np.round(kernel, 3).tolist(), texttemplate="%{text}",
             xaxis="x2", yaxis="y2", hovertemplate="w[%{y}, %{x}] = %{z:.4g}<extra></extra>"),
        dict(type="heatmap", z=fmap, colorscale=colorscale(theme.DIVERGING) if signed else GREY,
             zmin=-span if signed else None, zmax=span if signed else None,
             colorbar=dict(len=0.8, thickness=10), xaxis="x3", yaxis="y3",
             hovertemplate="[%{y}, %{x}] = %{z:.3f}<extra></extra>"),
    ]
    for n, z in enumerate((image, kernel, fmap), start=1):
        cell_axes(layout, n, np.arange(z.shape[1]), np.arange(z.shape[0]), ticks=n != 2,
                  top=False)
    return finish(figure(data, layout), height, top=70)
