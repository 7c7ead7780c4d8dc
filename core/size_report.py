"""Shared pieces of the shape calculators: problems with fixes, LaTeX steps, the real-layer run.

Every calculator (conv, transposed conv, pooling, upsampling) returns a `SizeReport`: the
formula's output shape with its substituted LaTeX steps, the shape the real torch layer gives on
a dummy tensor, and, for a configuration torch refuses, the constraints that fail together with
the nearest values that would satisfy them.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import torch

# Above these sizes the dummy forward runs on the meta device: PyTorch's own shape logic,
# without allocating or computing the tensors (a 4096 x 4096 input would take seconds on CPU).
CPU_MAX_ELEMENTS = 2_000_000
CPU_MAX_MACS = 30_000_000
SEARCH_SPAN = 10_000  # how far the nearest-valid-value search looks either way


@dataclass(frozen=True)
class Fix:
    """One nearest valid value: set `field` (element `axis` of a tuple field) to `value`."""

    field: str
    axis: int | None
    value: Any
    label: str  # what the learner reads, e.g. "kernel height → 5"
    then: Fix | None = None  # a second change, when no single one satisfies every rule


@dataclass(frozen=True)
class Problem:
    """A constraint the configuration breaks, in words, with the nearest values that satisfy it."""

    rule: str
    detail: str
    fixes: tuple[Fix, ...] = ()

    def __str__(self) -> str:
        tail = ""
        if self.fixes:
            tail = " Nearest valid: " + ", ".join(f.label for f in self.fixes) + "."
        return f"{self.rule}: {self.detail}.{tail}"


@dataclass(frozen=True)
class AxisSteps:
    """The output-size formula for one axis, then the same with the numbers substituted."""

    axis: str  # "H", "W" or "L"
    lhs: str  # e.g. r"H_{\text{out}}"
    lines: tuple[str, ...]  # right-hand sides, each starting a new "= ..." line
    pre: tuple[str, ...] = ()  # LaTeX shown first, e.g. how padding='same' splits its padding
    post: tuple[str, ...] = ()  # LaTeX shown after, e.g. the ceil_mode rule

    @property
    def latex(self) -> str:
        """One aligned block: lhs = line 1 \\ = line 2 ..."""
        rows = [f"{self.lhs} &= {self.lines[0]}"] + [f"&= {line}" for line in self.lines[1:]]
        return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


@dataclass(frozen=True)
class SizeReport:
    """What the page shows for one layer configuration."""

    layer: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...] | None  # from the formula; None when a constraint fails
    torch_shape: tuple[int, ...] | None  # from the real layer on a dummy tensor
    steps: tuple[AxisSteps, ...]
    problems: tuple[Problem, ...]
    torch_error: str | None = None
    device: str = "cpu"
    notes: tuple[str, ...] = ()  # legal but surprising outcomes, e.g. an empty output

    @property
    def ok(self) -> bool:
        return not self.problems and self.torch_error is None

    @property
    def agree(self) -> bool:
        return self.ok and self.out_shape == self.torch_shape


# --------------------------------------------------------------------------- running torch
def run_layer(build: Callable[[str], Any], in_shape: tuple[int, ...], macs: int,
              extra_elements: int = 0) -> tuple[tuple[int, ...] | None, str | None, str]:
    """Build the real layer, push zeros of `in_shape` through it: (shape, error, device)."""
    big = math.prod(in_shape) + extra_elements > CPU_MAX_ELEMENTS or macs > CPU_MAX_MACS
    device = "meta" if big else "cpu"
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # e.g. "padding='same' with even kernel" notices
            layer = build(device)
            x = torch.zeros(in_shape, device=device)
            y = layer(x)
        return tuple(y.shape), None, device
    except (RuntimeError, ValueError, TypeError) as exc:
        return None, str(exc).strip().splitlines()[0], device


def merge_torch(report: SizeReport, shape: tuple[int, ...] | None, error: str | None,
                device: str) -> SizeReport:
    """Attach torch's answer; a refusal our checks missed still becomes a readable problem."""
    problems = report.problems
    if error is not None and not problems:
        problems = (Problem("PyTorch refused this configuration", error),)
    return dataclasses.replace(report, torch_shape=shape, torch_error=error, device=device,
                               problems=problems,
                               out_shape=report.out_shape if not problems else None)


# --------------------------------------------------------------------------- fixes
def nearest(ok: Callable[[int], bool], value: int, low: int, high: int | None = None
            ) -> list[int]:
    """The nearest values below and above `value` (within [low, high]) for which ok() holds."""
    high = value + SEARCH_SPAN if high is None else high
    found: list[int] = []
    for v in range(value - 1, max(low, value - SEARCH_SPAN) - 1, -1):
        if ok(v):
            found.append(v)
            break
    for v in range(value + 1, min(high, value + SEARCH_SPAN) + 1):
        if ok(v):
            found.append(v)
            break
    return found


def with_value(spec: Any, field: str, axis: int | None, value: Any) -> Any:
    """A copy of a frozen spec with one field (or one axis of a tuple field) changed."""
    if axis is None:
        return dataclasses.replace(spec, **{field: value})
    old = getattr(spec, field)
    items = list(old)
    items[axis] = value
    return dataclasses.replace(spec, **{field: tuple(items)})


def apply_fix(spec: Any, fix: Fix) -> Any:
    """The spec with a suggested fix (and its follow-up change, if any) applied."""
    spec = with_value(spec, fix.field, fix.axis, fix.value)
    return spec if fix.then is None else apply_fix(spec, fix.then)


