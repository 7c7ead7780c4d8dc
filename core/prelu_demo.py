"""PReLU learns its slope: a single nn.PReLU fitted by gradient descent to a 1-D target.

Only inputs x < 0 give a gradient for a (for x > 0 PReLU is x whatever a is), so the best
slope is the least-squares fit of y against x over the negative inputs:
    a* = sum_{x<0} x y / sum_{x<0} x^2.
With MSE and plain SGD the loss is a parabola in a with curvature 2 mean(x^2 [x<0]), so the
learning rate has a hard limit above which a overshoots further every step and diverges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.activations import build_activation

# target name -> (formula, the slope a of the PReLU that produces it; None: no PReLU does).
TASKS: dict[str, tuple[str, float | None]] = {
    "abs": ("y = |x|", -1.0),
    "relu": ("y = max(0, x)", 0.0),
    "leaky": ("y = LeakyReLU(x, 0.2)", 0.2),
    "identity": ("y = x", 1.0),
    "softplus": ("y = softplus(x) (no PReLU fits exactly)", None),
}
MAX_STEPS = 2000


@dataclass(frozen=True)
class PreluConfig:
    task: str = "abs"
    init: float = 0.25  # PReLU's own default start
    lr: float = 0.1
    steps: int = 100
    n: int = 256
    noise: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"Unknown task {self.task!r}; choose one of: {', '.join(TASKS)}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError("the learning rate must be a positive number")
        if not 1 <= self.steps <= MAX_STEPS:
            raise ValueError(f"steps must be between 1 and {MAX_STEPS}, got {self.steps}")
        if not math.isfinite(self.init):
            raise ValueError("the initial slope must be a finite number")
        if self.n < 2 or not self.noise >= 0:
            raise ValueError("need at least 2 points and noise >= 0")


@dataclass(frozen=True)
class PreluRun:
    config: PreluConfig
    steps: tuple[int, ...]  # 0 .. steps taken
    slope: tuple[float, ...]  # a before each step, and after the last one
    loss: tuple[float, ...]  # MSE at that a
    best_slope: float  # least-squares a* on the same data
    max_stable_lr: float  # SGD diverges for lr above 2 / curvature
    diverged: bool
    x: tuple[float, ...] = ()  # the training data, for a picture of the fit
    y: tuple[float, ...] = ()
    fitted: tuple[float, ...] = ()  # the PReLU with the final a, at x


def task_data(cfg: PreluConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs uniform on [-3, 3] and noisy targets (fixed by the seed)."""
    gen = torch.Generator().manual_seed(cfg.seed)
    x = torch.rand(cfg.n, generator=gen) * 6 - 3
    if cfg.task == "softplus":
        y = nn.functional.softplus(x)
    else:
        y = nn.functional.prelu(x, torch.tensor([TASKS[cfg.task][1]]))
    return x, y + cfg.noise * torch.randn(cfg.n, generator=gen)


def best_slope(x: np.ndarray, y: np.ndarray) -> float:
    """The least-squares slope over x < 0: what gradient descent should converge to."""
    neg = x < 0
    return float(np.sum(x[neg] * y[neg]) / np.sum(x[neg] ** 2))


def train_prelu(cfg: PreluConfig) -> PreluRun:
    """Full-batch SGD on MSE; records a and the loss at every step (stops if it diverges)."""
    x, y = task_data(cfg)
    model = build_activation("prelu", init=cfg.init)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    slopes, losses, diverged = [], [], False
    for _ in range(cfg.steps + 1):
        loss = nn.functional.mse_loss(model(x), y)
        slopes.append(model.weight.item())
        losses.append(loss.item())
        if not (math.isfinite(losses[-1]) and abs(slopes[-1]) < 1e6):
            diverged = True
            break
        if len(slopes) > cfg.steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    xn, yn = x.double().numpy(), y.double().numpy()
    curvature = 2 * float(np.mean(xn**2 * (xn < 0)))
    with torch.no_grad():
        fitted = model(x).double().numpy()
    return PreluRun(cfg, tuple(range(len(slopes))), tuple(slopes), tuple(losses),
                    best_slope(xn, yn), 2 / curvature, diverged,
                    tuple(xn.tolist()), tuple(yn.tolist()), tuple(fitted.tolist()))
