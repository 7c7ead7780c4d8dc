"""Properties of an activation measured from the real torch module, never typed in.

f and f' (autograd) are evaluated in float64 on a fine grid of [-R, R] plus far points, and:
- zero-centred: the mean of f under a standard-normal input is ~0 (|mean| <= 5% of the std);
- sparse: f is exactly 0 on a set of inputs with N(0, 1) probability >= 1%;
- monotonic: the steps f(x_{i+1}) - f(x_i) never change sign;
- continuous / smooth (C1): no jump of f / of f' that survives bisecting its grid interval down
  to width ~1e-9 (smooth change shrinks with the width, a step or a kink does not);
- bounded: the extreme over [-1e6, 1e6] is within 1 of the extreme over [-R, R].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from core.activation_curves import activation_module, values_and_grads

R = 120.0  # grid half-width: covers every parameter-dependent kink the page allows
STEP = 0.01
FAR = np.array([-1e6, -1e5, -1e4, -1e3, 1e3, 1e4, 1e5, 1e6])
JUMP_TOL = 1e-6  # a jump of f or f' larger than this at width ~1e-9 is not smooth variation
CENTRED_TOL = 0.05  # |mean| / std for N(0, 1) input
SPARSE_MIN = 0.01  # share of N(0, 1) inputs mapped to exactly 0
ATTAINED_WITHIN = 12.0  # beyond this float64 rounds tanh & co. onto their asymptotes
BISECT_STEPS = 24  # 0.01 / 2**24 ~ 6e-10
EPS = 1e-7  # one-sided probes next to a special point


@dataclass(frozen=True)
class Kink:
    """A point where f or f' jumps, or where autograd's value differs from both sides."""

    x: float
    left: float  # f' just left of x
    right: float  # f' just right of x
    autograd: float  # f'(x) as PyTorch computes it exactly there
    f_jump: float  # f(x+) - f(x-); 0 where f is continuous

    @property
    def is_kink(self) -> bool:
        """f' really jumps here (or f does); otherwise only autograd's value at x is special."""
        return abs(self.right - self.left) > JUMP_TOL or self.f_jump != 0.0


@dataclass(frozen=True)
class Properties:
    f0: float
    mean: float  # E f(z), z ~ N(0, 1)
    std: float
    zero_centred: bool
    sparse_fraction: float  # P(f(z) == 0 exactly), z ~ N(0, 1)
    sparse: bool
    monotonic: str  # "non-decreasing", "non-increasing" or "no"
    continuous: bool
    smooth: bool  # f' continuous (C1)
    bounded_below: bool
    bounded_above: bool
    inf: float
    sup: float
    inf_attained: bool
    sup_attained: bool
    kinks: tuple[Kink, ...]


def _jump_size(fa, ga, fb, gb, width, of_grad: bool) -> np.ndarray:
    if of_grad:
        return np.abs(gb - ga)
    return np.abs(fb - fa - width * (ga + gb) / 2)  # the trapezoid rule is exact to O(w^3)


def _bisect(module: nn.Module, a: np.ndarray, b: np.ndarray,
            of_grad: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shrink each [a, b] to ~1e-9, keeping the half with the larger jump of f (or f').

    Returns the final brackets and the jump across each.
    """
    fa, ga = values_and_grads(module, a)
    fb, gb = values_and_grads(module, b)
    for _ in range(BISECT_STEPS):
        m = (a + b) / 2
        fm, gm = values_and_grads(module, m)
        left = (_jump_size(fa, ga, fm, gm, m - a, of_grad)
                >= _jump_size(fm, gm, fb, gb, b - m, of_grad))
        a, fa, ga = np.where(left, a, m), np.where(left, fa, fm), np.where(left, ga, gm)
        b, fb, gb = np.where(left, m, b), np.where(left, fm, fb), np.where(left, gm, gb)
    return a, b, _jump_size(fa, ga, fb, gb, b - a, of_grad)


