"""Explanations of what torch warned about, and of schedule pitfalls the curve shows.

Torch's own warnings are captured with warnings.catch_warnings(record=True) while the real
scheduler is stepped; each known one gets a plain-words explanation and the fix. Pitfalls torch
does not warn about (a cosine that comes back up after T_max, a OneCycleLR cycle cut short...)
are detected from the spec and the recorded curve.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from itertools import pairwise
from typing import Any


@dataclass(frozen=True)
class Note:
    """One message for the learner: `source` is 'torch' (a warning or error) or 'page'."""

    source: str
    title: str
    text: str
    raw: str = ""  # torch's own words, when it said something


_KNOWN = (
    ("before `optimizer.step()`", "Scheduler stepped before the optimizer",
     "The loop called `scheduler.step()` before the first `optimizer.step()`. Since PyTorch "
     "1.1 the order is `optimizer.step()` first, then `scheduler.step()`. In the other order "
     "the first value of the schedule is skipped: every step trains with the LR meant for the "
     "next one (the whole curve is shifted left by one step)."),
    ("has been overridden after learning rate scheduler", "optimizer.step was replaced",
     "`optimizer.step` was overridden after the scheduler was created, so torch can't check "
     "the call order any more. Create the scheduler after patching the optimizer."),
    ("epoch parameter in `scheduler.step()`", "step(epoch) is deprecated",
     "Passing an epoch to `scheduler.step(epoch)` jumps to that position using the closed-form "
     "formula. Only CosineAnnealingWarmRestarts is meant to be used this way; call "
     "`scheduler.step()` for the others."),
    ("use `get_last_lr()`", "get_lr() called directly",
     "`get_lr()` computes the NEXT value and may have side effects; read the current LR with "
     "`scheduler.get_last_lr()` or `optimizer.param_groups[0]['lr']`."),
)


def explain_warnings(caught: list[warnings.WarningMessage]) -> list[Note]:
    """One Note per distinct warning torch emitted, explained when we know it."""
    notes: list[Note] = []
    seen: set[str] = set()
    for w in caught:
        raw = str(w.message)
        if raw in seen:
            continue
        seen.add(raw)
        for needle, title, text in _KNOWN:
            if needle in raw:
                notes.append(Note("torch", title, text, raw))
                break
        else:
            notes.append(Note("torch", f"PyTorch warned ({w.category.__name__})",
                              "This warning came from torch while stepping the schedule.", raw))
    return notes


def onecycle_overrun(exc: Exception, i: int, n: int) -> Note:
    """OneCycleLR raised because the loop has more steps than its total_steps."""
    return Note(
        "torch", "OneCycleLR stepped past total_steps",
        f"The loop has {n} steps but the cycle only {i}: at scheduler step {i + 1} torch "
        "raised ValueError, which would crash a real training run there (the curve stops "
        "where it did). Make total_steps = epochs x steps_per_epoch (or pass epochs= and "
        "steps_per_epoch=, total_steps = 0 here), and step it once per batch.", str(exc))


def zero_division(kind: str, i: int) -> Note:
    """Some settings make a torch formula divide by zero (e.g. OneCycleLR pct_start = 1)."""
    onecycle = (" For OneCycleLR, pct_start = 1 (or three_phase with 2·pct_start·total_steps = "
                "total_steps + 1) leaves the last phase empty, so the scheduler.step() after the "
                "last batch divides by zero; take pct_start a little below that."
                if kind in ("OneCycleLR", "SequentialLR", "ChainedScheduler") else "")
    return Note("torch", f"{kind} divided by zero at step {i}",
                "torch raised ZeroDivisionError: a phase of the schedule has length zero."
                f"{onecycle} Move the parameter away from the edge.")


def overflow(kind: str, i: int) -> Note:
    """torch's CyclicLR scales with Python floats that overflow on long runs."""
    return Note("torch", f"{kind} overflowed at step {i}",
                "torch raised OverflowError: CyclicLR computes its amplitude scale in Python "
                "floats, 1 / 2.0**(cycle − 1) for triangular2 and gamma**step for exp_range, and "
                "2.0**1024 or gamma**step past about 1.8e308 is out of range. By then "
                "triangular2's amplitude is 0 to double precision; with exp_range keep gamma ≤ 1 "
                "or train fewer steps. The curve stops here.")


