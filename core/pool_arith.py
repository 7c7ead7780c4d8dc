"""Output sizes of MaxPool2d / AvgPool2d and the adaptive pools: formula, steps, checks, torch.

Pooling uses the conv formula, rounded down, or up with ceil_mode. With ceil_mode PyTorch drops
the last window when it would start in the right padding: it must start inside the input or the
left padding. Adaptive pools take the output size and derive each window:
start = floor(i·n/out), end = ceil((i+1)·n/out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from core.conv_arith import AXIS_WORDS, axis_items, range_problems
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

POOL_KINDS = ("max", "avg")


@dataclass(frozen=True)
class PoolSpec:
    """MaxPool2d (kind 'max') or AvgPool2d ('avg') and the input it sees."""

    kind: str
    size: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)  # MaxPool2d only; AvgPool2d has none
    ceil_mode: bool = False
    count_include_pad: bool = True  # AvgPool2d only
    channels: int = 1

    def __post_init__(self) -> None:
        if self.kind not in POOL_KINDS:
            raise ValueError(f"kind must be one of {POOL_KINDS}, got {self.kind!r}")
        if self.kind == "avg" and self.dilation != (1, 1):
            raise ValueError("AvgPool2d has no dilation; keep it at (1, 1)")

    @property
    def layer(self) -> str:
        return "MaxPool2d" if self.kind == "max" else "AvgPool2d"


def pool_axis_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Output cells along one axis, exactly as PyTorch's pooling_output_shape."""
    top = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = top // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1  # the last window would start in the right padding
    return out


def pool_out_shape(spec: PoolSpec) -> tuple[int, ...]:
    """(N=1, C, H_out, W_out) from the formula."""
    hw = tuple(pool_axis_size(n, k, s, p, d, spec.ceil_mode) for n, k, s, p, d in
               zip(spec.size, spec.kernel, spec.stride, spec.padding, spec.dilation, strict=True))
    return (1, spec.channels, *hw)


def pool_steps(spec: PoolSpec) -> tuple[AxisSteps, ...]:
    """Formula, substitution and rounding per axis, with the ceil_mode rule when it applies."""
    out = []
    ceil = spec.ceil_mode
    lo, hi = (r"\left\lceil", r"\right\rceil") if ceil else (r"\left\lfloor", r"\right\rfloor")
    for i, name in enumerate(("H", "W")):
        n, k, s = spec.size[i], spec.kernel[i], spec.stride[i]
        p, d = spec.padding[i], spec.dilation[i]
        top = n + 2 * p - d * (k - 1) - 1
        lines = [rf"{lo} \frac{{{name} + 2p - d\,(k-1) - 1}}{{s}} {hi} + 1",
                 rf"{lo} \frac{{{n} + 2\cdot {p} - {d}\cdot({k}-1) - 1}}{{{s}}} {hi} + 1"]
        rounding, value = rounding_steps(top, s, ceil)
        lines += rounding
        post: tuple[str, ...] = ()
        if ceil:
            start = (value - 1) * s
            if start >= n + p:
                lines.append(rf"{value} - 1 = {value - 1}")
                post = (rf"\text{{last window would start at }} ({value}-1)\cdot {s} = {start}"
                        rf" \ge {name} + p = {n + p} \text{{ (in the right padding): dropped}}",)
            else:
                post = (rf"\text{{last window starts at }} ({value}-1)\cdot {s} = {start} "
                        rf"< {name} + p = {n + p} \text{{: kept}}",)
        out.append(AxisSteps(name, rf"{name}_{{\text{{out}}}}", tuple(lines), post=post))
    return tuple(out)


def pool_range_problems(spec: PoolSpec) -> list[Problem]:
    """Numbers below their minimum."""
    items = axis_items(spec, AXIS_WORDS[2], [
        ("size", "input", 1), ("kernel", "kernel", 1), ("stride", "stride", 1),
        ("dilation", "dilation", 1), ("padding", "padding", 0)])
    items.append(("channels", None, "channels", spec.channels, 1))
    return range_problems(items)


def pool_problems(spec: PoolSpec) -> tuple[Problem, ...]:
    """Every rule of nn.MaxPool2d / nn.AvgPool2d the configuration breaks, with nearest fixes."""
    problems = pool_range_problems(spec)
    if problems:
        return tuple(problems)
    for i, word in enumerate(AXIS_WORDS[2]):
        problems += _pool_axis_problems(spec, i, word)
    return tuple(problems)


