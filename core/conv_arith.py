"""Output sizes of Conv1d / Conv2d and ConvTranspose2d: formula, substituted steps, checks, torch.

Per axis, convolution gives  out = floor((n + p_before + p_after - d(k-1) - 1) / s) + 1  and
transposed convolution  out = (n-1)s - 2p + d(k-1) + output_padding + 1.  The checks list every
rule PyTorch enforces for these layers, so a configuration gets an explanation exactly when the
real layer raises (tested with hypothesis).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from torch import nn

from core.size_report import (
    AxisSteps,
    Fix,
    Problem,
    SizeReport,
    fixes,
    merge_torch,
    rounding_steps,
    run_layer,
    settle_fixes,
)

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
AXIS_NAMES = {1: ("L",), 2: ("H", "W")}
AXIS_WORDS = {1: ("length",), 2: ("height", "width")}
SIDES = {"L": ("left", "right"), "H": ("top", "bottom"), "W": ("left", "right")}


@dataclass(frozen=True)
class ConvSpec:
    """A Conv1d (one spatial axis) or Conv2d (two) layer and the input it sees."""

    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str  # numbers per axis, or "same" / "valid"
    dilation: tuple[int, ...]
    in_channels: int = 1
    out_channels: int = 1
    groups: int = 1
    padding_mode: str = "zeros"
    bias: bool = True

    def __post_init__(self) -> None:
        dims = len(self.size)
        if dims not in (1, 2):
            raise ValueError(f"size must have 1 or 2 numbers (Conv1d / Conv2d), got {self.size}")
        tuples = [self.kernel, self.stride, self.dilation]
        if not isinstance(self.padding, str):
            tuples.append(self.padding)
        elif self.padding not in ("same", "valid"):
            raise ValueError(f"padding must be numbers, 'same' or 'valid', got {self.padding!r}")
        if any(len(t) != dims for t in tuples):
            raise ValueError("kernel, stride, padding and dilation need one number per axis")
        if self.padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}")

    @property
    def dims(self) -> int:
        return len(self.size)

    @property
    def layer(self) -> str:
        return f"Conv{self.dims}d"


def conv_axis_size(n: int, k: int, s: int, before: int, after: int, d: int) -> int:
    """floor((n + before + after - d(k-1) - 1) / s) + 1: output cells along one axis."""
    return (n + before + after - d * (k - 1) - 1) // s + 1


def same_padding(k: int, d: int) -> tuple[int, int]:
    """How padding='same' splits d(k-1) cells: the odd one goes after (bottom / right)."""
    total = d * (k - 1)
    return total // 2, total - total // 2


def resolve_padding(spec: ConvSpec) -> tuple[tuple[int, int], ...]:
    """(before, after) padding per axis, with 'same' and 'valid' worked out."""
    if spec.padding == "valid":
        return tuple((0, 0) for _ in spec.size)
    if spec.padding == "same":
        return tuple(same_padding(k, d) for k, d in zip(spec.kernel, spec.dilation, strict=True))
    return tuple((p, p) for p in spec.padding)


def conv_out_shape(spec: ConvSpec) -> tuple[int, ...]:
    """(N=1, C_out, *spatial) from the formula (no validity check)."""
    pads = resolve_padding(spec)
    spatial = tuple(conv_axis_size(n, k, s, b, a, d) for n, k, s, (b, a), d in
                    zip(spec.size, spec.kernel, spec.stride, pads, spec.dilation, strict=True))
    return (1, spec.out_channels, *spatial)


def conv_steps(spec: ConvSpec) -> tuple[AxisSteps, ...]:
    """The formula per axis, then with the user's numbers substituted, step by step."""
    out = []
    for i, name in enumerate(AXIS_NAMES[spec.dims]):
        n, k, s, d = spec.size[i], spec.kernel[i], spec.stride[i], spec.dilation[i]
        before, after = resolve_padding(spec)[i]
        pre: tuple[str, ...] = ()
        if spec.padding == "same":
            b_side, a_side = SIDES[name]
            pre = (rf"p_{{\text{{{b_side}}}}} = \lfloor d(k-1)/2 \rfloor = "
                   rf"\lfloor {d}\cdot({k}-1)/2 \rfloor = {before}, \quad "
                   rf"p_{{\text{{{a_side}}}}} = d(k-1) - p_{{\text{{{b_side}}}}} = {after}",)
            pad_sym, pad_num = rf"p_{{\text{{{b_side}}}}} + p_{{\text{{{a_side}}}}}", \
                f"{before} + {after}"
        else:
            p = before
            pad_sym, pad_num = "2p", rf"2\cdot {p}"
        top = n + before + after - d * (k - 1) - 1
        lines = [
            rf"\left\lfloor \frac{{{name} + {pad_sym} - d\,(k-1) - 1}}{{s}} \right\rfloor + 1",
            rf"\left\lfloor \frac{{{n} + {pad_num} - {d}\cdot({k}-1) - 1}}{{{s}}} "
            r"\right\rfloor + 1",
        ]
        rounding, _ = rounding_steps(top, s)
        out.append(AxisSteps(name, rf"{name}_{{\text{{out}}}}", tuple(lines + rounding), pre))
    return tuple(out)


