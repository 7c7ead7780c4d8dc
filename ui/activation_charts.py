"""Chart builders for the activations page: data in, plotly go.Figure out (no streamlit)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui import theme

# Neutral greys (not series colours) that read on light and dark backgrounds.
VANISH_FILL = "rgba(128,128,128,0.16)"  # |f'| below the threshold
ZERO_FILL = "rgba(128,128,128,0.38)"  # f' exactly zero


@dataclass(frozen=True)
class Series:
    label: str
    x: np.ndarray
    y: np.ndarray
    dy: np.ndarray
    f_breaks: tuple[float, ...] = ()  # x where f jumps: the line is broken there
    df_breaks: tuple[float, ...] = ()  # x where f' jumps (kinks)


def with_gaps(x: np.ndarray, y: np.ndarray, breaks) -> tuple[np.ndarray, np.ndarray]:
    """Insert NaN (a gap in the line) at each break; a grid point exactly on one stands alone."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    cuts = sorted({int(i) for b in breaks for i in (np.searchsorted(x, b, side="left"),
                                                     np.searchsorted(x, b, side="right"))
                   if 0 < i < x.size})
    return np.insert(x, cuts, np.nan), np.insert(y, cuts, np.nan)


def _legend_swatch(fig: go.Figure, name: str, fill: str) -> None:
    """A legend entry for shaded regions (shapes have no legend of their own)."""
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                             marker=dict(symbol="square", size=14, color=fill)))


def _shade(intervals, fill: str) -> list[dict]:
    return [dict(type="rect", xref=axis, yref=f"{axis.replace('x', 'y')} domain",
                 x0=a, x1=b, y0=0, y1=1, fillcolor=fill, line_width=0, layer="below")
            for a, b in intervals for axis in ("x", "x2")]


def function_chart(series: list[Series], *, vanishing=(), zero=(), threshold: float = 0.0,
                   probe_x: float | None = None, focus: str | None = None,
                   height: int = 560) -> go.Figure:
    """f(x) above f'(x) on a shared x axis; shaded gradient regions of the focus function."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    for i, s in enumerate(series):
        width = 3.5 if s.label == focus else 2
        style = dict(color=theme.color(i), width=width)
        fx, fy = with_gaps(s.x, s.y, s.f_breaks)
        gx, gy = with_gaps(s.x, s.dy, s.df_breaks)
        fig.add_trace(go.Scatter(x=fx, y=fy, name=s.label, legendgroup=s.label, line=style,
                                 hovertemplate="x=%{x:.3f}<br>f(x)=%{y:.4f}"), row=1, col=1)
        fig.add_trace(go.Scatter(x=gx, y=gy, name=s.label, legendgroup=s.label, line=style,
                                 showlegend=False,
                                 hovertemplate="x=%{x:.3f}<br>f'(x)=%{y:.4f}"), row=2, col=1)
    shapes = _shade(vanishing, VANISH_FILL) + _shade(zero, ZERO_FILL)
    if vanishing:
        _legend_swatch(fig, f"|f'| < {threshold:g} ({focus})", VANISH_FILL)
    if zero:
        _legend_swatch(fig, f"f' = 0 exactly ({focus})", ZERO_FILL)
    if probe_x is not None:
        shapes += [dict(type="line", xref=axis, yref=f"{axis.replace('x', 'y')} domain",
                        x0=probe_x, x1=probe_x, y0=0, y1=1, line=dict(color=theme.MUTED,
                                                                       dash="dash", width=2))
                   for axis in ("x", "x2")]
    fig.update_layout(shapes=shapes)
    fig.update_yaxes(title_text="f(x)", row=1, col=1)
    fig.update_yaxes(title_text="f'(x)  (autograd)", row=2, col=1)
    fig.update_xaxes(title_text="x", row=2, col=1)
    return theme.style(fig, height=height)


def depth_lines(results: dict[str, tuple], chosen: str, height: int = 340) -> go.Figure:
    """Per layer: std of the activations and RMS of dL/dW (log scales), one line per init.

    results: label -> (act_std per layer, grad_w_rms per layer).
    """
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1)
    for i, (name, (std, grad)) in enumerate(results.items()):
        layers = list(range(1, len(std) + 1))
        line = dict(color=theme.color(i), width=3.5 if name == chosen else 1.5,
                    dash="solid" if name == chosen else "dot")
        for col, values in ((1, std), (2, grad)):
            fig.add_trace(go.Scatter(x=layers, y=_positive(values), name=name, legendgroup=name,
                                     mode="lines+markers", line=line, marker=dict(size=4),
                                     showlegend=col == 1), row=1, col=col)
    stds = [v for std, _ in results.values() for v in std]
    grads = [v for _, grad in results.values() for v in grad]
    fig.update_yaxes(title_text="std of activations h", type="log", exponentformat="power",
                     dtick=theme.log_dtick(stds), row=1, col=1)
    fig.update_yaxes(title_text="RMS of dL/dW", type="log", exponentformat="power",
                     dtick=theme.log_dtick(grads), row=1, col=2)
    fig.update_xaxes(title_text="layer")
    return theme.style(fig, height=height)


def _positive(values) -> list[float | None]:
    """Log axes cannot show 0, inf or nan: leave a gap there."""
    return [v if v > 0 and np.isfinite(v) else None for v in values]


def depth_heatmap(edges, hist, height: int = 340) -> go.Figure:
    """Distribution of each layer's activations: share of values per bin (colour)."""
    edges = np.asarray(edges)
    centres = (edges[:-1] + edges[1:]) / 2
    z = np.asarray(hist).T  # rows: bins, columns: layers
    fig = go.Figure(go.Heatmap(
        x=list(range(1, z.shape[1] + 1)), y=centres, z=z, colorscale=theme.SEQUENTIAL,
        colorbar=dict(title="share", thickness=12),
        hovertemplate="layer %{x}<br>value≈%{y:.3g}<br>share %{z:.1%}<extra></extra>"))
    fig.update_xaxes(title_text="layer")
    fig.update_yaxes(title_text="activation value")
    return theme.style(fig, height=height, legend=False)


