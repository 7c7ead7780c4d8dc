"""Hand-written formula (LaTeX), output range and a NumPy transcription of every activation.

The LaTeX is what learners read; `reference` is the same formula typed in NumPy next to it, and
the tests compare it with the real torch module on a grid, so a wrong formula fails a test.
The range is the mathematical image of f; the tests check it against the computed one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.activation_specs import check_params

INF = math.inf
SELU_LAMBDA = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
SWISH_MIN = -0.2784645427610738  # min over u of u * sigmoid(u), at u = -1.27846
GELU_MIN = -0.16997120747940211  # at x = -0.75179
GELU_TANH_MIN = -0.17004075057081885
MISH_MIN = -0.30884341301705354  # at x = -1.19243

Array = np.ndarray


@dataclass(frozen=True)
class OutputRange:
    """The image of f: hull [lo, hi] with open/closed ends, and its LaTeX (may show gaps)."""

    lo: float
    hi: float
    lo_closed: bool
    hi_closed: bool
    latex: str


@dataclass(frozen=True)
class Formula:
    latex: str
    reference: Callable[..., Array]  # NumPy float64 version of `latex`, for tests
    output_range: Callable[..., OutputRange]


def _sig(x: Array) -> Array:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


def _erf(x: Array) -> Array:
    return np.vectorize(math.erf, otypes=[float])(x)


def _softplus(x: Array) -> Array:
    return np.logaddexp(0.0, x)


def _rng(lo: float, hi: float, lo_closed: bool, hi_closed: bool, latex: str) -> OutputRange:
    return OutputRange(lo, hi, lo_closed, hi_closed, latex)


def _leaky_range(slope: float, sym: str) -> OutputRange:
    if slope > 0:
        return _rng(-INF, INF, False, False, rf"(-\infty, \infty) \text{{ since }} {sym} > 0")
    return _rng(0.0, INF, True, False, rf"[0, \infty) \text{{ since }} {sym} \le 0")


def _threshold_range(threshold: float, value: float) -> OutputRange:
    if value > threshold:
        return _rng(threshold, INF, False, False,
                    r"(\text{threshold}, \infty) \text{ since value} > \text{threshold}")
    return _rng(value, INF, True, False, r"\{\text{value}\} \cup (\text{threshold}, \infty)")


_REAL = _rng(-INF, INF, False, False, r"(-\infty, \infty)")
_POS = _rng(0.0, INF, True, False, r"[0, \infty)")
_LEAKY = r"\max(0, x) + {s} \cdot \min(0, x)"
_CASES = r"\begin{{cases}} {a} & x > 0 \\ {b} & x \le 0 \end{{cases}}"

FORMULAS: dict[str, Formula] = {
    "relu": Formula(r"\max(0, x)", lambda x: np.maximum(x, 0.0), lambda: _POS),
    "tanh": Formula(r"\tanh x = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}", np.tanh,
                    lambda: _rng(-1, 1, False, False, r"(-1, 1)")),
    "sigmoid": Formula(r"\sigma(x) = \frac{1}{1 + e^{-x}}", _sig,
                       lambda: _rng(0, 1, False, False, r"(0, 1)")),
    "gelu": Formula(
        r"x\,\Phi(x) = \frac{x}{2}\left(1 + \operatorname{erf}\frac{x}{\sqrt{2}}\right)",
        lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
        lambda: _rng(GELU_MIN, INF, True, False, r"[\approx -0.1700, \infty)")),
    "gelu_tanh": Formula(
        r"\frac{x}{2}\left(1 + \tanh\!\left(\sqrt{2/\pi}\,(x + 0.044715\,x^{3})\right)\right)",
        lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))),
        lambda: _rng(GELU_TANH_MIN, INF, True, False, r"[\approx -0.1700, \infty)")),
    "swish": Formula(
        r"x\,\sigma(\beta x) = \frac{x}{1 + e^{-\beta x}}", lambda x, beta: x * _sig(beta * x),
        lambda beta: _rng(SWISH_MIN / beta, INF, True, False, r"[\approx -0.2785/\beta, \infty)")
        if beta > 0 else _rng(-INF, INF, False, False, r"(-\infty, \infty) \text{ (}x/2\text{)}")),
    "silu": Formula(r"x\,\sigma(x) = \frac{x}{1 + e^{-x}}", lambda x: x * _sig(x),
                    lambda: _rng(SWISH_MIN, INF, True, False, r"[\approx -0.2785, \infty)")),
    "prelu": Formula(_LEAKY.format(s="a"),
                     lambda x, init: np.maximum(x, 0.0) + init * np.minimum(x, 0.0),
                     lambda init: _leaky_range(init, "a")),
    "leaky_relu": Formula(
        _LEAKY.format(s=r"\text{negative\_slope}"),
        lambda x, negative_slope: np.maximum(x, 0.0) + negative_slope * np.minimum(x, 0.0),
        lambda negative_slope: _leaky_range(negative_slope, r"\text{negative\_slope}")),
    "rrelu": Formula(
        _LEAKY.format(s=r"\tfrac{\text{lower} + \text{upper}}{2}") + r"\quad\text{(eval mode)}",
        lambda x, lower, upper: np.maximum(x, 0.0) + (lower + upper) / 2 * np.minimum(x, 0.0),
        lambda lower, upper: _leaky_range((lower + upper) / 2, r"\text{slope}")),
    "elu": Formula(_CASES.format(a="x", b=r"\alpha\,(e^{x} - 1)"),
                   lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))),
                   lambda alpha: _rng(-alpha, INF, False, False, r"(-\alpha, \infty)")),
    "selu": Formula(
        r"\lambda " + _CASES.format(a="x", b=r"\alpha\,(e^{x} - 1)")
        + r"\quad \lambda \approx 1.0507,\ \alpha \approx 1.6733",
        lambda x: SELU_LAMBDA * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
        lambda: _rng(-SELU_LAMBDA * SELU_ALPHA, INF, False, False,
                     r"(-\lambda\alpha, \infty) \approx (-1.7581, \infty)")),
    "celu": Formula(
        r"\max(0, x) + \min\!\left(0,\ \alpha\,(e^{x/\alpha} - 1)\right)",
        lambda x, alpha: np.maximum(x, 0.0) + np.minimum(0.0, alpha * np.expm1(
            np.minimum(x, 0.0) / alpha)),
        lambda alpha: _rng(-alpha, INF, False, False, r"(-\alpha, \infty)")),
    "softplus": Formula(
        r"\begin{cases} \frac{1}{\beta}\log\left(1 + e^{\beta x}\right) & \beta x \le "
        r"\text{threshold} \\ x & \beta x > \text{threshold} \end{cases}",
        lambda x, beta, threshold: np.where(beta * x > threshold, x, _softplus(beta * x) / beta),
        lambda beta, threshold: _rng(0, INF, False, False, r"(0, \infty)")),
    "mish": Formula(r"x \tanh\left(\log(1 + e^{x})\right)", lambda x: x * np.tanh(_softplus(x)),
                    lambda: _rng(MISH_MIN, INF, True, False, r"[\approx -0.3088, \infty)")),
    "hardswish": Formula(r"x \cdot \frac{\operatorname{ReLU6}(x + 3)}{6}",
                         lambda x: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,
                         lambda: _rng(-0.375, INF, True, False, r"[-0.375, \infty)")),
    "hardsigmoid": Formula(r"\frac{\operatorname{ReLU6}(x + 3)}{6} = \min\!\left(1, "
                           r"\max\!\left(0, \tfrac{x}{6} + \tfrac12\right)\right)",
                           lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
                           lambda: _rng(0, 1, True, True, r"[0, 1]")),
    "relu6": Formula(r"\min\left(\max(0, x), 6\right)", lambda x: np.clip(x, 0.0, 6.0),
                     lambda: _rng(0, 6, True, True, r"[0, 6]")),
    "hardtanh": Formula(
        r"\min\left(\max(\text{min\_val}, x), \text{max\_val}\right)",
        lambda x, min_val, max_val: np.clip(x, min_val, max_val),
        lambda min_val, max_val: _rng(min_val, max_val, True, True,
                                      r"[\text{min\_val}, \text{max\_val}]")),
    "softsign": Formula(r"\frac{x}{1 + |x|}", lambda x: x / (1.0 + np.abs(x)),
                        lambda: _rng(-1, 1, False, False, r"(-1, 1)")),
    "logsigmoid": Formula(r"\log \frac{1}{1 + e^{-x}}", lambda x: -_softplus(-x),
                          lambda: _rng(-INF, 0, False, False, r"(-\infty, 0)")),
    "tanhshrink": Formula(r"x - \tanh x", lambda x: x - np.tanh(x), lambda: _REAL),
    "softshrink": Formula(
        r"\begin{cases} x - \lambda & x > \lambda \\ x + \lambda & x < -\lambda \\ "
        r"0 & \text{otherwise} \end{cases}",
        lambda x, lambd: np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0.0)),
        lambda lambd: _REAL),
    "hardshrink": Formula(
        r"\begin{cases} x & |x| > \lambda \\ 0 & \text{otherwise} \end{cases}",
        lambda x, lambd: np.where(np.abs(x) > lambd, x, 0.0),
        lambda lambd: _rng(-INF, INF, False, False,
                           r"(-\infty, -\lambda) \cup \{0\} \cup (\lambda, \infty)")),
    "threshold": Formula(
        r"\begin{cases} x & x > \text{threshold} \\ \text{value} & \text{otherwise} \end{cases}",
        lambda x, threshold, value: np.where(x > threshold, x, value), _threshold_range),
}


def formula(name: str) -> Formula:
    """The formula entry of `name` (ValueError for unknown names)."""
    if name not in FORMULAS:
        raise ValueError(f"No formula for activation {name!r}")
    return FORMULAS[name]


_SYMBOLS = {"beta": r"\beta", "alpha": r"\alpha", "lambd": r"\lambda", "init": "a"}


def _symbol(param: str) -> str:
    return _SYMBOLS.get(param, r"\text{" + param.replace("_", r"\_") + "}")


def latex(name: str, params: dict[str, float] | None = None) -> str:
    """`f(x) = ...` in LaTeX, followed by the parameter values when they are given."""
    text = "f(x) = " + formula(name).latex
    if params:
        values = check_params(name, params)
        text += r",\qquad " + r",\ ".join(f"{_symbol(k)} = {v:g}" for k, v in values.items())
    return text


def output_range(name: str, params: dict[str, float] | None = None) -> OutputRange:
    """The mathematical image of f for these parameter values."""
    return formula(name).output_range(**check_params(name, params or {}))


def reference(name: str, x: Array, params: dict[str, float] | None = None) -> Array:
    """The NumPy transcription of the LaTeX, evaluated at `x` (float64)."""
    return formula(name).reference(np.asarray(x, dtype=float), **check_params(name, params or {}))
