"""f(x) and f'(x) of an activation, from the real torch module (derivative by autograd).

Everything runs in float64 so that the numbers learners read are not float32 rounding.
At a kink autograd returns one subgradient (e.g. ReLU'(0) = 0 in PyTorch), not "the" derivative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.activation_specs import check_params
from core.activations import build_activation

MAX_POINTS = 20_001


@dataclass(frozen=True)
class Curve:
    x: np.ndarray
    y: np.ndarray  # f(x)
    dy: np.ndarray  # f'(x) by autograd


@dataclass(frozen=True)
class Regions:
    """Closed x-intervals where the gradient vanishes (|f'| < threshold) or is exactly 0."""

    vanishing: tuple[tuple[float, float], ...]
    zero: tuple[tuple[float, float], ...]


def activation_module(name: str, params: dict[str, float] | None = None) -> nn.Module:
    """The registry's torch module for `name`, in float64 and eval mode (RReLU deterministic)."""
    module = build_activation(name, **check_params(name, params or {}))
    return module.to(torch.float64).eval()


def values_and_grads(module: nn.Module, x: np.ndarray | torch.Tensor) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    """f(x) and f'(x) at each point: one forward, then backward of the sum.

    The activations are elementwise, so d(sum f(x_i))/dx_i = f'(x_i).
    """
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64)).clone().requires_grad_(True)
    y = module(xt)
    y.sum().backward()
    return y.detach().numpy(), xt.grad.numpy()


def curve(name: str, params: dict[str, float] | None, lo: float, hi: float,
          n: int = 801) -> Curve:
    """f and f' on `n` evenly spaced points of [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("the x range must be finite numbers")
    if lo >= hi:
        raise ValueError(f"the x range needs lo < hi, got [{lo}, {hi}]")
    if not 2 <= n <= MAX_POINTS:
        raise ValueError(f"use between 2 and {MAX_POINTS} points, got {n}")
    x = np.linspace(lo, hi, n)
    y, dy = values_and_grads(activation_module(name, params), x)
    return Curve(x, y, dy)


def probe(name: str, params: dict[str, float] | None, x: float) -> tuple[float, float]:
    """(f(x), f'(x)) at one point."""
    if not math.isfinite(x):
        raise ValueError("the probe x must be a finite number")
    y, dy = values_and_grads(activation_module(name, params), np.array([x]))
    return float(y[0]), float(dy[0])


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges [i, j] of consecutive True values, at least two points long."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= 2]


def _intervals(x: np.ndarray, mask: np.ndarray) -> tuple[tuple[float, float], ...]:
    return tuple((float(x[i]), float(x[j])) for i, j in _runs(mask))


def regions(c: Curve, threshold: float) -> Regions:
    """Where |f'| < threshold (vanishing) and where f' == 0 exactly, as x-intervals."""
    if not threshold >= 0:
        raise ValueError("the vanishing-gradient threshold must be >= 0")
    size = np.abs(c.dy)
    return Regions(_intervals(c.x, size < threshold), _intervals(c.x, size == 0.0))


def covered(intervals: tuple[tuple[float, float], ...], lo: float, hi: float) -> float:
    """The share of [lo, hi] covered by the intervals (for captions)."""
    return sum(b - a for a, b in intervals) / (hi - lo)