def onecycle_zero_warm_up(pct_start: float, total_steps: int) -> str:
    """Why torch's OneCycleLR divides by zero when pct_start x total_steps = 1 (its warm-up
    runs from step 0 to step pct_start x total_steps - 1, and the constructor already computes
    the LR of step 0), and a pct_start that works."""
    if total_steps > 2:
        fix = f"e.g. {round(2 / total_steps, 6):g}, a warm-up of one step"
    else:  # shorter than one step: torch then starts in the next phase
        fix = f"e.g. {pct_start / 2:g}, no warm-up step"
    return (f"OneCycleLR: pct_start {pct_start:g} x total_steps {total_steps} = "
            f"{pct_start * total_steps:g}, so the warm-up phase runs from step 0 to step "
            f"{pct_start * total_steps - 1:g}: length zero, and torch divides by that length "
            f"when it computes the first LR. Change pct_start ({fix}) or the number of steps.")


def schedule_notes(spec: dict[str, Any], run: dict[str, Any], curve: Any) -> list[Note]:
    """Pitfalls visible in this schedule that torch does not warn about."""
    notes: list[Note] = []
    n = run["epochs"] * (run["steps_per_epoch"] if run["step_every"] == "batch" else 1)
    for s, steps in _spans(spec, n):
        notes += _kind_notes(s["kind"], s["params"], run, steps)
    notes += _composite_notes(spec, n)
    if spec["kind"] == "SequentialLR":
        late = [m for m in spec["params"]["milestones"] if m >= n]
        if late:
            notes.append(Note("page", "A milestone is beyond the run",
                              f"Milestone(s) {late} come after the last of the {n} steps, so "
                              "the scheduler(s) after them never run."))
    if run["order"] == "scheduler_first" and spec["kind"] == "ReduceLROnPlateau":
        notes.append(Note("page", "Order doesn't apply here",
                          "ReduceLROnPlateau.step(metric) needs the epoch's validation value, "
                          "so it can only come after that epoch's training."))
    bad = [i for i, v in enumerate(curve.lr) if not math.isfinite(v) or v < 0]
    if bad:
        notes.append(Note("page", "The LR left the sensible range",
                          f"From step {bad[0]} the LR is {curve.lr[bad[0]]:.3g}: a negative LR "
                          "climbs the loss, an infinite one destroys the weights. Check the "
                          "factor or formula."))
    return notes


# Schedulers whose step computes the LR from their own base LR instead of scaling the current
# one: inside a ChainedScheduler they overwrite what the schedulers before them did.
SETS_LR = ("LambdaLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR")


def _composite_notes(spec: dict[str, Any], n: int) -> list[Note]:
    """Where torch's composite schedulers depart from the simple formula shown (found by
    comparing torch's curves with the formula for every pair of child kinds)."""
    kids = spec.get("children") or []
    kinds = [c["kind"] for c in kids]
    out: list[Note] = []
    if spec["kind"] == "ChainedScheduler":
        direct = sorted({k for k in kinds if k in SETS_LR})
        if direct:
            out.append(Note("page", "Here the factors don't simply multiply",
                            f"{', '.join(direct)} set(s) the LR from its own base LR at every "
                            "step instead of scaling the current LR, so it overwrites what the "
                            "schedulers before it in the chain did, and the ones after it scale "
                            "only their step-to-step ratio onto its value. The product formula "
                            "holds for multiplying schedulers only; the curve is torch's."))
        cos = [c["params"] for c in kids if c["kind"] == "CosineAnnealingLR"]
        if any(p["eta_min"] != 0 or n - 1 > p["T_max"] for p in cos):
            out.append(Note("page", "CosineAnnealingLR chains as a factor only part of the way",
                            "torch's chainable cosine step is a ratio only while eta_min = 0 and "
                            "up to T_max; with eta_min > 0, or past T_max (where its step adds "
                            "to the LR), the chained curve leaves the product formula."))
    if spec["kind"] == "SequentialLR":
        # CyclicLR and OneCycleLR compute from their own parameters, not from initial_lr
        others = [k for k in kinds if k not in ("OneCycleLR", "CyclicLR")]
        if "OneCycleLR" in kinds and others:
            p = kids[kinds.index("OneCycleLR")]["params"]
            out.append(Note("page", "OneCycleLR changes everyone's starting LR",
                            "Building OneCycleLR sets the optimizer's initial_lr to max_lr / "
                            f"div_factor = {p['max_lr'] / p['div_factor']:g}, and every scheduler "
                            f"in the sequence starts from initial_lr: {', '.join(others)} start(s) "
                            "from that, not from the optimizer's lr."))
        elif kinds and kinds[0] == "CyclicLR" and others:
            out.append(Note("page", "CyclicLR changes everyone's starting LR",
                            "CyclicLR, built first, sets the LR to its base_lr = "
                            f"{kids[0]['params']['base_lr']:g} before the optimizer's "
                            f"initial_lr is recorded, so {', '.join(others)} start(s) from "
                            "base_lr, not from the optimizer's lr."))
        if "MultiplicativeLR" in kinds[1:]:
            out.append(Note("page", "MultiplicativeLR carries on",
                            "MultiplicativeLR multiplies the LR it is handed at its milestone; it "
                            "does not restart from the base LR like the other schedulers."))
    return out


