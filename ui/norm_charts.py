"""Chart builders for the normalisation page: data in, go.Figure out (no streamlit here).

The cube picture lives in ui/norm_cube.py; this module holds the histograms, the running
statistics, the small-batch noise and the training curves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ui.norm_cube import cube_picture  # noqa: F401  (re-exported: every builder in one place)
from ui.theme import color, style


def _panels(gap: float = 0.1) -> go.Figure:
    """Two side-by-side panels (x/y and x2/y2), named by their axis titles; cheaper than
    make_subplots (~25 ms a call) and no panel title to collide with the legend on top."""
    half = (1 - gap) / 2
    return go.Figure(layout=dict(xaxis=dict(domain=[0, half]), xaxis2=dict(domain=[1 - half, 1]),
                                 yaxis=dict(anchor="x"), yaxis2=dict(anchor="x2")))


def _axes(col: int) -> dict:
    return {"xaxis": "x" if col == 1 else "x2", "yaxis": "y" if col == 1 else "y2"}


def _finish(fig: go.Figure, height: int, xtitles: tuple[str, str], ytitles: tuple[str, str],
            **axes: dict) -> go.Figure:
    fig.update_layout(xaxis_title=xtitles[0], xaxis2_title=xtitles[1], yaxis_title=ytitles[0],
                      yaxis2_title=ytitles[1], **axes)
    return style(fig, height=height)


def histograms(hist: dict, names: Sequence[str]) -> go.Figure:
    """Before / after histograms, one coloured series per channel or group."""
    fig = _panels()
    traces = []
    for col, side in ((1, "in"), (2, "out")):
        edges = hist[f"edges_{side}"]
        centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
        for i, (name, counts) in enumerate(zip(names, hist[f"counts_{side}"], strict=True)):
            traces.append(go.Bar(x=centers, y=counts, width=edges[1] - edges[0], name=name,
                                 opacity=0.6, marker=dict(color=color(i), line=dict(width=0)),
                                 legendgroup=name, showlegend=side == "in",
                                 hovertemplate=f"{name}<br>x≈%{{x:.3g}}<br>count %{{y}}"
                                               "<extra></extra>", **_axes(col)))
    fig.add_traces(traces)
    fig.update_layout(barmode="overlay", bargap=0)
    return _finish(fig, 360, ("input x", "output y of the layer"), ("count", "count"))


def _bands(colors: list[str]) -> list[list]:
    """A stepwise colorscale: value k (with cmin=-0.5, cmax=n-0.5) gets colors[k]. Numeric
    colours validate far faster than one colour string per point."""
    n = len(colors)
    if n == 1:
        return [[0.0, colors[0]], [1.0, colors[0]]]
    return [[edge / n, c] for k, c in enumerate(colors) for edge in (k, k + 1)]


def running_stats(trace: dict) -> go.Figure:
    """running_mean and running_var per channel over steps; each batch's own value as faint
    dots; the true value as a tick at the right edge."""
    fig = _panels()
    n_ch = len(trace["pop_mean"])
    steps = np.arange(len(trace["running_mean"]))
    colors = [color(k) for k in range(n_ch)]
    traces = []
    for col, (run, batch, pop) in enumerate((("running_mean", "batch_mean", "pop_mean"),
                                             ("running_var", "batch_var_unbiased", "pop_var")),
                                            start=1):
        runs, dots = np.asarray(trace[run]), np.asarray(trace[batch])  # (steps, C) arrays
        traces.append(go.Scatter(x=np.repeat(steps[1:], n_ch), y=dots.ravel(), mode="markers",
                                 name="this batch", showlegend=col == 1, hoverinfo="skip",
                                 marker=dict(color=np.tile(np.arange(n_ch), len(dots)),
                                             colorscale=_bands(colors), cmin=-0.5,
                                             cmax=n_ch - 0.5, size=4, opacity=0.35),
                                 **_axes(col)))
        for k in range(n_ch):
            traces.append(go.Scatter(x=steps, y=runs[:, k], mode="lines", name=f"channel {k}",
                                     line=dict(color=colors[k], width=2),
                                     legendgroup=f"channel {k}", showlegend=col == 1,
                                     **_axes(col)))
        traces.append(go.Scatter(x=[steps[-1] * 1.04 + 1] * n_ch, y=trace[pop], mode="markers",
                                 name="true value", showlegend=col == 1,
                                 marker=dict(symbol="line-ew-open", size=18, color=colors,
                                             line=dict(width=3)),
                                 hovertemplate="true value %{y:.3g}<extra></extra>",
                                 **_axes(col)))
    fig.add_traces(traces)
    return _finish(fig, 380, ("training step", "training step"), ("running_mean",
                                                                   "running_var"))


def noise_vs_batch(noise: dict) -> go.Figure:
    """Spread of the statistics and of one sample's output vs batch size, BN against GN."""
    fig = _panels()
    b = noise["batch_sizes"]
    traces = []
    for i, (kind, label) in enumerate((("bn", "BatchNorm2d"), ("gn", "GroupNorm"))):
        traces += [
            go.Scatter(x=b, y=noise[f"{kind}_mean"], mode="lines+markers", name=f"{label}: mean",
                       line=dict(color=color(i)), **_axes(1)),
            go.Scatter(x=b, y=noise[f"{kind}_std"], mode="lines+markers", name=f"{label}: std",
                       line=dict(color=color(i), dash="dash"), **_axes(1)),
            go.Scatter(x=b, y=noise[f"{kind}_jitter"], mode="lines+markers",
                       name=f"{label}: output", line=dict(color=color(i), width=3),
                       marker=dict(symbol="diamond", size=9), **_axes(2))]
    fig.add_traces(traces)
    log_x = dict(type="log", dtick=0.30103)  # ticks at powers of two
    return _finish(fig, 380, ("batch size", "batch size"),
                   ("spread over batches of the stats used", "spread of one sample's output"),
                   xaxis=log_x, xaxis2=log_x, yaxis=dict(rangemode="tozero"),
                   yaxis2=dict(rangemode="tozero"))


def training_curves(curves: dict[str, dict]) -> go.Figure:
    """Training loss per logged step (faint) and per epoch (bold), validation accuracy."""
    fig = _panels()
    traces = []
    for i, (name, c) in enumerate(curves.items()):
        traces.append(go.Scatter(x=c["step"], y=c["loss"], mode="lines", name=name,
                                 legendgroup=name, showlegend=False, opacity=0.3,
                                 line=dict(color=color(i), width=1), hoverinfo="skip",
                                 **_axes(1)))
        if c.get("train_loss"):
            traces.append(go.Scatter(x=c["epoch_step"], y=c["train_loss"], mode="lines+markers",
                                     name=name, legendgroup=name,
                                     line=dict(color=color(i), width=3), **_axes(1)))
        if any(v is not None for v in c.get("val_acc") or []):
            traces.append(go.Scatter(x=c["epoch_step"], y=c["val_acc"], mode="lines+markers",
                                     name=name, legendgroup=name, showlegend=False,
                                     line=dict(color=color(i), width=3), **_axes(2)))
    fig.add_traces(traces)
    return _finish(fig, 400, ("optimizer step", "optimizer step"),
                   ("training loss (cross-entropy)", "validation accuracy"),
                   yaxis=dict(rangemode="tozero"), yaxis2=dict(range=[0, 1.02]))
