"""Registry of every activation the app offers: name -> builder of the real torch module.

The activations page, the depth experiment and the MLP all build activations from here, so
a name means the same module everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn


class Swish(nn.Module):
    """x * sigmoid(beta * x). PyTorch has no Swish module; with beta = 1 it is nn.SiLU."""

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        self.beta = float(beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.beta == 1.0:
            return nn.functional.silu(x)
        return x * torch.sigmoid(self.beta * x)

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


# name -> builder(**params). Params not given take torch's defaults.
ACTIVATION_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda negative_slope=0.01: nn.LeakyReLU(negative_slope),
    "prelu": lambda init=0.25, num_parameters=1: nn.PReLU(num_parameters, init),
    # Random slopes in training mode; (lower + upper) / 2 in eval mode.
    "rrelu": lambda lower=1 / 8, upper=1 / 3: nn.RReLU(lower, upper),
    "elu": lambda alpha=1.0: nn.ELU(alpha),
    "selu": lambda: nn.SELU(),
    "celu": lambda alpha=1.0: nn.CELU(alpha),
    "gelu": lambda: nn.GELU(approximate="none"),
    "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
    "silu": lambda: nn.SiLU(),
    "swish": lambda beta=1.0: Swish(beta),
    "mish": lambda: nn.Mish(),
    "tanh": lambda: nn.Tanh(),
    "sigmoid": lambda: nn.Sigmoid(),
    "softplus": lambda beta=1.0, threshold=20.0: nn.Softplus(beta, threshold),
    "hardswish": lambda: nn.Hardswish(),
    "hardsigmoid": lambda: nn.Hardsigmoid(),
    "relu6": lambda: nn.ReLU6(),
    "hardtanh": lambda min_val=-1.0, max_val=1.0: nn.Hardtanh(min_val, max_val),
    "softsign": lambda: nn.Softsign(),
    "logsigmoid": lambda: nn.LogSigmoid(),
    "tanhshrink": lambda: nn.Tanhshrink(),
    "softshrink": lambda lambd=0.5: nn.Softshrink(lambd),
    "hardshrink": lambda lambd=0.5: nn.Hardshrink(lambd),
    "threshold": lambda threshold=0.0, value=0.0: nn.Threshold(threshold, value),
}


def build_activation(name: str, **params: Any) -> nn.Module:
    """A fresh torch module for `name`; unknown names are refused with the valid list."""
    try:
        builder = ACTIVATION_BUILDERS[name]
    except KeyError:
        valid = ", ".join(sorted(ACTIVATION_BUILDERS))
        raise ValueError(f"Unknown activation {name!r}; choose one of: {valid}") from None
    return builder(**params)
