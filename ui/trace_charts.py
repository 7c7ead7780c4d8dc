"""Chart of a traced stack: spatial size and receptive field on top, channels below."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.shape_trace import Trace
from ui import theme


def _labels(trace: Trace, titles: list[str]) -> list[str]:
    return ["input"] + [f"{i + 1} {t}" for i, t in enumerate(titles)]


def shape_profile(trace: Trace, titles: list[str]) -> go.Figure:
    """Per layer: height/width (or length), receptive field, and channels/features.

    `titles` names every layer of the stack, so layers after a mismatch still get a slot.
    """
    x = _labels(trace, titles)
    shapes = [trace.input_shape] + [s.out_shape for s in trace.steps]
    spatial = len(trace.input_shape) - 2
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        row_heights=[0.6, 0.4])
    names = ("height", "width") if spatial == 2 else ("length",)
    for a, name in enumerate(names):
        if a == 1 and all(s[2] == s[3] for s in shapes if len(s) == 4):
            break  # square maps: one line says it
        ys = [s[2 + a] if len(s) == spatial + 2 else None for s in shapes]
        fig.add_trace(go.Scatter(x=x[:len(ys)], y=ys, name=f"output {name}", mode="lines+markers",
                                 line=dict(color=theme.color(a))), row=1, col=1)
    if spatial:
        rf = [1.0] + [s.rf[0] if s.rf and math.isfinite(s.rf[0]) else None for s in trace.steps]
        fig.add_trace(go.Scatter(
            x=x[:len(rf)], y=[None if v is None else math.ceil(v) for v in rf],
            name=f"receptive field ({names[0]})", mode="lines+markers",
            line=dict(color=theme.SECONDARY, dash="dash")), row=1, col=1)
    channels = [s[1] for s in shapes]
    fig.add_trace(go.Bar(x=x[:len(channels)], y=channels, name="channels / features",
                         marker_color=theme.GOOD, opacity=0.8), row=2, col=1)
    if trace.problem is not None:  # a red line through both panels at the refused layer
        fig.add_vline(x=trace.problem.index + 1, line_color=theme.BAD, line_width=3,
                      row="all", col=1)
        fig.add_annotation(x=x[trace.problem.index + 1], y=1, yref="paper", text="stops here",
                           showarrow=False, yanchor="bottom", font=dict(color=theme.BAD))
    fig.update_xaxes(categoryorder="array", categoryarray=x)
    fig.update_xaxes(tickangle=-40, row=2, col=1)
    fig.update_yaxes(title_text="pixels", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="channels", type="log", dtick=1, row=2, col=1)
    return theme.style(fig, height=460)