def depth_fractions(saturated, dead, threshold: float, height: int = 340) -> go.Figure:
    """Saturated entries and dead units per layer, as shares."""
    layers = list(range(1, len(saturated) + 1))
    fig = go.Figure([
        go.Bar(x=layers, y=list(saturated), name=f"saturated: |f'(z)| < {threshold:g}",
               marker_color=theme.PRIMARY),
        go.Bar(x=layers, y=list(dead), name="dead units: f'(z) = 0 for the whole batch",
               marker_color=theme.BAD),
    ])
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    fig.update_xaxes(title_text="layer")
    return theme.style(fig, height=height)


def prelu_chart(steps, slope, loss, best: float, x=None, y=None, fitted=None,
                height: int = 340) -> go.Figure:
    """The learned slope a and the loss over training steps; the data and the fit if given."""
    cols = 3 if x is not None else 2
    fig = make_subplots(rows=1, cols=cols, horizontal_spacing=0.08)
    fig.add_trace(go.Scatter(x=list(steps), y=list(slope), name="learned a",
                             line=dict(color=theme.PRIMARY, width=3)), row=1, col=1)
    fig.add_trace(go.Scatter(x=[steps[0], steps[-1]], y=[best, best], mode="lines",
                             name=f"least-squares a* = {best:.3f}",
                             line=dict(color=theme.GOOD, dash="dash")), row=1, col=1)
    fig.add_trace(go.Scatter(x=list(steps), y=_positive(loss), name="loss",
                             line=dict(color=theme.SECONDARY, width=2)), row=1, col=2)
    if x is not None:
        order = np.argsort(x)
        fig.add_trace(go.Scatter(x=np.asarray(x)[order], y=np.asarray(y)[order], mode="markers",
                                 name="data", marker=dict(color=theme.MUTED, size=4)),
                      row=1, col=3)
        if fitted is not None:  # None after divergence: there is no fit to draw
            fig.add_trace(go.Scatter(x=np.asarray(x)[order], y=np.asarray(fitted)[order],
                                     name="PReLU with the learned a",
                                     line=dict(color=theme.PRIMARY, width=3)), row=1, col=3)
        fig.update_xaxes(title_text="x", row=1, col=3)
        fig.update_yaxes(title_text="y", row=1, col=3)
    fig.update_yaxes(title_text="slope a", row=1, col=1)
    fig.update_yaxes(title_text="loss (MSE)", type="log", exponentformat="power",
                     dtick=theme.log_dtick(loss), row=1, col=2)
    fig.update_xaxes(title_text="step", row=1, col=1)
    fig.update_xaxes(title_text="step", row=1, col=2)
    return theme.style(fig, height=height)
