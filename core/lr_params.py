"""Every parameter of every torch LR scheduler, with defaults, ranges and help, and the checks.

One table feeds the page's controls, the spec validation and the code snippet, so a parameter is
described once. Names are torch's own keyword arguments; `torch=False` marks a setting of how
the page steps the scheduler rather than a constructor argument.

A schedule is a plain dict: {"kind": "StepLR", "params": {...}} and, for SequentialLR and
ChainedScheduler, "children": [spec, ...]. `check_spec` fills defaults and refuses bad values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from core.safe_expr import compile_expr


@dataclass(frozen=True)
class Param:
    """One constructor argument: kind is int, float, bool, choice, ints (a list) or expr."""

    name: str
    kind: str
    default: Any
    help: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # the low end itself is not allowed
    choices: tuple[str, ...] = ()
    variables: tuple[str, ...] = ("epoch", "step")  # for expr parameters
    torch: bool = True


def _gamma(default: float, what: str) -> Param:
    return Param("gamma", "float", default, what, 0.0, 2.0, lo_open=True)


_MOMENTUM = (
    Param("cycle_momentum", "bool", True, "Also cycle SGD's momentum (Adam's beta1), inversely "
          "to the LR."),
    Param("base_momentum", "float", 0.85, "Lowest momentum, reached when the LR peaks.", 0.0, 1.0),
    Param("max_momentum", "float", 0.95, "Highest momentum, at the LR's low points.", 0.0, 1.0),
)

PARAMS: dict[str, tuple[Param, ...]] = {
    "StepLR": (
        Param("step_size", "int", 10, "Steps between two decays.", 1, 100_000),
        _gamma(0.5, "Multiplies the LR every step_size steps."),
    ),
    "MultiStepLR": (
        Param("milestones", "ints", [10, 20], "Steps at which the LR is multiplied by gamma "
              "(increasing).", 1, 1_000_000),
        _gamma(0.1, "Multiplies the LR at each milestone."),
    ),
    "ExponentialLR": (_gamma(0.9, "Multiplies the LR after every step."),),
    "CosineAnnealingLR": (
        Param("T_max", "int", 30, "Steps of one half cosine from the base LR down to eta_min.",
              1, 1_000_000),
        Param("eta_min", "float", 0.0, "Lowest LR.", 0.0, 10.0),
    ),
    "CosineAnnealingWarmRestarts": (
        Param("T_0", "int", 10, "Length of the first cycle.", 1, 1_000_000),
        Param("T_mult", "int", 2, "Each cycle is T_mult times longer than the one before.", 1,
              10),
        Param("eta_min", "float", 0.0, "Lowest LR.", 0.0, 10.0),
        Param("epoch_fraction", "bool", True, "When stepped every batch: pass the fractional "
              "epoch after batch i, step(epoch + (i + 1) / steps_per_epoch), so T_0 counts "
              "epochs (the docs' usage; the + 1 makes batch i train at exactly epoch + i / "
              "steps_per_epoch, as the training engine does). Off: step() per batch, so T_0 "
              "counts batches.", torch=False),
    ),
    "OneCycleLR": (
        Param("max_lr", "float", 0.1, "Peak LR (the optimizer's lr is ignored: the cycle starts "
              "at max_lr / div_factor).", 0.0, 10.0, lo_open=True),
        Param("total_steps", "int", 0, "Length of the cycle in steps; 0 passes epochs= and "
              "steps_per_epoch= instead (their product).", 0, 10_000_000),
        Param("pct_start", "float", 0.3, "Fraction of the cycle spent raising the LR.", 0.0, 1.0),
        Param("anneal_strategy", "choice", "cos", "Shape of each phase.", choices=("cos", "linear")),
        *_MOMENTUM,
        Param("div_factor", "float", 25.0, "Starting LR = max_lr / div_factor.", 1.0, 1e6),
        Param("final_div_factor", "float", 1e4, "Final LR = starting LR / final_div_factor.", 1.0,
              1e12),
        Param("three_phase", "bool", False, "Come back down to the starting LR symmetrically, "
              "then anneal to the final LR: the shape of Smith's original paper (the default "
              "two phases follow fastai)."),
    ),
    "CyclicLR": (
        Param("base_lr", "float", 0.01, "Lower bound of the cycle (replaces the optimizer's lr).",
              0.0, 10.0),
        Param("max_lr", "float", 0.1, "Upper bound of the cycle (before scaling).", 0.0, 10.0),
        Param("step_size_up", "int", 100, "Steps from base_lr up to max_lr.", 1, 1_000_000),
        Param("step_size_down", "int", 0, "Steps back down (0 = None: same as step_size_up).",
              0, 1_000_000),
        Param("mode", "choice", "triangular", "triangular: constant amplitude; triangular2: "
              "halved every cycle; exp_range: times gamma**step.",
              choices=("triangular", "triangular2", "exp_range")),
        _gamma(0.999, "exp_range: amplitude multiplier per step."),
        Param("scale_fn", "expr", "", "Optional custom amplitude of x (overrides mode), e.g. "
              "0.5 ** (x - 1). Empty = use mode.", variables=("x",)),
        Param("scale_mode", "choice", "cycle", "What x counts in scale_fn: the cycle number "
              "(from 1) or the step.", choices=("cycle", "iterations")),
        _MOMENTUM[0],
        Param("base_momentum", "float", 0.8, "Momentum at the LR's peak.", 0.0, 1.0),
        Param("max_momentum", "float", 0.9, "Momentum at base_lr.", 0.0, 1.0),
    ),
    "LinearLR": (
        Param("start_factor", "float", 0.1, "LR multiplier at the first step.", 0.0, 1.0,
              lo_open=True),
        Param("end_factor", "float", 1.0, "LR multiplier from total_iters on.", 0.0, 1.0),
        Param("total_iters", "int", 10, "Steps to go from start_factor to end_factor.", 1,
              1_000_000),
    ),
    "ConstantLR": (
        Param("factor", "float", 0.25, "LR multiplier until total_iters (0 would make torch "
              "divide by zero when it restores the LR).", 0.0, 1.0, lo_open=True),
        Param("total_iters", "int", 10, "Steps before the LR jumps back to the base LR (with 0, "
              "torch never restores it).", 1, 1_000_000),
    ),
    "PolynomialLR": (
        Param("total_iters", "int", 30, "Steps until the LR reaches 0 (with power 0 the "
              "factor (1 − t/T)**0 stays 1: the LR never moves).", 1, 1_000_000),
        Param("power", "float", 2.0, "Power of the polynomial (1 = linear).", 0.0, 100.0),
    ),
    "MultiplicativeLR": (
        Param("lr_lambda", "expr", "0.95 if epoch < 20 else 0.8", "Factor the LR is multiplied "
              "by at each step, a formula of epoch (the step count)."),
    ),
    "LambdaLR": (
        Param("lr_lambda", "expr", "(epoch + 1) / 5 if epoch < 5 else 0.9 ** (epoch - 5)",
              "Factor of the base LR at each step, a formula of epoch (the step count)."),
    ),
    "ReduceLROnPlateau": (
        Param("mode", "choice", "min", "min: the metric should fall (a loss); max: it should "
              "rise (an accuracy).", choices=("min", "max")),
        Param("factor", "float", 0.5, "new LR = LR x factor on a plateau.", 0.0, 1.0,
              lo_open=True),
        Param("patience", "int", 2, "Bad epochs tolerated; the LR drops on the next one.", 0,
              1000),
        Param("threshold", "float", 0.01, "How much better than the best a value must be to "
              "count as an improvement.", 0.0, 1.0),
        Param("threshold_mode", "choice", "rel", "rel: better than best x (1 -/+ threshold); "
              "abs: better than best -/+ threshold.", choices=("rel", "abs")),
        Param("cooldown", "int", 0, "Epochs after a reduction during which bad epochs are not "
              "counted.", 0, 1000),
        Param("min_lr", "float", 1e-3, "A reduction never takes the LR below this (an LR "
              "already below it is left alone: torch never raises the LR).", 0.0, 10.0),
        Param("eps", "float", 1e-8, "A reduction smaller than this is skipped.", 0.0, 1.0),
    ),
    "SequentialLR": (
        Param("milestones", "ints", [5], "Steps at which the next scheduler takes over "
              "(one fewer than the schedulers).", 1, 1_000_000),
    ),
    "ChainedScheduler": (),
}
KINDS: tuple[str, ...] = tuple(PARAMS)
COMPOSITE = ("SequentialLR", "ChainedScheduler")
CHILD_KINDS = tuple(k for k in KINDS if k not in (*COMPOSITE, "ReduceLROnPlateau"))
PER_BATCH = ("OneCycleLR", "CyclicLR")  # the docs step these after every batch
MAX_CHILDREN = 3
DEFAULT_CHILDREN = ({"kind": "LinearLR", "params": {"start_factor": 0.1, "total_iters": 5}},
                    {"kind": "CosineAnnealingLR", "params": {"T_max": 25}},
                    {"kind": "ConstantLR", "params": {"factor": 0.1, "total_iters": 1000}})
DEFAULT_MILESTONES = (5, 20)


def param(kind: str, name: str) -> Param:
    """The Param `name` of scheduler `kind`."""
    for p in PARAMS[kind]:
        if p.name == name:
            return p
    raise ValueError(f"{kind} has no parameter {name!r}")


def defaults(kind: str) -> dict[str, Any]:
    """Every parameter of `kind` at its default."""
    if kind not in PARAMS:
        raise ValueError(f"unknown scheduler {kind!r}; choose one of {', '.join(KINDS)}")
    return {p.name: (list(p.default) if p.kind == "ints" else p.default) for p in PARAMS[kind]}


def check_value(kind: str, p: Param, value: Any) -> Any:
    """`value` converted to p's type and range-checked (ValueError naming the parameter)."""
    where = f"{kind} {p.name}"
    if p.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {value!r}")
        return value
    if p.kind == "choice":
        if value not in p.choices:
            raise ValueError(f"{where} must be one of {', '.join(p.choices)}, got {value!r}")
        return value
    if p.kind == "expr":
        if p.name == "scale_fn" and str(value).strip() == "":
            return ""
        try:
            compile_expr(str(value), p.variables)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        return str(value).strip()
    if p.kind == "ints":
        items = [_number(where, v, True, p) for v in (value or [])]
        if any(b <= a for a, b in pairwise(items)):
            raise ValueError(f"{where} must be increasing, got {items}")
        return items
    return _number(where, value, p.kind == "int", p)