SETTLE_STEPS = 64  # how far settle_fixes moves a fix that breaks another rule


def settle_fixes(spec: Any, problems: tuple[Problem, ...],
                 find: Callable[[Any], tuple[Problem, ...]]) -> tuple[Problem, ...]:
    """Each problem's fixes, re-checked against every rule (`find`: the spec's problems).

    A fix is chosen for its own rule; applied, it may break another one (a smaller padding
    that leaves no output cell). "Nearest valid" must be valid: such a fix moves further the
    same way along its field until no rule breaks that was not broken already, else is paired
    with a fix of the rule it breaks (padding → 1 and dilation → 1), else is dropped.
    """
    broken = {p.rule for p in problems}
    out = []
    for p in problems:
        kept: list[Fix] = []
        for f in p.fixes:
            g = _settled(spec, f, broken - {p.rule}, find)
            if g is not None and g not in kept:
                kept.append(g)
        out.append(dataclasses.replace(p, fixes=tuple(kept)))
    return tuple(out)


def _leaves_only(spec: Any, fix: Fix, allowed: set[str],
                 find: Callable[[Any], tuple[Problem, ...]]) -> bool:
    try:
        return {q.rule for q in find(apply_fix(spec, fix))} <= allowed
    except ValueError:  # the spec itself refuses the value
        return False


def _settled(spec: Any, fix: Fix, allowed: set[str],
             find: Callable[[Any], tuple[Problem, ...]]) -> Fix | None:
    if _leaves_only(spec, fix, allowed, find):
        return fix
    current = getattr(spec, fix.field)
    current = current[fix.axis] if fix.axis is not None else current
    if not (isinstance(fix.value, int) and isinstance(current, int)) or fix.value == current:
        return None  # a mode, a whole tuple: nothing to move along
    step = 1 if fix.value > current else -1
    head = fix.label.rsplit("→", 1)[0]
    for v in range(fix.value + step, fix.value + step * SETTLE_STEPS, step):
        if v < 0:
            break
        moved = Fix(fix.field, fix.axis, v, f"{head}→ {v}")
        if _leaves_only(spec, moved, allowed, find):
            return moved
    return _paired(spec, fix, allowed, find)


def _paired(spec: Any, fix: Fix, allowed: set[str],
            find: Callable[[Any], tuple[Problem, ...]]) -> Fix | None:
    """`fix` followed by one fix of a rule it breaks, when together they break nothing new."""
    try:
        after = find(apply_fix(spec, fix))
    except ValueError:
        return None
    for q in after:
        if q.rule in allowed:
            continue
        for g in q.fixes:
            if g.field == fix.field and g.axis == fix.axis:
                continue  # undoing the first change
            pair = dataclasses.replace(fix, label=f"{fix.label} and {g.label}", then=g)
            if _leaves_only(spec, pair, allowed, find):
                return pair
    return None


def fixes(field: str, axis: int | None, label: str, current: int, low: int,
          ok: Callable[[int], bool]) -> list[Fix]:
    """Nearest values of one field (below and above `current`, not under `low`) where ok() holds."""
    return [Fix(field, axis, v, f"{label} → {v}") for v in nearest(ok, current, low)]


# --------------------------------------------------------------------------- LaTeX
def num(x: int | float | Fraction) -> str:
    """A number for LaTeX: integers plain, fractions to 4 significant digits."""
    if isinstance(x, Fraction) and x.denominator == 1:
        return str(x.numerator)
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    if isinstance(x, int):
        return str(x)
    return f"{float(x):.4g}"


def floor_frac(top: str, bottom: str, ceil: bool = False) -> str:
    """⌊top / bottom⌋ (or ⌈…⌉) in LaTeX."""
    lo, hi = (r"\left\lceil", r"\right\rceil") if ceil else (r"\left\lfloor", r"\right\rfloor")
    return rf"{lo} \frac{{{top}}}{{{bottom}}} {hi}"


def rounding_steps(top: int, bottom: int, ceil: bool = False) -> tuple[list[str], int]:
    """The lines ⌊a/b⌋ + 1 = ⌊q⌋ + 1 = n + 1 = result; returns (lines, result)."""
    q = Fraction(top, bottom)
    rounded = math.ceil(q) if ceil else math.floor(q)
    lines = [floor_frac(str(top), str(bottom), ceil) + " + 1"]
    if q.denominator != 1:
        lo, hi = (r"\lceil", r"\rceil") if ceil else (r"\lfloor", r"\rfloor")
        lines.append(rf"{lo} {_rounds_to(q, rounded, ceil)} {hi} + 1")
    lines.append(f"{rounded} + 1 = {rounded + 1}")
    return lines, rounded + 1


def _rounds_to(q: Fraction, rounded: int, ceil: bool) -> str:
    """q with the fewest digits (at least 4 significant) that still floor (or ceil) to
    `rounded`: 21999/2000 is 10.9995, which 4 digits would show as ⌊11⌋."""
    for digits in range(4, 18):
        shown = f"{float(q):.{digits}g}"
        value = Fraction(shown)
        if value.denominator != 1 and (math.ceil(value) if ceil else math.floor(value)) == rounded:
            return shown
    return f"{q.numerator}/{q.denominator}"


def paren(x: int) -> str:
    """Wrap negative numbers in parentheses for substituted formulas."""
    return f"({x})" if x < 0 else str(x)
