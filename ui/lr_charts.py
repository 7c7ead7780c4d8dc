"""Plotly builders for the LR scheduler page (data in, figure out; no Streamlit here).

The LR is constant between two scheduler steps, so curves are drawn as steps (line_shape
"hv"); hover shows the exact value, the step index and both x units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.lr_curves import Curve
from core.plateau_sim import PlateauStep
from ui import theme

DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


@dataclass(frozen=True)
class Series:
    """One curve to draw and the name in the legend."""

    name: str
    curve: Curve


def _x(curve: Curve, xunit: str) -> np.ndarray:
    return np.asarray(curve.x_batches if xunit == "batches" else curve.x_epochs)


def _hover(name: str, what: str, curve: Curve) -> str:
    unit = "batch" if curve.step_every == "batch" else "epoch"
    return (f"<b>{name}</b><br>{what} = %{{y:.10g}}<br>step %{{customdata[0]}} (one per "
            f"{unit})<br>epoch %{{customdata[1]:.4g}}, batch %{{customdata[2]}}<extra></extra>")


def lr_curves(series: Sequence[Series], *, xunit: str = "epochs",
              logy: bool = False) -> go.Figure:
    """Overlaid LR curves; a momentum / beta1 panel below when any curve cycles it."""
    momentum = [s for s in series if s.curve.cycles_momentum]
    rows = 2 if momentum else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[0.68, 0.32] if rows == 2 else [1.0])
    for i, s in enumerate(series):
        c, x = s.curve, _x(s.curve, xunit)
        # numpy arrays: plotly checks (and ships, base64) an array at once, a list item by item
        data = np.column_stack([np.arange(len(c.lr)), c.x_epochs, c.x_batches])
        style = dict(color=theme.color(i), dash=DASHES[i % len(DASHES)], width=2.2 if i == 0
                     else 1.8, shape="hv")
        fig.add_trace(go.Scatter(x=x, y=np.asarray(c.lr), name=s.name, mode="lines", line=style,
                                 customdata=data, legendgroup=s.name,
                                 hovertemplate=_hover(s.name, "lr", c)), row=1, col=1)
        if c.cycles_momentum:
            fig.add_trace(go.Scatter(x=x, y=np.asarray(c.momentum), name=f"{s.name}: {c.momentum_name}",
                                     mode="lines", line={**style, "width": 1.5},
                                     customdata=data, legendgroup=s.name, showlegend=False,
                                     hovertemplate=_hover(s.name, c.momentum_name, c)),
                          row=2, col=1)
    fig.update_yaxes(title_text="learning rate", type="log" if logy else "linear",
                     exponentformat="power" if logy else "none", row=1, col=1)
    if rows == 2:
        names = sorted({s.curve.momentum_name for s in momentum})
        fig.update_yaxes(title_text=" / ".join(names), row=2, col=1)
    fig.update_xaxes(title_text=xunit, row=rows, col=1)
    theme.style(fig, height=460 if rows == 2 else 380)
    fig.update_layout(hovermode="x unified" if len(series) > 1 else "closest")
    return fig


def plateau_chart(steps: Sequence[PlateauStep], *, metric_name: str = "val_loss",
                  logy: bool = False) -> go.Figure:
    """The watched metric, its best-so-far and the bar to beat; the LR on the right axis,
    with a marker at every reduction (and every cut refused at min_lr), hover says why."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    epochs = [s.epoch for s in steps]
    why = [[s.event, s.why, s.num_bad_epochs, s.cooldown_counter] for s in steps]
    fig.add_trace(go.Scatter(
        x=epochs, y=[s.metric for s in steps], name=metric_name, mode="lines+markers",
        line=dict(color=theme.PRIMARY), marker=dict(size=5), customdata=why,
        hovertemplate=(f"epoch %{{x}}: {metric_name} = %{{y:.6g}}<br>%{{customdata[0]}}: "
                       "%{customdata[1]}<br>bad epochs %{customdata[2]}, cooldown "
                       "%{customdata[3]}<extra></extra>")), secondary_y=False)
    fig.add_trace(go.Scatter(
        x=epochs, y=[s.best for s in steps], name="best so far", mode="lines",
        line=dict(color=theme.GOOD, dash="dot", shape="hv"),
        hovertemplate="best after epoch %{x}: %{y:.6g}<extra></extra>"), secondary_y=False)
    fig.add_trace(go.Scatter(
        x=epochs[1:], y=[s.needed for s in steps[1:]], name="must beat", mode="lines",
        line=dict(color=theme.MUTED, dash="dash", shape="hv", width=1), visible="legendonly",
        hovertemplate="epoch %{x} had to beat %{y:.6g}<extra></extra>"), secondary_y=False)
    fig.add_trace(go.Scatter(
        x=epochs, y=[s.lr_before for s in steps], name="lr", mode="lines",
        line=dict(color=theme.SECONDARY, shape="hv", width=2.5),
        hovertemplate="epoch %{x} trains at lr %{y:.8g}<extra></extra>"), secondary_y=True)
    for event, symbol, color, label in (("reduced", "triangle-down", theme.BAD, "LR reduced"),
                                        ("floor", "x", theme.MUTED, "cut refused: min_lr")):
        hits = [s for s in steps if s.event == event]
        fig.add_trace(go.Scatter(
            x=[s.epoch + 1 for s in hits], y=[s.lr for s in hits], name=label, mode="markers",
            marker=dict(symbol=symbol, size=13, color=color, line=dict(width=1)),
            customdata=[[s.why] for s in hits], visible=True if hits else "legendonly",
            hovertemplate="after epoch %{x}: %{customdata[0]}<extra></extra>"),
            secondary_y=True)
    fig.update_yaxes(title_text=metric_name, secondary_y=False)
    fig.update_yaxes(title_text="learning rate", type="log" if logy else "linear",
                     secondary_y=True, showgrid=False, tickmode="auto",
                     rangemode="normal" if logy else "tozero")
    fig.update_xaxes(title_text="epoch")
    return theme.style(fig, height=400)