def _number(where: str, value: Any, integer: bool, p: Param) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{where} must be finite, got {value}")
    if integer:
        if not float(value).is_integer():
            raise ValueError(f"{where} must be a whole number, got {value}")
        value = int(value)
    else:
        value = float(value)
    low_bad = p.lo is not None and (value <= p.lo if p.lo_open else value < p.lo)
    if low_bad or (p.hi is not None and value > p.hi):
        low = "(" if p.lo_open else "["
        raise ValueError(f"{where} must be in {low}{p.lo:g}, {p.hi:g}], got {value:g}")
    return value


def check_spec(spec: dict[str, Any], *, child: bool = False) -> dict[str, Any]:
    """A complete, checked copy of `spec` (defaults filled in); ValueError on anything wrong."""
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ValueError("a schedule must be a dict with a 'kind'")
    kind = spec["kind"]
    allowed = CHILD_KINDS if child else KINDS
    if kind not in allowed:
        raise ValueError(f"{kind!r} can't be used here; choose one of {', '.join(allowed)}")
    given = dict(spec.get("params") or {})
    unknown = sorted(set(given) - {p.name for p in PARAMS[kind]})
    if unknown:
        raise ValueError(f"{kind} has no parameter(s) {', '.join(unknown)}")
    params = defaults(kind)
    for p in PARAMS[kind]:
        if p.name in given:
            params[p.name] = check_value(kind, p, given[p.name])
    out: dict[str, Any] = {"kind": kind, "params": params}
    if kind in COMPOSITE:
        out["children"] = _check_children(kind, spec.get("children") or [], params)
    return out


def _check_children(kind: str, children: list[Any], params: dict[str, Any]) -> list[Any]:
    if not 1 <= len(children) <= MAX_CHILDREN:
        raise ValueError(f"{kind} needs 1 to {MAX_CHILDREN} schedulers, got {len(children)}")
    checked = [check_spec(c, child=True) for c in children]
    if kind == "SequentialLR" and len(params["milestones"]) != len(checked) - 1:
        raise ValueError(f"SequentialLR needs one milestone fewer than schedulers: "
                         f"{len(checked)} schedulers, {len(params['milestones'])} milestones")
    return checked

