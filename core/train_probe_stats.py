"""What the training probe measures, as pure functions of tensors: per-layer weight and gradient
statistics with histograms, display pixels of images, and the grid around 2-D points.

Each function makes at most two host syncs (`.tolist()` on one stacked tensor), because the
probe runs on the training thread and every sync waits for the device's queued work.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import torch

from core.data.bundle import Split
from core.evaluate import evaluate

EVAL_BUDGET = 0.01  # the confusion matrix: 1 % of the run (the other views get 0.8 %)
FINAL_EVAL_S = 0.05  # seconds the final confusion matrix may take even when over budget
MIN_LIVE_EVAL = 500  # samples a live confusion matrix waits for (fewer would mostly be noise)

# Per-step series kept for each parameter tensor (also the keys of snapshot()["layers"]).
LAYER_KEYS = ("step", "weight_mean", "weight_std", "weight_absmax", "weight_norm", "grad_norm",
              "ratio")


def _hist_range(lo: float, hi: float) -> tuple[float, float] | None:
    """The histogram's range; a constant tensor (a fresh zero bias) gets a unit-wide one."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None  # a diverged run: nothing sensible to bin
    if hi <= lo:
        return lo - 0.5, hi + 0.5
    return lo, hi


def _histograms(tensors: Sequence[torch.Tensor], ranges: Sequence[tuple[float, float] | None],
                bins: int) -> list[dict[str, list] | None]:
    """{'counts', 'edges'} per tensor (None where the range is not finite); one host sync."""
    counts = []
    for t, r in zip(tensors, ranges, strict=True):
        if r is None:
            continue
        try:
            counts.append(torch.histc(t, bins=bins, min=r[0], max=r[1]))
        except (RuntimeError, NotImplementedError):  # histc is missing on some backends
            counts.append(torch.histc(t.cpu(), bins=bins, min=r[0], max=r[1]).to(t.device))
    rows = iter(torch.stack(counts).tolist() if counts else [])
    out: list[dict[str, list] | None] = []
    for r in ranges:
        if r is None:
            out.append(None)
            continue
        width = (r[1] - r[0]) / bins
        out.append({"counts": [int(c) for c in next(rows)],
                    "edges": [r[0] + i * width for i in range(bins)] + [r[1]]})
    return out


def layer_stats(named: Sequence[tuple[str, torch.Tensor]], *, bins: int = 30,
                grad_scale: torch.Tensor | None = None) -> dict[str, Any]:
    """Statistics of each parameter tensor and of its .grad (None where it has none).

    Returns {'rows': {name: {weight_mean, weight_std, weight_absmax, weight_norm, grad_norm,
    ratio}}, 'hist': {name: {'weight': {counts, edges}, 'grad': {...} | None}}}. std is the
    population std (correction=0), so a one-element tensor gets 0, not NaN. `grad_scale` undoes
    a GradScaler's scale when the optimizer is handed still-scaled gradients (fused AMP steps).
    """
    with torch.no_grad():
        ws = [p.detach().float() for _, p in named]
        gs = [None if p.grad is None else p.grad.detach().float() for _, p in named]
        if grad_scale is not None:
            gs = [None if g is None else g / grad_scale.float() for g in gs]
        rows = []
        for w, g in zip(ws, gs, strict=True):  # fused kernels: 3 passes over w, 2 over g
            std, mean = torch.std_mean(w, correction=0)
            stats = [mean, std, w.norm(), *torch.aminmax(w)]
            nan = torch.full((), math.nan, device=w.device)
            stats += [nan, nan, nan] if g is None else [g.norm(), *torch.aminmax(g)]
            rows.append(torch.stack(stats))
        # sync 1: every statistic, per tensor mean, std, norm, min, max, grad norm, min, max
        values = torch.stack(rows).tolist() if rows else []
        w_ranges = [_hist_range(v[3], v[4]) for v in values]
        g_ranges = [None if g is None else _hist_range(v[6], v[7])
                    for g, v in zip(gs, values, strict=True)]
        present = [g for g in gs if g is not None]
        hists = _histograms(ws + present, w_ranges + [r for g, r in zip(gs, g_ranges, strict=True)
                                                      if g is not None], bins)  # sync 2
    w_hists, g_iter = hists[:len(ws)], iter(hists[len(ws):])
    out_rows, out_hist = {}, {}
    for (name, _), v, g, wh in zip(named, values, gs, w_hists, strict=True):
        grad_norm = None if g is None else v[5]
        ratio = (None if grad_norm is None else grad_norm / v[2] if v[2] > 0 else math.inf)
        absmax = math.nan if math.isnan(v[3]) or math.isnan(v[4]) else max(-v[3], v[4])
        out_rows[name] = {"weight_mean": v[0], "weight_std": v[1], "weight_absmax": absmax,
                          "weight_norm": v[2], "grad_norm": grad_norm, "ratio": ratio}
        out_hist[name] = {"weight": wh, "grad": None if g is None else next(g_iter)}
    return {"rows": out_rows, "hist": out_hist}


