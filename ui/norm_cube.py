"""The familiar N, C, H, W cube picture as a 2-D oblique drawing (SVG, no WebGL needed).

Axes of one block: horizontal, vertical (downwards) and depth (drawn up and to the right).
Layout "samples": one C x H x W block per sample. Layout "paper": one block with N across,
H*W down and C in depth, as in the GroupNorm paper (Wu & He, 2018). The grey block is
see-through; the elements sharing the chosen element's statistics are drawn over it.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from ui.theme import BAD, MUTED, SECONDARY, style

DEPTH = 0.5  # how long one unit of depth is drawn, relative to the other axes
ANGLE = math.radians(40)
LAYOUTS = ("samples", "paper")
Box = tuple[int, int, int, int, int, int]  # d0, d1, v0, v1, z0, z1 (half-open index ranges)


def _project(d: float, v: float, z: float, scale: tuple[float, float, float],
             origin: tuple[float, float]) -> tuple[float, float]:
    sd, sv, sz = scale
    return (origin[0] + z * sz + d * sd * DEPTH * math.cos(ANGLE),
            origin[1] - v * sv + d * sd * DEPTH * math.sin(ANGLE))


def _faces(box: Box, scale, origin) -> dict[str, list[tuple[float, float]]]:
    """The three visible faces (front, top, right) of a box as closed polygons."""
    d0, d1, v0, v1, z0, z1 = box
    p = lambda d, v, z: _project(d, v, z, scale, origin)  # noqa: E731
    return {"front": [p(d0, v0, z0), p(d0, v0, z1), p(d0, v1, z1), p(d0, v1, z0)],
            "top": [p(d0, v0, z0), p(d0, v0, z1), p(d1, v0, z1), p(d1, v0, z0)],
            "right": [p(d0, v0, z1), p(d0, v1, z1), p(d1, v1, z1), p(d1, v0, z1)]}


def _grid(box: Box, scale, origin) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Cell boundaries on the three visible faces of a box, as line segments."""
    d0, d1, v0, v1, z0, z1 = box
    p = lambda d, v, z: _project(d, v, z, scale, origin)  # noqa: E731
    segs = []
    for z in range(z0, z1 + 1):
        segs += [(p(d0, v0, z), p(d0, v1, z)), (p(d0, v0, z), p(d1, v0, z))]
    for v in range(v0, v1 + 1):
        segs += [(p(d0, v, z0), p(d0, v, z1)), (p(d0, v, z1), p(d1, v, z1))]
    for d in range(d0, d1 + 1):
        segs += [(p(d, v0, z0), p(d, v0, z1)), (p(d, v0, z1), p(d, v1, z1))]
    return segs


def _boxes(mask3: np.ndarray) -> list[Box]:
    """The mask as boxes: its bounding box when it fills it, else one box per voxel."""
    if not mask3.any():
        return []
    idx = np.argwhere(mask3)
    lo, hi = idx.min(0), idx.max(0) + 1
    if mask3[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]].all():
        return [(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])]
    order = sorted(map(tuple, idx), key=lambda t: (-t[0], -t[1], t[2]))  # far ones first
    return [(d, d + 1, v, v + 1, z, z + 1) for d, v, z in order]


def _poly_trace(polys: list[list[tuple[float, float]]], fill: str, line: str, name: str,
                width: float = 1.0, legend: bool = False, hover: str | None = None) -> go.Scatter:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for poly in polys:
        xs += [q[0] for q in poly] + [poly[0][0], None]
        ys += [q[1] for q in poly] + [poly[0][1], None]
    return go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=fill, name=name,
                      line=dict(color=line, width=width), showlegend=legend, legendgroup=name,
                      hoverinfo="text" if hover else "skip", text=hover, hoveron="fills")


def _seg_trace(segs, color: str, width: float = 0.6) -> go.Scatter:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for a, b in segs:
        xs += [a[0], b[0], None]
        ys += [a[1], b[1], None]
    return go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=color, width=width),
                      hoverinfo="skip", showlegend=False)


