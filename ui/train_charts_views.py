"""The training probe's views as charts: decision boundary, regression curve, image grid and
confusion matrix (inputs: the matching entries of core.train_probe.Probe.snapshot())."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from ui.theme import BAD, MUTED, PRIMARY, SEQUENTIAL, style, styled_layout
from ui.train_charts_base import class_color, no_data, rgba, thousands


def _class_bands(k: int) -> list[list]:
    """A colorscale with one band per class, pale (unsure) to strong (sure): with zmin=0 and
    zmax=k, z = class + confidence lands in its class's band at its shade."""
    scale: list[list] = []
    for i in range(k):
        scale += [[i / k, rgba(class_color(i), 0.06)], [(i + 1) / k, rgba(class_color(i), 0.6)]]
    return scale


def thin_points(points: dict | None, max_points: int | None) -> dict:
    """Every k-th of the plotted points (all of them when max_points is None). The probe's
    points are a random sample in row order, so every k-th keeps each class's share."""
    points = points or {}
    n = len(points.get("x") or [])
    if max_points is None or n <= max_points:
        return points
    k = math.ceil(n / max_points)
    return {key: values[::k] for key, values in points.items()}


def boundary_figure(boundary: dict | None, max_points: int | None = None) -> go.Figure:
    """Predicted class over the input plane, shaded by the model's confidence, under the
    training points coloured by their label (regression: the predicted value); at most
    max_points of them (the live chart draws fewer: each is an SVG node redrawn every tick)."""
    if not boundary or not boundary.get("xs"):
        return no_data("No decision boundary yet.", height=420)
    xs, ys = boundary["xs"], boundary["ys"]
    pts = thin_points(boundary.get("points"), max_points)
    traces: list = []
    if "pred" in boundary:
        pred, prob = np.asarray(boundary["pred"]), np.asarray(boundary["prob"], dtype=float)
        names = list(boundary.get("class_names") or [])
        k = max(len(names), int(pred.max()) + 1, 2)
        names += [f"class {i}" for i in range(len(names), k)]
        # Confidence above chance (1/k) as 0..1, so a coin-flip region is pale whatever k is.
        sure = np.clip((prob - 1 / k) / (1 - 1 / k), 0, 0.999)
        # Numbers, not a string per cell: numpy arrays travel as compact typed arrays, and the
        # chart is resent every second while a run trains (a text array was 80 % of its JSON).
        traces.append(go.Heatmap(
            x=np.asarray(xs), y=np.asarray(ys), z=(pred + sure).astype(np.float32), zmin=0,
            zmax=k, colorscale=_class_bands(k), showscale=False, zsmooth="fast",
            customdata=prob.astype(np.float32), name="prediction",
            hovertemplate="(%{x:.2f}, %{y:.2f})<br>p(predicted class) = %{customdata:.2f}"
                          "<extra></extra>"))
        labels = np.asarray(pts.get("label", []), dtype=int)
        px, py = np.asarray(pts.get("x", [])), np.asarray(pts.get("y", []))
        for c in range(k):
            m = labels == c
            if m.any():
                traces.append(go.Scatter(
                    x=px[m], y=py[m], mode="markers", name=names[c],
                    marker=dict(color=class_color(c), size=6, line=dict(color="white", width=0.6)),
                    hovertemplate=f"{names[c]}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>"))
    else:
        traces.append(go.Heatmap(x=xs, y=ys, z=boundary["value"], colorscale=SEQUENTIAL, zsmooth="fast",
                                 opacity=0.6, name="prediction", colorbar=dict(title="output"),
                                 hovertemplate="(%{x:.2f}, %{y:.2f})<br>output %{z:.3g}"
                                               "<extra></extra>"))
        if pts.get("x"):
            traces.append(go.Scatter(
                x=pts["x"], y=pts["y"], mode="markers", name="training points",
                marker=dict(color=pts.get("value"), colorscale=SEQUENTIAL, size=6,
                            line=dict(color="white", width=0.6))))
    # The step goes in the axis title: a figure title would collide with the legend on top.
    step = boundary.get("step", 0)
    # One go.Figure(data, layout): update_layout on a built figure cost ms (redrawn each second)
    return go.Figure(traces, styled_layout(
        height=460,
        xaxis=dict(title=f"x₁ (standardised) · after step {step}", range=[xs[0], xs[-1]],
                   constrain="domain"),
        yaxis=dict(title="x₂ (standardised)", range=[ys[0], ys[-1]], scaleanchor="x",
                   constrain="domain")))


def curve_figure(curve: dict | None, max_points: int | None = None) -> go.Figure:
    """A 1-D regression model's output over x, on top of (at most max_points of) the training
    points."""
    if not curve or not curve.get("x"):
        return no_data("No regression curve yet.", height=380)
    fig = go.Figure()
    pts = thin_points(curve.get("points"), max_points)
    if pts.get("x"):
        fig.add_trace(go.Scatter(x=pts["x"], y=pts["y"], mode="markers", name="training points",
                                 marker=dict(color=MUTED, size=5)))
    fig.add_trace(go.Scatter(x=curve["x"], y=curve["y"], mode="lines", name="model",
                             line=dict(color=PRIMARY, width=3)))
    fig.update_layout(xaxis_title=f"x (standardised) · after step {curve.get('step', 0)}",
                      yaxis_title="y")
    return style(fig, height=380)


