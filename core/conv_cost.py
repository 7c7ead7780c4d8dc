"""Parameters, multiply-adds, receptive field and channel connectivity of a conv layer.

Hand counts sit beside PyTorch's own: parameters from the module, FLOPs from
torch.utils.flop_counter (which counts 2 per multiply-add), both on the meta device so the size
of the layer costs nothing.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from core.conv_arith import ConvSpec, build_conv, conv_macs, conv_out_shape


def conv_params(spec: ConvSpec) -> int:
    """C_out · (C_in / groups) · prod(kernel), plus C_out biases."""
    weights = spec.out_channels * (spec.in_channels // spec.groups) * math.prod(spec.kernel)
    return weights + (spec.out_channels if spec.bias else 0)


def receptive_field(spec: ConvSpec) -> tuple[int, ...]:
    """Input cells one output value sees per axis: d(k - 1) + 1."""
    return tuple(d * (k - 1) + 1 for k, d in zip(spec.kernel, spec.dilation, strict=True))


def torch_counts(spec: ConvSpec) -> tuple[int, int]:
    """(parameters, multiply-adds) as PyTorch counts them for one forward pass (batch 1)."""
    layer = build_conv(spec, device="meta")
    params = sum(p.numel() for p in layer.parameters())
    x = torch.zeros((1, spec.in_channels, *spec.size), device="meta")
    with FlopCounterMode(display=False) as counter:
        layer(x)
    return params, counter.get_total_flops() // 2


def channel_links(c_in: int, c_out: int, groups: int) -> np.ndarray:
    """(C_out, C_in) bool: output channel o reads input channel i (same group)."""
    group_of_in = np.arange(c_in) // (c_in // groups)
    group_of_out = np.arange(c_out) // (c_out // groups)
    return group_of_out[:, None] == group_of_in[None, :]


@dataclass(frozen=True)
class Variant:
    """One way to connect the same channels: its groups, parameters and multiply-adds."""

    name: str
    groups: int | None  # None: depthwise + pointwise (two layers)
    params: int
    macs: int
    note: str = ""


def variants(spec: ConvSpec) -> list[Variant]:
    """Standard, the chosen groups, depthwise and depthwise-separable for the same shapes."""
    def one(name: str, groups: int, note: str = "") -> Variant:
        s = dataclasses.replace(spec, groups=groups)
        return Variant(name, groups, conv_params(s), conv_macs(s), note)

    c_in, c_out = spec.in_channels, spec.out_channels
    out: list[Variant] = [one("standard", 1, "every output channel reads every input channel")]
    if spec.groups not in (1, c_in):
        out.append(one(f"grouped (g={spec.groups})", spec.groups,
                       f"{spec.groups} independent convolutions side by side"))
    if c_out % c_in == 0:
        out.append(one("depthwise", c_in, f"each output channel reads one input channel "
                                          f"(multiplier {c_out // c_in})"))
    dw = dataclasses.replace(spec, out_channels=c_in, groups=c_in)
    h_w = conv_out_shape(dw)[2:]
    pw = dataclasses.replace(spec, size=tuple(h_w), kernel=(1,) * spec.dims,
                             stride=(1,) * spec.dims, padding=(0,) * spec.dims,
                             dilation=(1,) * spec.dims, groups=1, padding_mode="zeros")
    out.append(Variant("depthwise-separable", None, conv_params(dw) + conv_params(pw),
                       conv_macs(dw) + conv_macs(pw), "depthwise, then a 1×1 conv mixing channels"))
    return out