def range_problems(items: list[tuple[str, int | None, str, int, int]]) -> list[Problem]:
    """Each (field, axis, label, value, lowest allowed) below its minimum becomes a problem."""
    return [Problem(f"{label} must be at least {low}", f"got {value}",
                    (Fix(field, axis, low, f"{label} → {low}"),))
            for field, axis, label, value, low in items if value < low]


def axis_items(spec: Any, words: tuple[str, ...], fields: list[tuple[str, str, int]]
               ) -> list[tuple[str, int | None, str, int, int]]:
    """(field, axis, 'kernel height', value, low) for every tuple field and axis."""
    return [(f, i, f"{label} {w}", getattr(spec, f)[i], low)
            for f, label, low in fields for i, w in enumerate(words)]


def group_problems(c_in: int, c_out: int, groups: int) -> list[Problem]:
    """in_channels and out_channels must both split evenly into `groups`."""
    bad = [(name, c) for name, c in (("in_channels", c_in), ("out_channels", c_out))
           if c % groups]
    if not bad:
        return []
    detail = ", ".join(f"{name} = {c} is not a multiple of {groups}" for name, c in bad)
    found = fixes("groups", None, "groups", groups, 1,
                  lambda g: c_in % g == 0 and c_out % g == 0)
    if c_out % groups == 0:
        found += fixes("in_channels", None, "in_channels", c_in, 1, lambda c: c % groups == 0)
    if c_in % groups == 0:
        found += fixes("out_channels", None, "out_channels", c_out, 1,
                       lambda c: c % groups == 0)
    return [Problem("in_channels and out_channels must both be divisible by groups", detail,
                    tuple(found))]


def conv_range_problems(spec: ConvSpec) -> list[Problem]:
    """Numbers below their minimum (kernel 0, negative padding...)."""
    words = AXIS_WORDS[spec.dims]
    items = axis_items(spec, words, [("size", "input", 1), ("kernel", "kernel", 1),
                                      ("stride", "stride", 1), ("dilation", "dilation", 1)])
    if not isinstance(spec.padding, str):
        items += axis_items(spec, words, [("padding", "padding", 0)])
    items += [("in_channels", None, "in_channels", spec.in_channels, 1),
              ("out_channels", None, "out_channels", spec.out_channels, 1),
              ("groups", None, "groups", spec.groups, 1)]
    return range_problems(items)


