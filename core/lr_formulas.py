"""The schedules as hand-written closed forms (the formulas the page shows beside the curves).

These never draw anything: the page plots what torch computes. They exist so the tests can
check that the formulas we teach agree with the real schedulers, step by step.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from core.safe_expr import compile_expr


def warm_restart_position(t: float, t_0: int, t_mult: int) -> tuple[float, float]:
    """(T_cur, T_i): how far into its current cycle step t is, and that cycle's length."""
    t_i, t_cur = float(t_0), float(t)
    while t_cur >= t_i:  # walk the cycles; each is t_mult times longer
        t_cur -= t_i
        t_i *= t_mult
    return t_cur, t_i


def _anneal(start: float, end: float, pct: float, strategy: str) -> float:
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def onecycle(p: dict[str, Any], total: int, t: int, momentum: bool = False) -> float:
    """OneCycleLR's LR (or momentum) at step t of `total`."""
    lo = p["max_lr"] / p["div_factor"]
    ends = [p["pct_start"] * total - 1, total - 1]
    lrs = [(lo, p["max_lr"]), (p["max_lr"], lo / p["final_div_factor"])]
    moms = [(p["max_momentum"], p["base_momentum"]), (p["base_momentum"], p["max_momentum"])]
    if p["three_phase"]:
        ends = [p["pct_start"] * total - 1, 2 * p["pct_start"] * total - 2, total - 1]
        lrs = [(lo, p["max_lr"]), (p["max_lr"], lo), (lo, lo / p["final_div_factor"])]
        moms = [moms[0], moms[1], (p["max_momentum"], p["max_momentum"])]
    start = 0.0
    for i, end in enumerate(ends):
        if t <= end or i == len(ends) - 1:
            a, b = (moms if momentum else lrs)[i]
            return _anneal(a, b, (t - start) / (end - start), p["anneal_strategy"])
        start = end
    raise AssertionError("unreachable")


def cyclic_wave(p: dict[str, Any], t: int) -> tuple[float, float]:
    """CyclicLR's (height in [0, 1] of the triangle, amplitude scale) at step t."""
    up = float(p["step_size_up"])
    down = float(p["step_size_down"] or p["step_size_up"])
    cycle = math.floor(1 + t / (up + down))
    pos = t - (cycle - 1) * (up + down)  # steps into the current cycle
    height = pos / up if pos <= up else 1 - (pos - up) / down
    if p.get("scale_fn"):
        fn = compile_expr(p["scale_fn"], ("x",))
        scale = fn(x=cycle if p["scale_mode"] == "cycle" else t)
    elif p["mode"] == "triangular":
        scale = 1.0
    elif p["mode"] == "triangular2":
        scale = 1 / 2.0 ** (cycle - 1)
    else:
        scale = p["gamma"] ** t
    return height, scale


def lr_at(kind: str, p: dict[str, Any], eta0: float, t: int, total: int = 0) -> float:
    """The LR after t scheduler steps (total: OneCycleLR's length), from the formula."""
    if kind == "StepLR":
        return eta0 * p["gamma"] ** (t // p["step_size"])
    if kind == "MultiStepLR":
        return eta0 * p["gamma"] ** bisect.bisect_right(sorted(p["milestones"]), t)
    if kind == "ExponentialLR":
        return eta0 * p["gamma"] ** t
    if kind == "CosineAnnealingLR":
        return p["eta_min"] + (eta0 - p["eta_min"]) * (1 + math.cos(math.pi * t / p["T_max"])) / 2
    if kind == "CosineAnnealingWarmRestarts":
        t_cur, t_i = warm_restart_position(t, p["T_0"], p["T_mult"])
        return p["eta_min"] + (eta0 - p["eta_min"]) * (1 + math.cos(math.pi * t_cur / t_i)) / 2
    if kind == "OneCycleLR":
        return onecycle(p, total, t)
    if kind == "CyclicLR":
        height, scale = cyclic_wave(p, t)
        return p["base_lr"] + (p["max_lr"] - p["base_lr"]) * height * scale
    if kind == "LinearLR":
        f = p["start_factor"] + (p["end_factor"] - p["start_factor"]) * min(t, p["total_iters"]) \
            / p["total_iters"]
        return eta0 * f
    if kind == "ConstantLR":
        return eta0 * (p["factor"] if t < p["total_iters"] else 1.0)
    if kind == "PolynomialLR":
        return eta0 * (1 - min(t, p["total_iters"]) / p["total_iters"]) ** p["power"]
    if kind == "LambdaLR":
        return eta0 * compile_expr(p["lr_lambda"])(epoch=t, step=t)
    if kind == "MultiplicativeLR":
        f = compile_expr(p["lr_lambda"])
        return eta0 * math.prod(f(epoch=k, step=k) for k in range(1, t + 1))
    raise ValueError(f"no closed form here for {kind}")


def momentum_at(kind: str, p: dict[str, Any], t: int, total: int = 0) -> float:
    """The momentum (or beta1) OneCycleLR / CyclicLR set after t steps."""
    if kind == "OneCycleLR":
        return onecycle(p, total, t, momentum=True)
    height, scale = cyclic_wave(p, t)
    return p["max_momentum"] - (p["max_momentum"] - p["base_momentum"]) * height * scale


def sequential_at(children: list[dict[str, Any]], milestones: list[int], eta0: float,
                  t: int, total: int = 0) -> float:
    """SequentialLR: the scheduler whose turn it is, counted from its own milestone."""
    k = bisect.bisect_right(milestones, t)
    start = milestones[k - 1] if k else 0
    child = children[k]
    return lr_at(child["kind"], child["params"], eta0, t - start, total)


def chained_at(children: list[dict[str, Any]], eta0: float, t: int) -> float:
    """ChainedScheduler of multiplicative schedulers: the factors multiply."""
    return eta0 * math.prod(lr_at(c["kind"], c["params"], 1.0, t) for c in children)
