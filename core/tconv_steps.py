"""Transposed convolution as an ordinary one, in four steps, checked against nn.ConvTranspose2d.

1. insert s - 1 zeros between input elements;  2. pad d(k - 1) - p on each side, plus
output_padding on the bottom / right (a negative amount crops);  3. flip the kernel (and swap
its in/out channel axes per group);  4. run an ordinary stride-1 convolution with dilation d.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.tconv_arith import TConvSpec, tconv_out_shape


@dataclass(frozen=True)
class TConvSteps:
    """Every intermediate grid (channel 0) and the check over all channels."""

    x: np.ndarray  # the input
    zero_inserted: np.ndarray  # step 1
    is_input: np.ndarray  # bool over step 2's grid: where an original input value sits
    padded: np.ndarray  # step 2
    pads: tuple[int, int, int, int]  # (top, bottom, left, right); negative means cropped
    kernel: np.ndarray  # weight[0, 0] of the ConvTranspose2d
    flipped: np.ndarray  # step 3: the conv kernel for output channel 0, input channel 0
    conv_out: np.ndarray  # step 4: ordinary convolution
    torch_out: np.ndarray  # nn.ConvTranspose2d
    max_abs_diff: float  # between the two, over every channel


def example_tensors(spec: TConvSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Small whole numbers, so every sum is exact and the flip is visible (kernel 1, 2, 3...)."""
    h, w = spec.size
    x = torch.arange(spec.in_channels * h * w, dtype=torch.float64)
    x = (x % 9 + 1).view(1, spec.in_channels, h, w)
    per_group = spec.out_channels // spec.groups
    kh, kw = spec.kernel
    weight = torch.arange(kh * kw, dtype=torch.float64).repeat(spec.in_channels * per_group)
    offsets = torch.arange(spec.in_channels * per_group, dtype=torch.float64)
    weight = (weight.view(-1, kh * kw) + offsets[:, None]) % 9 + 1
    return x, weight.view(spec.in_channels, per_group, kh, kw)


def insert_zeros(x: torch.Tensor, stride: tuple[int, int]) -> torch.Tensor:
    """Step 1: s - 1 zeros between neighbouring input elements along each axis."""
    n, c, h, w = x.shape
    out = x.new_zeros(n, c, (h - 1) * stride[0] + 1, (w - 1) * stride[1] + 1)
    out[:, :, ::stride[0], ::stride[1]] = x
    return out


def transposed_pads(spec: TConvSpec) -> tuple[int, int, int, int]:
    """Step 2's (top, bottom, left, right): d(k-1) - p each side, output_padding after."""
    qh = spec.dilation[0] * (spec.kernel[0] - 1) - spec.padding[0]
    qw = spec.dilation[1] * (spec.kernel[1] - 1) - spec.padding[1]
    return qh, qh + spec.output_padding[0], qw, qw + spec.output_padding[1]


def conv_weight(weight: torch.Tensor, groups: int) -> torch.Tensor:
    """Step 3: a ConvTranspose2d weight (C_in, C_out/g, kh, kw) as a Conv2d weight
    (C_out, C_in/g, kh, kw): swap the channel axes within each group, flip both spatial axes."""
    per_group = weight.shape[0] // groups
    parts = [weight[g * per_group:(g + 1) * per_group].transpose(0, 1) for g in range(groups)]
    return torch.cat(parts, 0).flip(2, 3)


def tconv_steps(spec: TConvSpec) -> TConvSteps:
    """Run the four steps and nn.ConvTranspose2d on the same numbers (the spec must be valid)."""
    x, weight = example_tensors(spec)
    zeros = insert_zeros(x, spec.stride)
    top, bottom, left, right = transposed_pads(spec)
    padded = F.pad(zeros, (left, right, top, bottom))  # negative amounts crop
    marker = F.pad(insert_zeros(torch.ones_like(x[:, :1]), spec.stride),
                   (left, right, top, bottom))
    flipped = conv_weight(weight, spec.groups)
    conv_out = F.conv2d(padded, flipped, dilation=spec.dilation, groups=spec.groups)
    torch_out = F.conv_transpose2d(x, weight, stride=spec.stride, padding=spec.padding,
                                   output_padding=spec.output_padding, groups=spec.groups,
                                   dilation=spec.dilation)
    diff = float((conv_out - torch_out).abs().max()) if conv_out.shape == torch_out.shape \
        else float("inf")
    return TConvSteps(
        x=x[0, 0].numpy(), zero_inserted=zeros[0, 0].numpy(), is_input=marker[0, 0].numpy() > 0,
        padded=padded[0, 0].numpy(), pads=(top, bottom, left, right),
        kernel=weight[0, 0].numpy(), flipped=flipped[0, 0].numpy(),
        conv_out=conv_out[0, 0].numpy(), torch_out=torch_out[0, 0].numpy(), max_abs_diff=diff)


def tconv_steps_code(spec: TConvSpec) -> str:
    """A runnable snippet that checks the four-step equivalence on random numbers."""
    (top, bottom, left, right), g = transposed_pads(spec), spec.groups
    return (
        "import torch\nimport torch.nn.functional as F\nfrom torch import nn\n\n"
        f"layer = nn.ConvTranspose2d({spec.in_channels}, {spec.out_channels}, "
        f"kernel_size={spec.kernel}, stride={spec.stride}, padding={spec.padding},\n"
        f"                           output_padding={spec.output_padding}, "
        f"dilation={spec.dilation}, groups={g}, bias=False)\n"
        f"x = torch.randn(1, {spec.in_channels}, {spec.size[0]}, {spec.size[1]})\n\n"
        f"z = torch.zeros(1, {spec.in_channels}, {(spec.size[0] - 1) * spec.stride[0] + 1}, "
        f"{(spec.size[1] - 1) * spec.stride[1] + 1})\n"
        f"z[:, :, ::{spec.stride[0]}, ::{spec.stride[1]}] = x          # 1. insert zeros\n"
        f"z = F.pad(z, ({left}, {right}, {top}, {bottom}))  # 2. pad (negative = crop)\n"
        f"w = layer.weight  # (C_in, C_out/g, kh, kw)\n"
        f"per = w.shape[0] // {g}\n"
        f"w = torch.cat([w[i * per:(i + 1) * per].transpose(0, 1) for i in range({g})])\n"
        "w = w.flip(2, 3)                               # 3. flip the kernel\n"
        + (_last_step(spec) if min(tconv_out_shape(spec)[2:]) > 0 else _empty_last_step(spec))
    )


def _last_step(spec: TConvSpec) -> str:
    return (f"y = F.conv2d(z, w, dilation={spec.dilation}, groups={spec.groups})"
            "  # 4. ordinary conv\n"
            "print(torch.allclose(y, layer(x), atol=1e-5), tuple(y.shape))\n")


def _empty_last_step(spec: TConvSpec) -> str:
    """An output side of 0: the layer returns an empty tensor, but F.conv2d refuses a grid
    smaller than the kernel, so step 4 cannot run (the snippet shows both)."""
    return ("print(tuple(layer(x).shape))  # an output side of 0: an empty tensor\n"
            "try:  # 4. ordinary conv: the grid is smaller than the dilated kernel\n"
            f"    F.conv2d(z, w, dilation={spec.dilation}, groups={spec.groups})\n"
            "except RuntimeError as err:\n"
            "    print('step 4 refuses it:', str(err).splitlines()[0])\n")
