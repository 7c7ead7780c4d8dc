"""ReduceLROnPlateau driven by a simulated validation metric, with every decision explained.

`simulate_metric` draws a validation loss (or, for mode='max', an accuracy) of a chosen shape.
`run_plateau` steps the REAL torch scheduler with it, one call per epoch, and reads the
scheduler's own counters (best, num_bad_epochs, cooldown_counter) after each call to say why
the LR did or did not change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau

SHAPES = ("decay", "plateaus", "noisy", "rising")
SHAPE_HELP = {
    "decay": "exponential decay towards a floor",
    "plateaus": "decay that stalls for plateau_len epochs at each plateau epoch",
    "noisy": "reaches its floor early; after that only noise moves it",
    "rising": "falls, then rises again from 40% of the run (over-fitting)",
}
METRIC_DEFAULTS: dict[str, Any] = {"shape": "plateaus", "noise": 0.01, "seed": 0,
                                   "plateau_at": [6, 16], "plateau_len": 6}


@dataclass(frozen=True)
class PlateauStep:
    """What one scheduler.step(metric) did, read from the scheduler itself."""

    epoch: int
    metric: float
    best_before: float
    best: float
    needed: float  # the value the metric had to beat to count as an improvement
    num_bad_epochs: int
    cooldown_counter: int
    lr_before: float
    lr: float
    event: str  # baseline, improved, bad, cooldown, reduced, floor
    why: str


def check_metric(m: dict[str, Any], epochs: int) -> dict[str, Any]:
    """The simulation settings with defaults filled in (ValueError on bad values)."""
    out = {**METRIC_DEFAULTS, **(m or {})}
    if out["shape"] not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}, got {out['shape']!r}")
    if not 0 <= float(out["noise"]) <= 0.5:
        raise ValueError(f"noise must be in [0, 0.5], got {out['noise']}")
    if not 0 <= int(out["seed"]) < 2**32:
        raise ValueError("seed must be in [0, 2**32)")
    if not 1 <= int(out["plateau_len"]) <= 10_000:
        raise ValueError(f"plateau_len must be in [1, 10000], got {out['plateau_len']}")
    at = [int(a) for a in out["plateau_at"]]
    if any(a < 0 for a in at):
        raise ValueError(f"plateau epochs must be >= 0, got {at}")
    at = [a for a in at if a < epochs]  # a plateau after the run's end simply never happens
    return {**out, "noise": float(out["noise"]), "seed": int(out["seed"]), "plateau_at": at,
            "plateau_len": int(out["plateau_len"])}


def simulate_metric(m: dict[str, Any], epochs: int, mode: str = "min") -> list[float]:
    """One validation value per epoch, rounded to 6 significant digits (as shown and copied)."""
    m = check_metric(m, epochs)
    t = np.arange(epochs, dtype=float)
    tau = max(epochs / 5.0, 1.0)
    if m["shape"] == "plateaus":
        stalled = np.zeros(epochs)
        for a in m["plateau_at"]:  # time stops advancing inside each plateau window
            stalled += np.clip(t - a, 0, m["plateau_len"])
        t = t - stalled
    elif m["shape"] == "noisy":
        tau = max(epochs / 15.0, 1.0)
    loss = 0.2 + 2.0 * np.exp(-t / tau)
    if m["shape"] == "rising":
        turn = 0.4 * epochs
        loss = loss + 1.5 * (np.clip(t - turn, 0, None) / max(epochs, 1)) ** 1.5
    rng = np.random.default_rng(m["seed"])
    loss = loss * (1.0 + m["noise"] * rng.standard_normal(epochs))
    values = 1.0 - 0.4 * loss if mode == "max" else loss  # an accuracy-like metric for 'max'
    return [float(f"{v:.6g}") for v in values]


def needed_value(best: float, mode: str, threshold: float, threshold_mode: str) -> float:
    """The value the next metric must beat (torch's _is_better, written out)."""
    if mode == "min":
        return best * (1 - threshold) if threshold_mode == "rel" else best - threshold
    return best * (1 + threshold) if threshold_mode == "rel" else best + threshold


def run_plateau(sched: ReduceLROnPlateau, optimizer: torch.optim.Optimizer,
                metrics: list[float]) -> list[PlateauStep]:
    """Step `sched` once per epoch with `metrics` and explain each decision."""
    steps: list[PlateauStep] = []
    for epoch, value in enumerate(metrics):
        lr_before = float(optimizer.param_groups[0]["lr"])
        best_before, bad_before = float(sched.best), int(sched.num_bad_epochs)
        cool_before = int(sched.cooldown_counter)
        optimizer.step()  # the epoch's training (a no-op here), then validation, then:
        sched.step(value)
        lr = float(optimizer.param_groups[0]["lr"])
        need = needed_value(best_before, sched.mode, sched.threshold, sched.threshold_mode)
        event, why = _explain(sched, value, best_before, need, bad_before, cool_before,
                              lr_before, lr)
        steps.append(PlateauStep(epoch, value, best_before, float(sched.best), need,
                                 int(sched.num_bad_epochs), int(sched.cooldown_counter),
                                 lr_before, lr, event, why))
    return steps


def _explain(s: ReduceLROnPlateau, value: float, best: float, need: float, bad_before: int,
             cool_before: int, lr_before: float, lr: float) -> tuple[str, str]:
    """(event, sentence) for one step, from the counters before and after it."""
    cmp = "<" if s.mode == "min" else ">"
    if math.isinf(best):
        return "baseline", f"first value {value:.6g} becomes the best"
    rule = (f"best {best:.6g} x (1 {'-' if s.mode == 'min' else '+'} {s.threshold:g})"
            if s.threshold_mode == "rel" else
            f"best {best:.6g} {'-' if s.mode == 'min' else '+'} {s.threshold:g}")
    improved = float(s.best) != best
    test = f"{value:.6g} {cmp} {rule} = {need:.6g}"
    if improved:
        head = f"improved: {test}; bad epochs reset to 0"
    else:
        head = f"not better: {value:.6g} is not {cmp} {need:.6g} ({rule})"
    if cool_before > 0:
        return "cooldown", (f"{head}; in cooldown ({cool_before} epoch(s) left), so bad epochs "
                            "are not counted")
    bad = 0 if improved else bad_before + 1
    if bad <= s.patience:
        return ("improved" if improved else "bad"), (
            head if improved else f"{head}; bad epochs {bad} of patience {s.patience}")
    reason = f"{head}; {bad} bad epochs > patience {s.patience}"
    cool = f"; cooldown {s.cooldown} epoch(s) starts" if s.cooldown else ""
    if lr < lr_before:
        clamp = " (clamped at min_lr)" if lr_before * s.factor < s.min_lrs[0] else ""
        return "reduced", (f"{reason} -> LR {lr_before:.6g} x {s.factor:g} = {lr:.6g}"
                           f"{clamp}{cool}")
    target = max(lr_before * s.factor, s.min_lrs[0])
    if lr_before < s.min_lrs[0]:
        return "floor", (f"{reason}, but the LR {lr_before:.6g} is already below min_lr "
                         f"{s.min_lrs[0]:g} and torch never raises it: unchanged{cool}")
    if target >= lr_before or lr_before - target <= s.eps and target == s.min_lrs[0]:
        return "floor", (f"{reason}, but the LR is already at min_lr {s.min_lrs[0]:g}: "
                         f"unchanged{cool}")
    return "floor", (f"{reason}, but the cut {lr_before:.6g} -> {target:.6g} is not more than "
                     f"eps {s.eps:g}, so torch skips it: unchanged{cool}")