class _Parts:
    """Polygons and segments of every block, gathered so that each kind is one trace."""

    def __init__(self) -> None:
        self.grey: list = []
        self.grey_grid: list = []
        self.hl: dict[str, list] = {"front": [], "top": [], "right": []}
        self.hl_grid: list = []
        self.chosen: list = []
        self.chosen_at: tuple[float, float] | None = None  # top corner of the chosen element

    def add_block(self, mask3: np.ndarray, chosen3: tuple[int, int, int] | None, scale,
                  origin) -> None:
        """One see-through block, its highlighted boxes and (maybe) the chosen element."""
        full: Box = (0, mask3.shape[0], 0, mask3.shape[1], 0, mask3.shape[2])
        self.grey += list(_faces(full, scale, origin).values())
        self.grey_grid += _grid(full, scale, origin)
        for box in _boxes(mask3):
            for k, poly in _faces(box, scale, origin).items():
                self.hl[k].append(poly)
            self.hl_grid += _grid(box, scale, origin)
        if chosen3 is not None:
            d, v, z = chosen3
            self.chosen += list(_faces((d, d + 1, v, v + 1, z, z + 1), scale, origin).values())
            self.chosen_at = _project(d + 1, v, z + 1, scale, origin)

    def traces(self, members: int) -> list[go.Scatter]:
        label = f"shares its statistics ({members} element{'s' * (members != 1)})"
        out = [_poly_trace(self.grey, MUTED, "rgba(128,128,128,0.8)", "other elements",
                           legend=True),
               _seg_trace(self.grey_grid, "rgba(128,128,128,0.45)")]
        for k, alpha in (("front", 0.85), ("top", 0.6), ("right", 1.0)):
            out.append(_poly_trace(self.hl[k], _rgba(SECONDARY, alpha), SECONDARY, label,
                                   legend=k == "front", hover=label))
        out.append(_seg_trace(self.hl_grid, "rgba(60,60,60,0.55)"))
        out.append(_poly_trace(self.chosen, BAD, "black", "chosen element", width=1.5,
                               legend=True, hover="the chosen element"))
        return out


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _label(x: float, y: float, text: str, **kw) -> dict:
    return dict(x=x, y=y, text=text, showarrow=False, xref="x", yref="y", **kw)


def cube_picture(mask: np.ndarray, chosen: tuple[int, int, int, int], layout: str = "samples",
                 title: str | None = None, per_row: int = 4) -> go.Figure:
    """The (N, C, H, W) tensor as blocks; `mask` marks the elements sharing `chosen`'s stats."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 4 or layout not in LAYOUTS:
        raise ValueError("cube_picture needs a 4-D mask and layout 'samples' or 'paper'.")
    n, c, h, w = mask.shape
    members = int(mask.sum())
    fig = go.Figure()
    if layout == "paper":  # depth C, down H*W, across N
        blocks = [(mask.reshape(n, c, h * w).transpose(1, 2, 0),
                   (chosen[1], chosen[2] * w + chosen[3], chosen[0]), (0.0, 0.0), "")]
        scale = (1.0, max(n, 4) / (h * w), 1.0)
        axes = ("N", "H, W", "C")
    else:
        col_w, row_h = w + c * DEPTH + 1.5, h + c * DEPTH * math.sin(ANGLE) + 2.0
        blocks = [(mask[i], (chosen[1], chosen[2], chosen[3]) if i == chosen[0] else None,
                   ((i % per_row) * col_w, -(i // per_row) * row_h), f"sample n = {i}")
                  for i in range(n)]
        scale = (1.0, 1.0, 1.0)
        axes = ("W", "H", "C")
    annotations = []
    parts = _Parts()
    for i, (m3, ch3, origin, name) in enumerate(blocks):
        parts.add_block(m3, ch3, scale, origin)
        depth, down, across = m3.shape
        bottom = _project(0, down, across / 2, scale, origin)
        annotations.append(_label(bottom[0], bottom[1] - 0.5, name or f"{axes[0]} (samples)",
                                  yanchor="top"))
        if i == 0:
            left = _project(0, down / 2, 0, scale, origin)
            back = _project(depth / 2, 0, 0, scale, origin)
            annotations += [_label(left[0] - 0.3, left[1], axes[1], xanchor="right"),
                            _label(back[0] - 0.3, back[1] + 0.3, axes[2], xanchor="right",
                                   yanchor="bottom")]
            if name:
                annotations.append(_label(bottom[0], bottom[1] - 1.3, f"{axes[0]} →",
                                          yanchor="top", font=dict(size=11)))
    fig.add_traces(parts.traces(members))
    if parts.chosen_at is not None:  # the see-through drawing hides depth: name the element
        annotations.append(dict(x=parts.chosen_at[0], y=parts.chosen_at[1], xref="x", yref="y",
                                text=f"x[{', '.join(map(str, chosen))}]", showarrow=True,
                                arrowhead=2, ax=28, ay=-26, font=dict(size=12, color="white"),
                                # a label in the chosen cube's own colour reads over the grey
                                # cube in either theme
                                bgcolor=BAD, borderpad=2))
    fig.update_layout(annotations=annotations, xaxis=dict(visible=False),
                      yaxis=dict(visible=False, scaleanchor="x", scaleratio=1))
    # the single "paper" block needs no full width to read: keep it a modest size
    return style(fig, height=_height(parts.grey, 500 if layout == "paper" else 1000), title=title)


def _height(polys: list[list[tuple[float, float]]], width_px: float = 1000) -> int:
    """Figure height that fits the drawing at its true aspect in a ~1000 px wide chart."""
    xs = [p[0] for poly in polys for p in poly]
    ys = [p[1] for poly in polys for p in poly]
    aspect = (max(ys) - min(ys) + 2.5) / (max(xs) - min(xs) + 1.0)  # + room for the labels
    return int(min(520, max(260, 60 + width_px * aspect)))
