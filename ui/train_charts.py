"""Chart builders for the training page: data in, go.Figure out (no streamlit here).

This module holds the History charts (curves, LR and gradient norm, throughput, progress);
the probe's views are in ui/train_charts_views.py (boundary, curve, images, confusion) and
ui/train_charts_layers.py (per-layer statistics), re-exported here so the page imports one
module. Every builder returns a "no data yet" figure for empty or None input.

`runs` is a list of {"label": str, "snapshot": History.snapshot(max_points=2000)}, oldest
first; the run with "current": True (else the last one) is drawn solid and on top, earlier
runs in other colours, dashed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from ui.theme import PRIMARY, color, log_dtick, style, styled_layout
from ui.train_charts_base import no_data, pairs, side_by_side, thousands
from ui.train_charts_layers import layer_histogram_figure, layer_stats_figure
from ui.train_charts_views import (
    boundary_figure,
    confusion_figure,
    curve_figure,
    image_grid_figure,
    thin_points,
)

__all__ = ["boundary_figure", "confusion_figure", "curve_figure", "curves_figure",
           "image_grid_figure", "layer_histogram_figure", "layer_stats_figure",
           "lr_gradnorm_figure", "progress_text", "thin_points", "throughput_figure"]

METRICS = {"loss": ("loss", "val_loss", "loss"), "acc": ("acc", "val_acc", "accuracy")}


def _runs(runs: Sequence[dict] | None) -> list[tuple[str, dict, bool, str, str | None]]:
    """(label, snapshot, is_current, colour, dash) per run with a snapshot, current last."""
    runs = [r for r in (runs or []) if r and r.get("snapshot")]
    if not runs:
        return []
    cur = next((i for i, r in enumerate(runs) if r.get("current")), len(runs) - 1)
    out, k = [], 0
    for i, r in enumerate(runs):
        if i == cur:
            continue
        k += 1
        out.append((str(r.get("label", f"run {i + 1}")), r["snapshot"], False, color(k), "dash"))
    r = runs[cur]
    out.append((str(r.get("label", f"run {cur + 1}")), r["snapshot"], True, PRIMARY, None))
    return out


MAX_MARKERS = 60  # validation points drawn with a marker; more read as a line


def _per_epoch(snapshot: dict) -> float | None:
    return ((snapshot.get("started") or {}).get("steps_per_epoch")) or None


def _arrays(*columns: Sequence[float]) -> list[np.ndarray]:
    return [np.asarray(c, dtype=float) for c in columns]


def curves_figure(runs: Sequence[dict] | None, metric: str = "loss") -> go.Figure:
    """Training (per logged step, light) and validation (per epoch, markers) loss or accuracy
    against epochs; a step counts as step / steps_per_epoch of an epoch."""
    if metric not in METRICS:
        raise ValueError(f"metric must be 'loss' or 'acc', got {metric!r}")
    step_key, val_key, title = METRICS[metric]
    traces = []
    for label, snap, current, col, dash in _runs(runs):
        steps, epochs = snap.get("steps") or {}, snap.get("epochs") or {}
        spe = _per_epoch(snap)
        xs = [s / spe for s in steps.get("step", [])] if spe else list(steps.get("step", []))
        # numpy arrays: plotly validates a list element by element (12 ms of a 15 ms build at
        # 600 points, redone every second while a run trains), an array in one copy
        x, y = _arrays(*pairs(xs, steps.get(step_key, [])))
        vx, vy = _arrays(*pairs(epochs.get("epoch", []), epochs.get(val_key, [])))
        width = 2 if current else 1.2
        if len(y):
            traces.append(go.Scatter(
                x=x, y=y, mode="lines", name=f"{label} · train", legendgroup=label,
                opacity=0.75 if current else 0.4, line=dict(color=col, width=width, dash=dash),
                hovertemplate="epoch %{x:.2f}<br>train " + title + " %{y:.4g}<extra></extra>"))
        if len(vy):
            traces.append(go.Scatter(  # markers are SVG nodes: only while they are few
                x=vx, y=vy, mode="lines+markers" if len(vy) <= MAX_MARKERS else "lines",
                name=f"{label} · validation",
                legendgroup=label, line=dict(color=col, width=width + 0.5, dash=dash),
                marker=dict(size=7 if current else 5, color=col),
                hovertemplate="epoch %{x}<br>validation " + title + " %{y:.4g}<extra></extra>"))
    if not traces:
        logged = any((snap.get("steps") or {}).get("loss") for _, snap, *_ in _runs(runs))
        return no_data("No accuracy: this is a regression run." if metric == "acc" and logged
                       else f"No {title} yet: it appears after the first logged steps.")
    yaxis = dict(title=title, tickformat=".0%") if metric == "acc" else dict(title=title)
    return go.Figure(traces, styled_layout(height=360, xaxis=dict(title="epoch"), yaxis=yaxis))


def lr_gradnorm_figure(runs: Sequence[dict] | None) -> go.Figure:
    """Learning rate (left) and total gradient norm before clipping (right, log scale) against
    the optimizer step."""
    fig, drawn, top = side_by_side(), 0, 0.0
    grad_norms: list[float] = []
    for label, snap, current, col, dash in _runs(runs):
        steps = snap.get("steps") or {}
        line = dict(color=col, width=2 if current else 1.2, dash=dash)
        for panel, key, name in ((1, "lr", "learning rate"), (2, "grad_norm", "gradient norm")):
            x, y = pairs(steps.get("step", []), steps.get(key, []))
            if key == "grad_norm":
                x, y = pairs(x, [v if v > 0 else None for v in y])  # log axis: positives only
            if not y:
                continue
            drawn += 1
            if key == "lr":
                top = max(top, *(v for v in y if v is not None and math.isfinite(v)), 0.0)
            else:
                grad_norms += y
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines", name=label, legendgroup=label, showlegend=panel == 1,
                line=line, xaxis="x" if panel == 1 else "x2", yaxis="y" if panel == 1 else "y2",
                hovertemplate="step %{x}<br>" + name + " %{y:.4g}<extra></extra>"))
    if not drawn:
        return no_data("No learning rate or gradient norm yet.")
    # From 0 to just above the highest LR: a constant LR would otherwise get plotly's +-1 range
    # around it and sit on the zero line.
    fig.update_layout(xaxis_title="step", xaxis2_title="step", yaxis_title="learning rate",
                      yaxis_range=[0, top * 1.1 if top > 0 else 1],
                      yaxis2=dict(title="gradient norm (log)", type="log", anchor="x2",
                                  dtick=log_dtick(grad_norms)))
    return style(fig, height=320)


def throughput_figure(snapshot: dict | None) -> go.Figure:
    """Training samples per second between logged steps."""
    steps = (snapshot or {}).get("steps") or {}
    x, y = pairs(steps.get("step", []), steps.get("samples_per_s", []))
    if not y:
        return no_data("No throughput yet.", height=260)
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines", name="samples/s",
                               line=dict(color=PRIMARY, width=1.5),
                               hovertemplate="step %{x}<br>%{y:,.0f} samples/s<extra></extra>"))
    fig.update_layout(xaxis_title="step", yaxis_title="samples / s", yaxis_rangemode="tozero")
    return style(fig, height=260, legend=False)


def duration(seconds: float) -> str:
    """0.24 -> '0.2 s', 12 -> '12 s', 185 -> '3 min 05 s', 7300 -> '2 h 01 min'."""
    if seconds < 9.95:  # a short run should not read "0 s"
        return f"{max(0.0, seconds):.1f} s"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def progress_text(snapshot: dict | None) -> str:
    """'epoch 3/20 · 45 % · 1 234 samples/s · 12 s left' (or how the run ended)."""
    started, finished = (snapshot or {}).get("started"), (snapshot or {}).get("finished")
    if not started:  # not started yet, or failed before its first step (e.g. missing data)
        return (f"{finished['reason'].replace('_', ' ')} after {duration(finished['elapsed'])}"
                if finished else "waiting for the run to start")
    steps: dict[str, Any] = snapshot.get("steps") or {}
    epochs_total = started["config"]["epochs"]
    total, spe = max(started["total_steps"], 1), max(started["steps_per_epoch"], 1)
    first = started.get("start_step", started.get("start_epoch", 0) * spe)  # resumed from
    step = steps["step"][-1] if steps.get("step") else first
    epoch = steps["epoch"][-1] if steps.get("epoch") else started.get("start_epoch", 0) + 1
    if finished:
        step, epoch = finished["steps"], finished["epochs"]
    parts = [f"epoch {min(epoch, epochs_total)}/{epochs_total}", f"{100 * step / total:.0f} %"]
    if steps.get("samples_per_s"):
        parts.append(f"{thousands(steps['samples_per_s'][-1])} samples/s")
    if finished:
        reason = finished["reason"].replace("_", " ")
        parts.append(f"{reason} after {duration(finished['elapsed'])}")
    elif steps.get("elapsed") and step > first:
        left = steps["elapsed"][-1] / (step - first) * (total - step)
        parts.append(f"{duration(left)} left")
    return " · ".join(parts)