def display_pixels(x: torch.Tensor, mean: torch.Tensor | None = None,
                   std: torch.Tensor | None = None) -> list:
    """One image (C, H, W) as 0..255 ints: (H, W) rows for one channel, (H, W, 3) for colour.

    uint8 images are shown as stored; float ones are denormalised with the set's statistics.
    """
    if x.dtype != torch.uint8:
        x = x.float()
        if mean is not None and std is not None:
            x = x * std.view(-1, 1, 1).to(x.device) + mean.view(-1, 1, 1).to(x.device)
        x = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    x = x.cpu()
    if x.shape[0] >= 3:
        return x[:3].permute(1, 2, 0).tolist()
    return x[0].tolist()


def grid_axes(points: torch.Tensor, size: int, margin: float = 0.15) -> tuple[list[float],
                                                                              list[float]]:
    """`size` evenly spaced values along each of the two columns of `points`, covering them
    with `margin` of their range on each side."""
    lo = points.amin(dim=0).tolist()
    hi = points.amax(dim=0).tolist()
    axes = []
    for a, b in zip(lo, hi, strict=True):
        pad = (b - a) * margin if b > a else 1.0
        axes.append(torch.linspace(a - pad, b + pad, size).tolist())
    return axes[0], axes[1]


def subsample(n: int, k: int, seed: int = 0) -> torch.Tensor:
    """At most k row indices of n, the same ones every time (a fixed seed), in order."""
    if n <= k:
        return torch.arange(n)
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=g)[:k].sort().values


def line_axis(values: Sequence[float], size: int, margin: float = 0.1) -> list[float]:
    """`size` evenly spaced values covering `values` with `margin` of their range each side."""
    lo, hi = min(values), max(values)
    pad = (hi - lo) * margin if hi > lo else 1.0
    return torch.linspace(lo - pad, hi + pad, size).tolist()


def plot_points(bundle: Any, k: int, seed: int = 0) -> dict[str, list]:
    """At most k training points of a 1-D or 2-D input set, to draw under a boundary or curve:
    'x' (and 'y' for 2-D inputs), plus 'label' (classes), or the first regression target as
    'y' (1-D inputs) or 'value' (2-D)."""
    s = bundle.train
    rows = subsample(len(s), k, seed).to(s.x.device)
    x, y = s.x[rows].cpu(), s.y[rows].cpu()
    y = y[:, 0] if y.dim() == 2 else y
    one_d = x.shape[1] == 1
    key = "label" if bundle.task == "classification" else "y" if one_d else "value"
    points = {"x": x[:, 0].tolist(), key: y.tolist()}
    if not one_d:
        points["y"] = x[:, 1].tolist()
    return points


def merge_histograms(old: dict[str, Any], rows: Sequence[tuple[int, dict]]) -> dict[str, Any]:
    """The latest histograms per tensor from layer_stats rows (step, stats), oldest first; a
    tensor keeps its previous gradient histogram when a row has none (between steps)."""
    hist = dict(old)
    for step, stats in rows:
        for name, h in stats["hist"].items():
            prev = hist.get(name, {})
            fresh = h["grad"] is not None
            hist[name] = {"weight": h["weight"], "weight_step": step,
                          "grad": h["grad"] if fresh else prev.get("grad"),
                          "grad_step": step if fresh else prev.get("grad_step")}
    return hist


def confusion_view(model: torch.nn.Module, bundle: Any, split: str, objective: Any,
                   n: int) -> dict[str, Any]:
    """Confusion matrix and accuracy on the first n samples of a split (splits are shuffled
    when they are made, so the head is a fair sample): {matrix, class_names, split, n, total,
    accuracy}."""
    s = bundle.split(split)
    sub = dataclasses.replace(bundle, **{split: Split(s.x[:n], s.y[:n])})  # views, no copies
    r = evaluate(model, sub, split, objective, batch_size=512)
    return {"matrix": r.confusion, "class_names": list(bundle.class_names), "split": split,
            "n": r.n, "total": len(s), "accuracy": r.accuracy}


def confusion_size(target: int, rate: float | None, since_last: float, final: bool) -> int:
    """Samples the confusion matrix may use (0: not yet), at `rate` samples/s of forward pass,
    `since_last` seconds after the previous one: what EVAL_BUDGET of that time pays for, up to
    `target`; live, nothing until that is MIN_LIVE_EVAL (or all of a smaller target); at the
    end, at least FINAL_EVAL_S worth."""
    if rate is None:  # nothing measured or reported yet to estimate the cost from
        return min(target, 200) if final else 0
    affordable = min(target, int(rate * EVAL_BUDGET * since_last))
    if final:
        return min(target, max(affordable, int(rate * FINAL_EVAL_S), 1))
    return affordable if affordable >= min(target, MIN_LIVE_EVAL) else 0
