"""Per-layer charts of a run: weight and gradient statistics over steps, and the latest
histograms (input: core.train_probe.Probe.snapshot()['layers'])."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from ui.theme import color, log_dtick, style
from ui.train_charts_base import no_data, pairs

# kind -> (axis title, log axis?)
LAYER_KINDS: dict[str, tuple[str, bool]] = {
    "weight_std": ("weight std", False),
    "weight_mean": ("weight mean", False),
    "weight_absmax": ("largest |weight|", False),
    "weight_norm": ("weight L2 norm", False),
    "grad_norm": ("gradient L2 norm (log)", True),
    "ratio": ("gradient norm / weight norm (log)", True),
}


def _names(layers: dict, names: Sequence[str] | None) -> list[str]:
    known = list(layers.get("names") or [])
    return known if names is None else [n for n in names if n in known]


def layer_stats_figure(layers: dict | None, kind: str = "grad_norm",
                       names: Sequence[str] | None = None) -> go.Figure:
    """One line per parameter tensor (weights and biases of each layer) over the steps:
    kind is one of LAYER_KINDS; `names` picks tensors (default: all)."""
    if kind not in LAYER_KINDS:
        raise ValueError(f"kind must be one of {', '.join(LAYER_KINDS)}, got {kind!r}")
    series = (layers or {}).get("series") or {}
    title, log = LAYER_KINDS[kind]
    fig, values = go.Figure(), []
    for i, name in enumerate(_names(layers or {}, names)):
        s = series.get(name) or {}
        x, y = pairs(s.get("step", []), s.get(kind, []))
        if log:
            x, y = pairs(x, [v if v > 0 and math.isfinite(v) else None for v in y])
        values += y
        if y:
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines+markers", name=name, marker=dict(size=4),
                line=dict(color=color(i), width=1.5, dash="dot" if name.endswith("bias")
                          else None),
                hovertemplate=f"{name}<br>step %{{x}}<br>%{{y:.4g}}<extra></extra>"))
    if not fig.data:
        return no_data("No gradients yet: they appear after the first update."
                       if kind in ("grad_norm", "ratio") and series else
                       "No layer statistics yet.", height=340)
    fig.update_layout(xaxis_title="step", yaxis=dict(title=title, type="log" if log else None,
                                                     dtick=log_dtick(values) if log else None))
    return style(fig, height=360)


def layer_histogram_figure(layers: dict | None, which: str = "weight",
                           names: Sequence[str] | None = None, columns: int = 3,
                           max_panels: int = 12) -> go.Figure:
    """The latest histogram of each tensor's weights (or gradients), one small panel per
    tensor, each on its own value range."""
    if which not in ("weight", "grad"):
        raise ValueError(f"which must be 'weight' or 'grad', got {which!r}")
    hist = (layers or {}).get("hist") or {}
    shown = [n for n in _names(layers or {}, names) if (hist.get(n) or {}).get(which)]
    if not shown:
        return no_data(f"No {'gradient' if which == 'grad' else 'weight'} histograms yet.",
                       height=300)
    total, shown = len(shown), shown[:max_panels]
    cols = max(1, min(columns, len(shown)))
    rows = math.ceil(len(shown) / cols)
    gx, gy = 0.06, 0.35 / rows  # gaps between panels (fractions of the figure)
    w, h = (1 - gx * (cols - 1)) / cols, (1 - gy * (rows - 1)) / rows
    traces, notes, layout, steps = [], [], {}, set()
    for i, name in enumerate(shown):
        r, c = divmod(i, cols)
        ax = "" if i == 0 else str(i + 1)
        x0, y1 = c * (w + gx), 1 - r * (h + gy)
        # Rounding can put a panel edge a hair outside [0, 1], which plotly refuses.
        layout[f"xaxis{ax}"] = dict(domain=[max(0.0, x0), min(1.0, x0 + w)], anchor=f"y{ax}",
                                    tickfont=dict(size=9))
        layout[f"yaxis{ax}"] = dict(domain=[max(0.0, y1 - h), min(1.0, y1)], anchor=f"x{ax}",
                                    tickfont=dict(size=9))
        h_ = hist[name][which]
        edges, counts = h_["edges"], h_["counts"]
        centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
        step = hist[name].get(f"{which}_step")
        traces.append(go.Bar(x=centers, y=counts, width=edges[1] - edges[0], name=name,
                             marker=dict(color=color(i), line=dict(width=0)),
                             xaxis=f"x{ax}", yaxis=f"y{ax}",
                             hovertemplate=f"{name}<br>≈%{{x:.3g}}: %{{y}}<extra></extra>"))
        steps.add(step)
        notes.append(dict(text=name, x=x0 + w / 2, y=y1, xref="paper",
                          yref="paper", yanchor="bottom", showarrow=False, font=dict(size=11)))
    # One Figure call: adding panels and notes one by one validates the layout each time.
    fig = go.Figure(data=traces, layout=dict(bargap=0, annotations=notes, **layout))
    note = f" (first {len(shown)} of {total})" if total > len(shown) else ""
    if len(steps) == 1 and None not in steps:  # one snapshot: say when, once
        note += f" at step {steps.pop()}"
    return style(fig, height=150 * rows + 60, legend=False,
                 title=f"{'gradient' if which == 'grad' else 'weight'} histograms{note}")