def _tile(pixels: list) -> np.ndarray:
    """An (H, W) or (H, W, 3) 0..255 image as opaque (H, W, 4) uint8 RGBA."""
    a = np.asarray(pixels, dtype=np.uint8)
    rgb = np.repeat(a[:, :, None], 3, axis=2) if a.ndim == 2 else a[:, :, :3]
    return np.concatenate([rgb, np.ones(rgb.shape[:2] + (1,), np.uint8)], axis=2)


def image_grid_figure(images: dict | None, columns: int = 8) -> go.Figure:
    """Sample images in a grid titled 'label → prediction'; mistakes framed and titled in red.

    One stitched go.Image (one trace, not one subplot per image, which is slow to build)."""
    items = (images or {}).get("items") or []
    if not items:
        return no_data("No image predictions yet.", height=260)
    names = list(images.get("class_names") or [])
    tiles = [_tile(it["pixels"]) for it in items]
    h, w = tiles[0].shape[:2]
    frame, gap, band = max(1, round(h / 14)), max(1, round(w / 8)), max(4, round(h * 0.45))
    cols = max(1, min(columns, len(items)))
    rows = math.ceil(len(items) / cols)
    ch, cw = band + h + 2 * frame, w + 2 * frame + gap
    canvas = np.zeros((rows * ch, cols * cw, 4), np.uint8)  # alpha 0: the page shows through
    red = np.array([int(BAD[i:i + 2], 16) for i in (1, 3, 5)] + [1], np.uint8)
    notes = []
    for n, (it, tile) in enumerate(zip(items, tiles, strict=True)):
        r, c = divmod(n, cols)
        top, left = r * ch + band, c * cw
        if not it["correct"]:
            canvas[top:top + h + 2 * frame, left:left + w + 2 * frame] = red
        canvas[top + frame:top + frame + h, left + frame:left + frame + w] = tile[:h, :w]
        label = names[it["label"]] if it["label"] < len(names) else str(it["label"])
        pred = names[it["pred"]] if it["pred"] < len(names) else str(it["pred"])
        notes.append(dict(x=left + frame + w / 2, y=r * ch + band / 2, showarrow=False,
                          text=f"{label} → {pred}",
                          hovertext=f"confidence {it['confidence']:.0%}",
                          font=dict(size=11, color=None if it["correct"] else BAD)))
    # One Figure call: add_annotation one by one re-validates the layout each time (slow).
    fig = go.Figure(go.Image(z=canvas, colormodel="rgba", hoverinfo="skip", name="images"),
                    layout=dict(annotations=notes, xaxis=dict(visible=False),
                                yaxis=dict(visible=False)))
    wrong = sum(not it["correct"] for it in items)
    return style(fig, height=rows * 120 + 40, legend=False,
                 title=f"{wrong} of {len(items)} wrong, after step {images.get('step', 0)}")


def confusion_figure(confusion: dict | None, normalize: bool = False) -> go.Figure:
    """Counts of true class (rows) predicted as each class (columns); normalize=True shows
    each row as fractions of that class's samples (its recall on the diagonal)."""
    if not confusion or not confusion.get("matrix"):
        return no_data("No confusion matrix yet.", height=400)
    m = np.asarray(confusion["matrix"], dtype=float)
    k = m.shape[0]
    names = [str(s) for s in (confusion.get("class_names") or [])][:k]
    names += [str(i) for i in range(len(names), k)]
    counts = m.astype(int)
    if normalize:
        totals = m.sum(axis=1, keepdims=True)
        z = np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
        text = [[f"{v:.0%}" for v in row] for row in z]
    else:
        z, text = m, [[str(v) for v in row] for row in counts]
    fig = go.Figure(go.Heatmap(
        z=z, x=names, y=names, colorscale=SEQUENTIAL, text=text, customdata=counts,
        texttemplate="%{text}" if k <= 20 else None, showscale=False,
        hovertemplate="true %{y}, predicted %{x}<br>%{customdata} samples<extra></extra>"))
    fig.update_layout(xaxis=dict(title="predicted", type="category", side="bottom"),
                      yaxis=dict(title="true", type="category", autorange="reversed"))
    acc = confusion.get("accuracy")
    title = (f"{confusion.get('split', '')}: {thousands(confusion.get('n', m.sum()))} of "
             f"{thousands(confusion.get('total', m.sum()))} samples"
             + (f" · accuracy {acc:.1%}" if acc is not None else ""))
    return style(fig, height=max(320, 32 * k + 120), legend=False, title=title)
