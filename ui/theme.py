"""Colours and layout shared by every chart.

Charts are drawn with `st.plotly_chart(fig, theme="streamlit")`, which restyles background,
grid and fonts for the light or dark theme; here we only pick colours that read on both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

# A colour-blind-safe qualitative palette (Okabe-Ito) that reads on white and on near-black.
PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#999999",
)
PRIMARY = PALETTE[0]
SECONDARY = PALETTE[1]
GOOD = PALETTE[2]
BAD = PALETTE[3]
MUTED = "rgba(128,128,128,0.35)"  # grey at partial opacity works on light and dark
HIGHLIGHT = "rgba(230,159,0,0.35)"
SEQUENTIAL = "Viridis"  # heatmaps: perceptually uniform and readable in both themes
DIVERGING = "RdBu_r"


def color(i: int) -> str:
    """The i-th series colour (cycles)."""
    return PALETTE[i % len(PALETTE)]


def style(fig: go.Figure, *, height: int = 380, title: str | None = None,
          legend: bool = True) -> go.Figure:
    """Common layout: laptop-friendly height, compact margins, legend on top."""
    fig.update_layout(**styled_layout(height=height, title=title, legend=legend))
    return fig


def styled_layout(*, height: int = 380, title: str | None = None, legend: bool = True,
                  **layout: object) -> dict:
    """style()'s layout as a dict, merged with `layout`, for go.Figure(data, layout): building
    a figure with its layout took 0.1 ms where update_layout on a built one took 2.5 ms (the
    live training charts are rebuilt every second)."""
    return dict(
        height=height,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        title=dict(text=title) if title else None,
        showlegend=legend,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        hovermode="closest",
        **layout,
    )


def log_dtick(values: Any) -> int | str:
    """Whole decades between tick labels, so that about six labels fit; within about two
    decades, labels at 1, 2 and 5 of each decade ('D2'), else a span inside one decade (std
    0.03-0.4) would show one label or none."""
    good = [v for v in values if v > 0 and np.isfinite(v)]
    if not good:
        return 1
    decades = np.log10(max(good)) - np.log10(min(good))
    if decades < 2:
        return "D2"
    return max(1, int(np.ceil(decades / 6)))
