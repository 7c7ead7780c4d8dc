"""Output size of ConvTranspose2d: formula, substituted steps, checks and the real layer.

Per axis  out = (n - 1)s - 2p + d(k - 1) + output_padding + 1.  output_padding only picks one of
the several input sizes a strided conv maps to the same output, so PyTorch requires it to be
smaller than the stride or the dilation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from core.conv_arith import AXIS_WORDS, axis_items, group_problems, range_problems
from core.size_report import (
    AxisSteps,
    Fix,
    Problem,
    SizeReport,
    fixes,
    merge_torch,
    run_layer,
    settle_fixes,
)


@dataclass(frozen=True)
class TConvSpec:
    """A ConvTranspose2d layer and the input it sees (height, width per tuple)."""

    size: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    output_padding: tuple[int, int]
    dilation: tuple[int, int]
    in_channels: int = 1
    out_channels: int = 1
    groups: int = 1
    bias: bool = True

    def __post_init__(self) -> None:
        fields = (self.size, self.kernel, self.stride, self.padding, self.output_padding,
                  self.dilation)
        if any(len(t) != 2 for t in fields):
            raise ValueError("ConvTranspose2d needs two numbers (height, width) per setting")


def tconv_axis_size(n: int, k: int, s: int, p: int, op: int, d: int) -> int:
    """(n-1)s - 2p + d(k-1) + output_padding + 1: output cells along one axis."""
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


def tconv_out_shape(spec: TConvSpec) -> tuple[int, ...]:
    """(N=1, C_out, H_out, W_out) from the formula."""
    hw = tuple(tconv_axis_size(*args) for args in zip(
        spec.size, spec.kernel, spec.stride, spec.padding, spec.output_padding, spec.dilation, strict=True))
    return (1, spec.out_channels, *hw)


def tconv_steps(spec: TConvSpec) -> tuple[AxisSteps, ...]:
    """Formula, substitution and arithmetic per axis."""
    out = []
    for i, name in enumerate(("H", "W")):
        n, k, s = spec.size[i], spec.kernel[i], spec.stride[i]
        p, op, d = spec.padding[i], spec.output_padding[i], spec.dilation[i]
        terms = [(n - 1) * s, -2 * p, d * (k - 1), op, 1]
        summed = " ".join(f"{'-' if t < 0 else '+'} {abs(t)}" for t in terms[1:])
        lines = (
            rf"({name} - 1)\,s - 2p + d\,(k - 1) + \text{{output\_padding}} + 1",
            rf"({n} - 1)\cdot {s} - 2\cdot {p} + {d}\cdot({k} - 1) + {op} + 1",
            f"{terms[0]} {summed} = {sum(terms)}",
        )
        out.append(AxisSteps(name, rf"{name}_{{\text{{out}}}}", lines))
    return tuple(out)


def tconv_range_problems(spec: TConvSpec) -> list[Problem]:
    """Numbers below their minimum."""
    words = AXIS_WORDS[2]
    items = axis_items(spec, words, [
        ("size", "input", 1), ("kernel", "kernel", 1), ("stride", "stride", 1),
        ("dilation", "dilation", 1), ("padding", "padding", 0),
        ("output_padding", "output_padding", 0)])
    items += [("in_channels", None, "in_channels", spec.in_channels, 1),
              ("out_channels", None, "out_channels", spec.out_channels, 1),
              ("groups", None, "groups", spec.groups, 1)]
    return range_problems(items)


def tconv_problems(spec: TConvSpec) -> tuple[Problem, ...]:
    """Every rule of nn.ConvTranspose2d the configuration breaks, with nearest fixes."""
    problems = tconv_range_problems(spec)
    if problems:
        return tuple(problems)
    problems += group_problems(spec.in_channels, spec.out_channels, spec.groups)
    for i, word in enumerate(AXIS_WORDS[2]):
        problems += _tconv_axis_problems(spec, i, word)
    return tuple(problems)


def _tconv_axis_problems(spec: TConvSpec, i: int, word: str) -> list[Problem]:
    """output_padding below stride or dilation; at least one output cell along axis i."""
    n, k, s = spec.size[i], spec.kernel[i], spec.stride[i]
    p, op, d = spec.padding[i], spec.output_padding[i], spec.dilation[i]
    problems = []
    if not (op < s or op < d):
        problems.append(Problem(
            f"output_padding {word} must be smaller than the stride or the dilation",
            f"output_padding {op} ≥ stride {s} and ≥ dilation {d}",
            (Fix("output_padding", i, max(s, d) - 1,
                 f"output_padding {word} → {max(s, d) - 1}"),
             Fix("stride", i, op + 1, f"stride {word} → {op + 1}"),
             Fix("dilation", i, op + 1, f"dilation {word} → {op + 1}"))))
    size = tconv_axis_size(n, k, s, p, op, d)
    if size < 1:
        found = fixes("padding", i, f"padding {word}", p, 0,
                      lambda v: tconv_axis_size(n, k, s, v, op, d) >= 1)
        found += fixes("kernel", i, f"kernel {word}", k, 1,
                       lambda v: tconv_axis_size(n, v, s, p, op, d) >= 1)
        found += fixes("size", i, f"input {word}", n, 1,
                       lambda v: tconv_axis_size(v, k, s, p, op, d) >= 1)
        problems.append(Problem(
            f"the output {word} must be at least 1",
            f"(n-1)s + d(k-1) + output_padding + 1 = {size + 2 * p}, and padding takes "
            f"2p = {2 * p} away, leaving {size}", tuple(found)))
    return problems


def build_tconv(spec: TConvSpec, device: str = "cpu") -> nn.Module:
    """The real nn.ConvTranspose2d."""
    return nn.ConvTranspose2d(
        spec.in_channels, spec.out_channels, spec.kernel, stride=spec.stride,
        padding=spec.padding, output_padding=spec.output_padding, groups=spec.groups,
        bias=spec.bias, dilation=spec.dilation, device=device)


def tconv_macs(spec: TConvSpec) -> int:
    """Multiply-adds: every input value is scattered through C_out/g·k weights."""
    return (math.prod(spec.size) * spec.in_channels * (spec.out_channels // max(spec.groups, 1))
            * math.prod(spec.kernel))


def tconv_report(spec: TConvSpec) -> SizeReport:
    """Formula, steps, problems and the real layer's output shape."""
    problems = settle_fixes(spec, tconv_problems(spec), tconv_problems)
    in_shape = (1, spec.in_channels, *spec.size)
    steps = () if tconv_range_problems(spec) else tconv_steps(spec)
    report = SizeReport("ConvTranspose2d", in_shape,
                        None if problems else tconv_out_shape(spec), None, steps, problems)
    out_elems = max(math.prod(tconv_out_shape(spec)), 0) if not problems else 0
    shape, error, device = run_layer(
        lambda dev: build_tconv(spec, dev), in_shape, tconv_macs(spec),
        extra_elements=out_elems + spec.in_channels * spec.out_channels * math.prod(spec.kernel))
    if error is None and problems and all(p.rule.startswith("the output") for p in problems) \
            and min(tconv_out_shape(spec)[2:]) == 0:
        # Grouped / large transposed convs run through oneDNN, which returns an empty tensor
        # for a 0-size output where the reference kernel raises. Say what really happened.
        note = ("The formula gives a 0-size output. PyTorch's reference kernel refuses that "
                "('Output size is too small'), but this configuration runs through oneDNN, "
                "which returns an empty tensor instead.")
        return SizeReport("ConvTranspose2d", in_shape, tconv_out_shape(spec), shape, steps, (),
                          device=device, notes=(note,))
    return merge_torch(report, shape, error, device)


def tconv_code(spec: TConvSpec) -> str:
    """A runnable snippet for the current settings."""
    return (
        "import torch\nfrom torch import nn\n\n"
        f"layer = nn.ConvTranspose2d({spec.in_channels}, {spec.out_channels}, "
        f"kernel_size={spec.kernel}, stride={spec.stride},\n"
        f"                           padding={spec.padding}, "
        f"output_padding={spec.output_padding}, dilation={spec.dilation}, "
        f"groups={spec.groups})\n"
        f"x = torch.randn(1, {spec.in_channels}, {spec.size[0]}, {spec.size[1]})\n"
        "y = layer(x)\n"
        "print(tuple(y.shape))\n"
    )