def _pool_axis_problems(spec: PoolSpec, i: int, word: str) -> list[Problem]:
    """Padding at most half the kernel; at least one output cell along axis i."""
    n, k, s = spec.size[i], spec.kernel[i], spec.stride[i]
    p, d, ceil = spec.padding[i], spec.dilation[i], spec.ceil_mode
    problems = []
    if p > k // 2:
        problems.append(Problem(
            f"pooling padding {word} must be at most half the kernel",
            f"padding {p} > ⌊{k}/2⌋ = {k // 2}",
            (Fix("padding", i, k // 2, f"padding {word} → {k // 2}"),
             Fix("kernel", i, 2 * p, f"kernel {word} → {2 * p}"))))
    if pool_axis_size(n, k, s, p, d, ceil) < 1:
        found = fixes("kernel", i, f"kernel {word}", k, 1,
                      lambda v: p <= v // 2 and pool_axis_size(n, v, s, p, d, ceil) >= 1)
        found += fixes("padding", i, f"padding {word}", p, 0,
                       lambda v: v <= k // 2 and pool_axis_size(n, k, s, v, d, ceil) >= 1)
        if spec.kind == "max":
            found += fixes("dilation", i, f"dilation {word}", d, 1,
                           lambda v: pool_axis_size(n, k, s, p, v, ceil) >= 1)
        found += fixes("size", i, f"input {word}", n, 1,
                       lambda v: pool_axis_size(v, k, s, p, d, ceil) >= 1)
        problems.append(Problem(
            f"the output {word} must be at least 1",
            f"the window spans {d * (k - 1) + 1} cells but the padded input {word} is only "
            f"{n} + 2·{p} = {n + 2 * p}", tuple(found)))
    return problems


def build_pool(spec: PoolSpec, device: str = "cpu") -> nn.Module:
    """The real nn.MaxPool2d / nn.AvgPool2d (pooling has no weights, so device is unused)."""
    if spec.kind == "max":
        return nn.MaxPool2d(spec.kernel, spec.stride, spec.padding, spec.dilation,
                            ceil_mode=spec.ceil_mode)
    return nn.AvgPool2d(spec.kernel, spec.stride, spec.padding, ceil_mode=spec.ceil_mode,
                        count_include_pad=spec.count_include_pad)


def pool_report(spec: PoolSpec) -> SizeReport:
    """Formula, steps, problems and the real layer's output shape."""
    problems = settle_fixes(spec, pool_problems(spec), pool_problems)
    in_shape = (1, spec.channels, *spec.size)
    steps = () if pool_range_problems(spec) else pool_steps(spec)
    report = SizeReport(spec.layer, in_shape, None if problems else pool_out_shape(spec), None,
                        steps, problems)
    macs = math.prod(spec.size) * spec.channels * math.prod(spec.kernel)
    shape, error, device = run_layer(lambda dev: build_pool(spec, dev), in_shape, macs)
    return merge_torch(report, shape, error, device)


def pool_code(spec: PoolSpec) -> str:
    """A runnable snippet for the current settings."""
    if spec.kind == "max":
        call = (f"nn.MaxPool2d(kernel_size={spec.kernel}, stride={spec.stride}, "
                f"padding={spec.padding}, dilation={spec.dilation}, "
                f"ceil_mode={spec.ceil_mode})")
    else:
        call = (f"nn.AvgPool2d(kernel_size={spec.kernel}, stride={spec.stride}, "
                f"padding={spec.padding}, ceil_mode={spec.ceil_mode}, "
                f"count_include_pad={spec.count_include_pad})")
    return ("import torch\nfrom torch import nn\n\n"
            f"layer = {call}\n"
            f"x = torch.randn(1, {spec.channels}, {spec.size[0]}, {spec.size[1]})\n"
            "print(tuple(layer(x).shape))\n")


# --------------------------------------------------------------------------- adaptive pools
@dataclass(frozen=True)
class AdaptiveSpec:
    """AdaptiveAvgPool2d ('avg') or AdaptiveMaxPool2d ('max'): you choose the output size."""

    kind: str
    size: tuple[int, int]
    out: tuple[int, int]
    channels: int = 1

    @property
    def layer(self) -> str:
        return "AdaptiveMaxPool2d" if self.kind == "max" else "AdaptiveAvgPool2d"


def adaptive_windows(n: int, out: int) -> list[tuple[int, int]]:
    """[start, end) of each output cell's window: floor(i·n/out) to ceil((i+1)·n/out)."""
    return [(i * n // out, -(-(i + 1) * n // out)) for i in range(out)]


def adaptive_window_latex(name: str, n: int, out: int, i: int) -> str:
    """The window formula for output index i with the numbers substituted."""
    start, end = adaptive_windows(n, out)[i]
    return (rf"\text{{start}} = \left\lfloor \frac{{i\,{name}}}{{{name}_{{\text{{out}}}}}} "
            rf"\right\rfloor = \left\lfloor \frac{{{i}\cdot {n}}}{{{out}}} \right\rfloor = "
            rf"{start}, \quad \text{{end}} = \left\lceil \frac{{(i+1)\,{name}}}"
            rf"{{{name}_{{\text{{out}}}}}} \right\rceil = \left\lceil \frac{{{i + 1}\cdot {n}}}"
            rf"{{{out}}} \right\rceil = {end}")


def adaptive_report(spec: AdaptiveSpec) -> SizeReport:
    """The output size is the one asked for; torch confirms it."""
    items = axis_items(spec, AXIS_WORDS[2], [("size", "input", 1), ("out", "output", 1)])
    problems = tuple(range_problems(items))
    steps = tuple(
        AxisSteps(name, rf"{name}_{{\text{{out}}}}", (r"\text{output\_size}", str(o)),
                  post=(rf"\text{{window sizes: }} {sorted({e - s for s, e in adaptive_windows(n, o)})}",)
                  if n >= 1 and o >= 1 else ())
        for name, n, o in zip(("H", "W"), spec.size, spec.out, strict=True))
    in_shape = (1, spec.channels, *spec.size)
    report = SizeReport(spec.layer, in_shape, None if problems else
                        (1, spec.channels, *spec.out), None, steps, problems)
    cls = nn.AdaptiveMaxPool2d if spec.kind == "max" else nn.AdaptiveAvgPool2d
    shape, error, device = run_layer(lambda dev: cls(spec.out), in_shape,
                                     math.prod(spec.size) * spec.channels)
    return merge_torch(report, shape, error, device)


def adaptive_code(spec: AdaptiveSpec) -> str:
    """A runnable snippet for the current settings."""
    return ("import torch\nfrom torch import nn\n\n"
            f"layer = nn.{spec.layer}(output_size={spec.out})\n"
            f"x = torch.randn(1, {spec.channels}, {spec.size[0]}, {spec.size[1]})\n"
            "print(tuple(layer(x).shape))\n")
