"""What the training probe measures, as pure functions of tensors: per-layer weight and gradient
statistics with histograms, display pixels of images, and the grid around 2-D points.

Each function makes at most two host syncs (`.tolist()` on one stacked tensor), because the
probe runs on the training thread and every sync waits for the device's queued work.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

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
        for w, g in zip(ws, gs, strict=True):
            stats = [w.mean(), w.std(correction=0), w.abs().max(), w.norm(), w.min(), w.max()]
            nan = torch.full((), math.nan, device=w.device)
            stats += [nan, nan, nan] if g is None else [g.norm(), g.min(), g.max()]
            rows.append(torch.stack(stats))
        values = torch.stack(rows).tolist() if rows else []  # sync 1: every statistic
        w_ranges = [_hist_range(v[4], v[5]) for v in values]
        g_ranges = [None if g is None else _hist_range(v[7], v[8])
                    for g, v in zip(gs, values, strict=True)]
        present = [g for g in gs if g is not None]
        hists = _histograms(ws + present, w_ranges + [r for g, r in zip(gs, g_ranges, strict=True)
                                                      if g is not None], bins)  # sync 2
    w_hists, g_iter = hists[:len(ws)], iter(hists[len(ws):])
    out_rows, out_hist = {}, {}
    for (name, _), v, g, wh in zip(named, values, gs, w_hists, strict=True):
        grad_norm = None if g is None else v[6]
        ratio = (None if grad_norm is None else grad_norm / v[3] if v[3] > 0 else math.inf)
        out_rows[name] = {"weight_mean": v[0], "weight_std": v[1], "weight_absmax": v[2],
                          "weight_norm": v[3], "grad_norm": grad_norm, "ratio": ratio}
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
