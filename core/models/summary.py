"""A layer-by-layer table of a model, read off a real forward pass (like torchinfo/Keras)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class LayerInfo:
    """One leaf module's call: its output shape per sample (batch dimension left out)."""

    name: str  # qualified name in the model, e.g. "hidden.0.linear"
    kind: str  # the module's class, e.g. "Linear"
    output_shape: tuple[int, ...]
    params: int  # parameters the module owns (0 on a repeated call of the same module)
    trainable: int  # of those, how many have requires_grad


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter values (each shared tensor counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name or type(model).__name__, m) for name, m in model.named_modules()
            if not any(True for _ in m.children())]


def model_summary(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerInfo]:
    """Every leaf module in call order, with the shape it really output on a batch of 2.

    Runs in eval mode under no_grad (BatchNorm uses its running stats, dropout is off) and
    restores the model's mode after. The params of all rows add up to count_params(model)
    when every parameter lives in a leaf module that the forward pass calls.
    """
    rows: list[LayerInfo] = []
    seen: set[int] = set()

    def hook(name: str, module: nn.Module, _inp: Any, out: Any) -> None:
        shape = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else ()
        first = id(module) not in seen
        seen.add(id(module))
        own = list(module.parameters(recurse=False)) if first else []
        rows.append(LayerInfo(name, type(module).__name__, shape,
                              sum(p.numel() for p in own),
                              sum(p.numel() for p in own if p.requires_grad)))

    ref = next(model.parameters(), None)
    device = ref.device if ref is not None else torch.device("cpu")
    dtype = ref.dtype if ref is not None and ref.is_floating_point() else torch.float32
    handles = [m.register_forward_hook(lambda mod, i, o, n=name: hook(n, mod, i, o))
               for name, m in _leaves(model)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((2, *input_shape), device=device, dtype=dtype))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return rows
