"""The multilayer perceptron: flatten, `depth` hidden blocks of `width` units, a linear head.

Each hidden block is Linear -> norm (optional) -> activation -> dropout (optional), in that
order: normalisation sees the raw pre-activations, as in the BatchNorm paper. The Linear keeps
its bias even before a norm layer (where it is redundant) so that changing `norm` changes the
parameter count only by the norm layer's own parameters.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

from core.activations import build_activation
from core.config import TrainConfig
from core.models.blocks import norm_1d, run_block


def mlp_activation(cfg: TrainConfig) -> nn.Module:
    """A fresh activation module for cfg.activation (its parameters taken from cfg)."""
    if cfg.activation == "swish":
        return build_activation("swish", beta=cfg.swish_beta)
    if cfg.activation == "prelu":
        return build_activation("prelu", num_parameters=1)  # one learned slope per layer
    return build_activation(cfg.activation)


def hidden_block(cfg: TrainConfig, in_features: int) -> nn.Sequential:
    """Linear -> norm -> activation -> dropout, with named parts (linear, norm, act, drop)."""
    parts: OrderedDict[str, nn.Module] = OrderedDict(linear=nn.Linear(in_features, cfg.width))
    norm = norm_1d(cfg.norm, cfg.width, cfg.norm_groups)
    if norm is not None:
        parts["norm"] = norm
    parts["act"] = mlp_activation(cfg)
    if cfg.dropout > 0:
        parts["drop"] = nn.Dropout(cfg.dropout)
    return nn.Sequential(parts)


class MLP(nn.Module):
    """Flatten -> `depth` hidden blocks -> Linear head; any input shape, (N, outputs) out."""

    supports_checkpointing = True

    def __init__(self, cfg: TrainConfig, input_shape: tuple[int, ...], num_outputs: int) -> None:
        super().__init__()
        in_features = math.prod(input_shape)
        self.flatten = nn.Flatten()  # reshape, not view: channels_last images flatten correctly
        self.hidden = nn.ModuleList(
            hidden_block(cfg, in_features if i == 0 else cfg.width) for i in range(cfg.depth))
        self.head = nn.Linear(cfg.width, num_outputs)
        self.grad_checkpointing = cfg.grad_checkpointing

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(x)
        for block in self.hidden:
            x = run_block(block, x, self.grad_checkpointing)
        return self.head(x)


def build_mlp(cfg: TrainConfig, input_shape: tuple[int, ...], num_outputs: int) -> MLP:
    """The MLP for `cfg`, sized from the input shape and the number of outputs."""
    return MLP(cfg, input_shape, num_outputs)