def _skipped_restart(t_0: int, t_mult: int, epochs: int) -> tuple[int, int, float] | None:
    """(epoch, cycle, torch's log) of the first restart that torch's step(epoch) misses."""
    if t_mult == 1:
        return None
    k, e = 1, t_0
    while e <= epochs:
        log = math.log(e / t_0 * (t_mult - 1) + 1, t_mult)  # torch's own expression
        if int(log) < k:
            return e, k, log
        k, e = k + 1, e + t_0 * t_mult**k
    return None


def _spans(spec: dict[str, Any], n: int) -> list[tuple[dict[str, Any], int]]:
    """(scheduler, how many steps it drives) for the spec and each scheduler inside it."""
    kids = spec.get("children") or []
    if spec["kind"] != "SequentialLR":
        return [(spec, n)] + [(c, n) for c in kids]
    edges = [0, *spec["params"]["milestones"], n]
    return [(c, max(0, min(b, n) - min(a, n))) for c, (a, b) in zip(kids, pairwise(edges),
                                                                         strict=True)]


def _kind_notes(kind: str, p: dict[str, Any], run: dict[str, Any], n: int) -> list[Note]:
    unit = run["step_every"]
    out: list[Note] = []
    if kind == "CosineAnnealingLR" and n - 1 > p["T_max"]:
        out.append(Note("page", "The cosine comes back up after T_max",
                        f"CosineAnnealingLR is not clamped: after T_max = {p['T_max']} steps the "
                        f"LR rises again (period 2 x T_max). Set T_max to the run's {n} "
                        f"{unit} steps, or use CosineAnnealingWarmRestarts for restarts."))
    if kind == "OneCycleLR":
        total = p["total_steps"] or run["epochs"] * run["steps_per_epoch"]
        if total > n:
            out.append(Note("page", "The one cycle is cut short",
                            f"OneCycleLR plans {total} steps but the loop steps it {n} times "
                            f"(once per {unit}), so only {100 * n / total:.0f}% of the cycle "
                            "runs. OneCycleLR counts batches: step it after every batch."))
        if p["three_phase"] and p["pct_start"] >= 0.5:
            out.append(Note("page", "three_phase needs pct_start < 0.5",
                            "The second phase ends at 2 x pct_start of the run; from 0.5 on it "
                            "overlaps the last phase and the curve is not a cycle any more."))
    if kind in ("OneCycleLR", "CyclicLR") and p["cycle_momentum"] \
            and p["base_momentum"] > p["max_momentum"]:
        out.append(Note("page", "Momentum cycles the other way",
                        "base_momentum > max_momentum: momentum now rises with the LR, the "
                        "opposite of the usual (1cycle) advice."))
    if kind == "CyclicLR" and unit == "epoch":
        out.append(Note("page", "CyclicLR counts batches",
                        f"It is stepped once per epoch here, so step_size_up = "
                        f"{p['step_size_up']} means epochs. The paper and the docs step it "
                        "after every batch."))
    if kind == "CyclicLR" and p["base_lr"] > p["max_lr"]:
        out.append(Note("page", "base_lr is above max_lr",
                        "torch accepts it and the triangle is upside down."))
    if kind == "CosineAnnealingWarmRestarts" and unit == "batch" and p["epoch_fraction"]:
        skipped = _skipped_restart(p["T_0"], p["T_mult"], run["epochs"])
        if skipped is not None:
            e, k, log = skipped
            out.append(Note("page", f"torch skips the restart at epoch {e}",
                            f"step({e}) should start cycle {k} at the base LR, but torch finds "
                            f"the cycle with int(math.log(...)) and the float log is {log!r}, "
                            f"so it puts epoch {e} at the end of cycle {k - 1} (LR = eta_min). "
                            "A floating-point slip in torch, not in the formula above; plain "
                            "step() counting, or T_mult = 1, does not have it."))
    if kind == "CosineAnnealingWarmRestarts" and unit == "batch" and p["epoch_fraction"] \
            and run["order"] == "scheduler_first":
        out.append(Note("page", "Order doesn't matter for step(epoch)",
                        "Passing the fractional epoch sets the position directly, so stepping "
                        "before the optimizer changes nothing here (and torch doesn't check)."))
    return out
