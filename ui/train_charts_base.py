"""Pieces shared by the training page's chart builders (ui/train_charts*.py)."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from ui.theme import PALETTE, style

NO_DATA = "No data yet: it appears once the run has started."


def no_data(message: str = NO_DATA, height: int = 300) -> go.Figure:
    """An empty chart with a friendly note in the middle, for before the first update."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font=dict(size=14))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return style(fig, height=height, legend=False)


def rgba(hex_color: str, alpha: float) -> str:
    """'#0072B2' -> 'rgba(0,114,178,alpha)'."""
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"


def side_by_side(gap: float = 0.12) -> go.Figure:
    """Two panels (x/y and x2/y2); cheaper than make_subplots (~25 ms a call)."""
    half = (1 - gap) / 2
    return go.Figure(layout=dict(xaxis=dict(domain=[0, half]), xaxis2=dict(domain=[1 - half, 1]),
                                 yaxis=dict(anchor="x"), yaxis2=dict(anchor="x2")))


def pairs(xs: Sequence, ys: Sequence) -> tuple[list, list]:
    """The (x, y) pairs whose y is a number: None and NaN left out, not drawn as gaps."""
    keep = [(x, y) for x, y in zip(xs, ys, strict=False) if y is not None and y == y]
    return [x for x, _ in keep], [y for _, y in keep]


def thousands(value: float) -> str:
    """1234.5 -> '1 235' (space as thousands separator)."""
    return f"{value:,.0f}".replace(",", " ")


def class_color(i: int) -> str:
    """The colour of class i (the palette, cycling)."""
    return PALETTE[i % len(PALETTE)]