def conv_problems(spec: ConvSpec) -> tuple[Problem, ...]:
    """Every rule of nn.Conv1d / nn.Conv2d the configuration breaks, with nearest fixes."""
    problems = conv_range_problems(spec)
    if problems:
        return tuple(problems)
    words = AXIS_WORDS[spec.dims]
    problems += group_problems(spec.in_channels, spec.out_channels, spec.groups)
    if spec.padding == "same" and any(s > 1 for s in spec.stride):
        numeric = tuple(d * (k - 1) // 2 for k, d in zip(spec.kernel, spec.dilation, strict=True))
        problems.append(Problem(
            "padding='same' only works with stride 1",
            f"stride is {spec.stride}; with stride > 1 no padding keeps the size unchanged",
            (Fix("stride", None, (1,) * spec.dims, f"stride → {(1,) * spec.dims}"),
             Fix("padding", None, numeric, f"padding → numbers {numeric}"))))
    pads = resolve_padding(spec)
    for i, word in enumerate(words):
        problems += _axis_size_problems(spec, i, word, pads[i])
        problems += _padding_mode_problems(spec, i, word, pads[i])
    return tuple(problems)


def _axis_size_problems(spec: ConvSpec, i: int, word: str, pad: tuple[int, int]
                        ) -> list[Problem]:
    n, k, s, d = spec.size[i], spec.kernel[i], spec.stride[i], spec.dilation[i]
    before, after = pad
    if conv_axis_size(n, k, s, before, after, d) >= 1:
        return []
    span, padded = d * (k - 1) + 1, n + before + after
    found = fixes("kernel", i, f"kernel {word}", k, 1,
                  lambda v: conv_axis_size(n, v, s, before, after, d) >= 1)
    if not isinstance(spec.padding, str):
        found += fixes("padding", i, f"padding {word}", before, 0,
                       lambda v: conv_axis_size(n, k, s, v, v, d) >= 1)
    found += fixes("dilation", i, f"dilation {word}", d, 1,
                   lambda v: conv_axis_size(n, k, s, before, after, v) >= 1)
    found += fixes("size", i, f"input {word}", n, 1,
                   lambda v: conv_axis_size(v, k, s, before, after, d) >= 1)
    return [Problem(f"the output {word} must be at least 1",
                    f"the kernel spans d(k-1)+1 = {span} cells but the padded input {word} is "
                    f"only {n} + {before} + {after} = {padded}", tuple(found))]


def _padding_mode_problems(spec: ConvSpec, i: int, word: str, pad: tuple[int, int]
                           ) -> list[Problem]:
    """reflect needs padding < n (it mirrors without repeating the edge); circular needs ≤ n."""
    mode, n, widest = spec.padding_mode, spec.size[i], max(pad)
    if mode == "reflect" and widest >= n:
        limit, rule = n - 1, f"reflect padding must be smaller than the input {word}"
    elif mode == "circular" and widest > n:
        limit, rule = n, f"circular padding can wrap around the input {word} at most once"
    else:
        return []
    found: list[Fix] = []
    if not isinstance(spec.padding, str):
        found += [Fix("padding", i, limit, f"padding {word} → {limit}")]
    need = widest + 1 if mode == "reflect" else widest
    found += [Fix("size", i, need, f"input {word} → {need}"),
              Fix("padding_mode", None, "zeros", "padding_mode → 'zeros'"),
              Fix("padding_mode", None, "replicate", "padding_mode → 'replicate'")]
    return [Problem(rule, f"padding {widest} with input {word} {n}", tuple(found))]


def conv_macs(spec: ConvSpec, out_shape: tuple[int, ...] | None = None) -> int:
    """Multiply-adds of one forward pass (batch 1): each output value is a C_in/g·k dot product."""
    out = out_shape or conv_out_shape(spec)
    per_value = spec.in_channels // max(spec.groups, 1) * math.prod(spec.kernel)
    return max(math.prod(out), 0) * per_value


def build_conv(spec: ConvSpec, device: str = "cpu") -> nn.Module:
    """The real nn.Conv1d / nn.Conv2d."""
    cls = nn.Conv1d if spec.dims == 1 else nn.Conv2d
    return cls(spec.in_channels, spec.out_channels, spec.kernel, stride=spec.stride,
               padding=spec.padding, dilation=spec.dilation, groups=spec.groups,
               bias=spec.bias, padding_mode=spec.padding_mode, device=device)


def conv_report(spec: ConvSpec) -> SizeReport:
    """Formula, steps, problems and the real layer's output shape."""
    problems = settle_fixes(spec, conv_problems(spec), conv_problems)
    in_shape = (1, spec.in_channels, *spec.size)
    steps = () if conv_range_problems(spec) else conv_steps(spec)
    report = SizeReport(spec.layer, in_shape, None if problems else conv_out_shape(spec),
                        None, steps, problems)
    macs = conv_macs(spec) if not problems else 0
    weights = spec.out_channels * spec.in_channels * math.prod(spec.kernel)
    shape, error, device = run_layer(lambda dev: build_conv(spec, dev), in_shape, macs,
                                     extra_elements=weights)
    return merge_torch(report, shape, error, device)


def conv_code(spec: ConvSpec) -> str:
    """A runnable snippet for the current settings."""
    pad = repr(spec.padding) if isinstance(spec.padding, str) else str(spec.padding)
    shape = ", ".join(str(v) for v in (1, spec.in_channels, *spec.size))
    return (
        "import torch\nfrom torch import nn\n\n"
        f"layer = nn.{spec.layer}({spec.in_channels}, {spec.out_channels}, "
        f"kernel_size={spec.kernel}, stride={spec.stride},\n"
        f"                   padding={pad}, dilation={spec.dilation}, groups={spec.groups}, "
        f"padding_mode={spec.padding_mode!r})\n"
        f"x = torch.randn({shape})\n"
        "y = layer(x)\n"
        "print(tuple(y.shape))\n"
    )