def _candidates(x: np.ndarray, f: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid intervals that may hold a jump of f (first) or of f' (second).

    Where f is smooth, f(x_{i+1}) - f(x_i) matches the trapezoid rule and |delta f'| varies
    slowly from one interval to the next; a step or kink breaks one of these locally.
    """
    residual = _jump_size(f[:-1], g[:-1], f[1:], g[1:], np.diff(x), of_grad=False)
    dg = np.abs(np.diff(g))
    window = np.lib.stride_tricks.sliding_window_view(np.pad(dg, 3, mode="edge"), 7)
    local = np.median(window, axis=1)
    return np.flatnonzero(residual > 1e-7), np.flatnonzero((dg > 1e-9) & (dg > 4 * local))


def _jumps(module: nn.Module, x: np.ndarray, idx: np.ndarray, of_grad: bool) -> np.ndarray:
    """Where f or f' has a jump that survives bisection.

    The point is the round 6-decimal number inside the final bracket when there is one (so a
    kink at 0 is probed at exactly 0, where autograd's own convention shows), else the middle
    rounded to 10 significant digits: the page prints that number, and autograd is asked at
    exactly the float it names (x = 0.190476 would lie on the other side of softplus's switch
    at threshold / beta = 1 / 5.25).
    """
    if idx.size == 0:
        return np.empty(0)
    a, b, size = _bisect(module, x[idx], x[idx + 1], of_grad)
    a, b = a[size > JUMP_TOL], b[size > JUMP_TOL]
    mid = (a + b) / 2
    rounded = np.round(mid, 6)
    digits10 = np.array([float(f"{m:.10g}") for m in mid])
    inside = (a <= digits10) & (digits10 <= b)
    where = np.where((a <= rounded) & (rounded <= b), rounded,
                     np.where(inside, digits10, mid)) + 0.0  # no -0.0
    return np.unique(where)


def _merge(points: np.ndarray) -> np.ndarray:
    """Drop points within 1e-6 of the previous one (the same kink found twice)."""
    points = np.sort(points)
    keep = np.r_[True, np.diff(points) > 1e-6] if points.size else np.empty(0, bool)
    return points[keep]


def find_kinks(module: nn.Module, x: np.ndarray, f: np.ndarray,
               g: np.ndarray) -> tuple[Kink, ...]:
    """Every special point inside the grid x (f, g: f and f' on x)."""
    f_idx, g_idx = _candidates(x, f, g)
    at = _merge(np.r_[_jumps(module, x, f_idx, of_grad=False),
                      _jumps(module, x, g_idx, of_grad=True)])
    if at.size == 0:
        return ()
    f_lo, g_lo = values_and_grads(module, at - EPS)
    f_hi, g_hi = values_and_grads(module, at + EPS)
    _, g_at = values_and_grads(module, at)
    # One-sided limits of f, extrapolated from the probes with their slopes.
    jump = (f_hi - EPS * g_hi) - (f_lo + EPS * g_lo)
    jump = np.where(np.abs(jump) > JUMP_TOL, jump, 0.0)
    return tuple(Kink(float(p), float(gl), float(gr), float(ga), float(j))
                 for p, gl, gr, ga, j in zip(at, g_lo, g_hi, g_at, jump, strict=True))


def _monotonic(steps: np.ndarray) -> str:
    tol = 1e-12
    if np.all(steps >= -tol):
        return "non-decreasing"
    if np.all(steps <= tol):
        return "non-increasing"
    return "no"


def _attained(x: np.ndarray, f: np.ndarray, g: np.ndarray, extreme: float, sign: int) -> bool:
    """Is `extreme` reached at a flat spot (f' == 0) or a strict local extremum of the grid?

    A value reached only because float64 rounds onto an asymptote (tanh(20) == 1.0) is not.
    """
    s = sign * f  # turn a sup into an inf
    target = sign * extreme
    inner = np.flatnonzero((np.abs(x) <= ATTAINED_WITHIN) & (s <= target + 1e-12))
    inner = inner[(inner > 0) & (inner < x.size - 1)]
    flat = g[inner] == 0.0
    strict = (s[inner - 1] > s[inner]) & (s[inner + 1] > s[inner])
    return bool(np.any(flat | strict))


def _refined(module: nn.Module, x: np.ndarray, f: np.ndarray, sign: int) -> float:
    """The grid's min (sign +1) or max (-1), refined on a 1e-5 grid around it when it is an
    interior local extremum: a narrow dip (Swish with a large beta) falls between 0.01-spaced
    points and the grid value is off in the 4th digit."""
    s = sign * f
    i = int(np.argmin(s))
    if not 0 < i < x.size - 1:
        return float(f[i])
    fine = values_and_grads(module, np.linspace(x[i - 1], x[i + 1], 2001))[0]
    return float(sign * min(s[i], float(np.min(sign * fine))))


def properties(name: str, params: dict[str, float] | None = None) -> Properties:
    """Measure every property of `name` with these parameters (see the module docstring)."""
    module = activation_module(name, params)
    x = np.linspace(-R, R, int(round(2 * R / STEP)) + 1)
    f, g = values_and_grads(module, x)
    kinks = find_kinks(module, x, f, g)
    # One-sided limits next to each special point, so inf/sup and monotonicity see them.
    near_x = np.array([k.x + s * EPS for k in kinks for s in (-1.0, 1.0)])
    f_near, g_near = values_and_grads(module, near_x) if kinks else (np.empty(0),) * 2
    f_near = f_near - np.sign(near_x - np.repeat([k.x for k in kinks], 2)) * EPS * g_near
    f_far = values_and_grads(module, FAR)[0]

    weights = np.exp(-0.5 * x**2) * STEP / np.sqrt(2 * np.pi)
    mean = float(np.sum(weights * f))
    std = float(np.sqrt(max(np.sum(weights * (f - mean) ** 2), 0.0)))
    zero = f == 0.0
    zero_run = zero & (np.r_[False, zero[:-1]] | np.r_[zero[1:], False])  # not isolated points
    sparse_fraction = float(np.sum(weights[zero_run]))

    order = np.argsort(np.r_[x, near_x], kind="stable")
    lo_grid, hi_grid = float(np.min(np.r_[f, f_near])), float(np.max(np.r_[f, f_near]))
    lo_all, hi_all = min(lo_grid, float(f_far.min())), max(hi_grid, float(f_far.max()))
    below, above = lo_grid - lo_all < 1.0, hi_all - hi_grid < 1.0
    inf_attained = below and _attained(x, f, g, lo_all, +1)  # judged on the grid itself
    sup_attained = above and _attained(x, f, g, hi_all, -1)
    lo_all = min(lo_all, _refined(module, x, f, +1))
    hi_all = max(hi_all, _refined(module, x, f, -1))
    return Properties(
        f0=float(values_and_grads(module, np.array([0.0]))[0][0]),
        mean=mean, std=std,
        zero_centred=std > 0 and abs(mean) <= CENTRED_TOL * std,
        sparse_fraction=sparse_fraction, sparse=sparse_fraction >= SPARSE_MIN,
        monotonic=_monotonic(np.diff(np.r_[f, f_near][order])),
        continuous=all(k.f_jump == 0.0 for k in kinks),
        smooth=not any(k.is_kink for k in kinks),
        bounded_below=below, bounded_above=above,
        inf=lo_all + 0.0 if below else -np.inf, sup=hi_all + 0.0 if above else np.inf,
        inf_attained=inf_attained, sup_attained=sup_attained,
        kinks=kinks,
    )


def range_text(p: Properties, digits: int = 4) -> str:
    """The computed range as text, e.g. '[0, inf)' or '(-1, 1)'."""
    def num(v: float) -> str:
        return f"{round(v, 9) + 0.0:.{digits}g}"
    lo = num(p.inf) if p.bounded_below else "-inf"
    hi = num(p.sup) if p.bounded_above else "inf"
    return f"{'[' if p.inf_attained else '('}{lo}, {hi}{']' if p.sup_attained else ')'}"
