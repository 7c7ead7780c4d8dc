"""nn.Upsample / F.interpolate: output size from size or scale_factor, and where each output
pixel samples the input (the source coordinate), for nearest, bilinear, bicubic and area.

With scale_factor the size is floor(n · scale_factor) in double precision, and PyTorch maps
coordinates with 1/scale_factor (not n/out) unless recompute_scale_factor=True.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.conv_arith import AXIS_WORDS
from core.pool_arith import adaptive_windows
from core.size_report import (
    AxisSteps,
    Fix,
    Problem,
    SizeReport,
    merge_torch,
    num,
    run_layer,
    settle_fixes,
)

MODES = ("nearest", "bilinear", "bicubic", "area")
ALIGNABLE = ("bilinear", "bicubic")


@dataclass(frozen=True)
class UpsampleSpec:
    """Upsample a (C, H, W) input to `out_size`, or by `scale` (exactly one is set)."""

    size: tuple[int, int]
    mode: str = "nearest"
    out_size: tuple[int, int] | None = None
    scale: tuple[float, float] | None = None
    align_corners: bool = False
    channels: int = 1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if (self.out_size is None) == (self.scale is None):
            raise ValueError("give exactly one of size or scale_factor")

    @property
    def torch_align(self) -> bool | None:
        """What to pass as align_corners: None unless the user turned it on."""
        return True if self.align_corners else None


def upsample_axis_size(n: int, out_size: int | None, scale: float | None) -> int:
    """out_size, or floor(n · scale) computed in double precision as PyTorch does."""
    return out_size if out_size is not None else int(math.floor(float(n) * scale))


def upsample_out_shape(spec: UpsampleSpec) -> tuple[int, ...]:
    """(N=1, C, H_out, W_out) from the formula."""
    hw = tuple(upsample_axis_size(n, spec.out_size[i] if spec.out_size else None,
                                  spec.scale[i] if spec.scale else None)
               for i, n in enumerate(spec.size))
    return (1, spec.channels, *hw)


def coordinate_scale(spec: UpsampleSpec, axis: int) -> float:
    """The step in input pixels per output pixel that PyTorch uses along one axis."""
    n, out = spec.size[axis], upsample_out_shape(spec)[2 + axis]
    if spec.align_corners and spec.mode in ALIGNABLE:
        return (n - 1) / (out - 1) if out > 1 else 0.0
    if spec.scale is not None and spec.mode != "area":
        return 1.0 / spec.scale[axis]
    return n / out


def source_coords(spec: UpsampleSpec, axis: int) -> np.ndarray:
    """For each output index, the input coordinate it samples (area: window centre)."""
    n, out = spec.size[axis], upsample_out_shape(spec)[2 + axis]
    dst = np.arange(out, dtype=np.float64)
    if spec.mode == "area":
        return np.array([(s + e - 1) / 2 for s, e in adaptive_windows(n, out)])
    if spec.mode == "nearest":
        if out == n:  # PyTorch copies when the size is unchanged, whatever the scale says
            return dst
        if out == 2 * n:  # ... and halves the index when it exactly doubles
            return np.floor(dst / 2)
        # otherwise min(floor(i · scale), n - 1), computed in float32 as PyTorch does
        scale = np.float32(coordinate_scale(spec, axis))
        return np.minimum(np.floor(dst.astype(np.float32) * scale), n - 1).astype(np.float64)
    if spec.mode == "bilinear" and out == n:
        return dst  # the CPU kernel copies an axis whose size is unchanged
    scale = coordinate_scale(spec, axis)
    if spec.align_corners:
        return dst * scale
    src = (dst + 0.5) * scale - 0.5
    return src if spec.mode == "bicubic" else np.maximum(src, 0.0)


def upsample_steps(spec: UpsampleSpec) -> tuple[AxisSteps, ...]:
    """Output size and the coordinate mapping, per axis."""
    out = []
    for i, name in enumerate(("H", "W")):
        n = spec.size[i]
        if spec.out_size is not None:
            lines: tuple[str, ...] = (r"\text{size}", str(spec.out_size[i]))
        else:
            sf = spec.scale[i]
            product = float(n) * sf
            # show every digit when rounding for display would hide why the floor is lower
            exact = math.floor(product) != math.floor(round(product, 6))
            shown = repr(product) if exact else num(product)
            value = upsample_axis_size(n, None, sf)
            lines = (rf"\lfloor {name} \cdot \text{{scale\_factor}} \rfloor",
                     rf"\lfloor {n} \cdot {sf:g} \rfloor", rf"\lfloor {shown} \rfloor",
                     str(value))
        post: tuple[str, ...] = ()
        size_ok = upsample_out_shape(spec)[2 + i] >= 1 and n >= 1
        if size_ok:
            post = (mapping_latex(spec, i, name),)
        out.append(AxisSteps(name, rf"{name}_{{\text{{out}}}}", lines, post=post))
    return tuple(out)


def mapping_latex(spec: UpsampleSpec, axis: int, name: str) -> str:
    """Where output index i (rows) or j (columns) reads the input, with PyTorch's scale."""
    v = "i" if axis == 0 else "j"
    src = rf"{v}_{{\text{{src}}}}"
    scale = coordinate_scale(spec, axis)
    n, out = spec.size[axis], upsample_out_shape(spec)[2 + axis]
    if spec.mode == "area":
        return (rf"\text{{window of }} {v} = [\lfloor {v}\,{name}/{name}_{{out}} \rfloor,\ "
                rf"\lceil ({v}+1)\,{name}/{name}_{{out}} \rceil) \text{{ with }} {name} = {n},"
                rf"\ {name}_{{out}} = {out}")
    if out == n and spec.mode in ("nearest", "bilinear"):
        return rf"{src} = {v} \quad \text{{(same size: PyTorch copies this axis)}}"
    if out == 2 * n and spec.mode == "nearest":
        return rf"{src} = \lfloor {v} / 2 \rfloor \quad \text{{(exactly doubled)}}"
    if spec.align_corners and spec.mode in ALIGNABLE:
        return (rf"{src} = {v} \cdot \frac{{{name} - 1}}{{{name}_{{out}} - 1}} = "
                rf"{v} \cdot {num(scale)}")
    which = (rf"\frac{{1}}{{\text{{scale\_factor}}}} = {num(scale)}" if spec.scale is not None
             else rf"\frac{{{name}}}{{{name}_{{out}}}} = {num(scale)}")
    if spec.mode == "nearest":
        return rf"{src} = \min(\lfloor {v} \cdot r \rfloor,\ {name} - 1),\quad r = {which}"
    if spec.mode == "bilinear":  # negative positions are clamped to pixel 0
        return rf"{src} = \max(0,\ ({v} + 0.5)\,r - 0.5),\quad r = {which}"
    return rf"{src} = ({v} + 0.5)\,r - 0.5,\quad r = {which}"


def upsample_problems(spec: UpsampleSpec) -> tuple[Problem, ...]:
    """Every rule F.interpolate enforces here, with nearest fixes."""
    problems: list[Problem] = []
    if spec.align_corners and spec.mode not in ALIGNABLE:
        problems.append(Problem(
            "align_corners only applies to the interpolating modes (bilinear, bicubic)",
            f"mode is {spec.mode!r}",
            (Fix("align_corners", None, False, "align_corners → off"),
             Fix("mode", None, "bilinear", "mode → 'bilinear'"))))
    shape = upsample_out_shape(spec)
    for i, word in enumerate(AXIS_WORDS[2]):
        n, out = spec.size[i], shape[2 + i]
        if n >= 1 and (out >= 1 or (spec.mode == "area" and out == 0)):
            continue  # area hands an empty size to adaptive_avg_pool2d, which allows it
        found: list[Fix] = []
        if n < 1:
            found.append(Fix("size", i, 1, f"input {word} → 1"))
        elif spec.scale is not None:
            least = math.ceil(1e4 / n) / 1e4  # a readable scale with floor(n · s) ≥ 1
            while math.floor(n * least) < 1:
                least += 1e-4
            found.append(Fix("scale", i, round(least, 4), f"scale_factor {word} → {least:.4g}"))
            need = math.ceil(1 / spec.scale[i]) if spec.scale[i] > 0 else None
            if need is not None:
                while math.floor(float(need) * spec.scale[i]) < 1:
                    need += 1
                found.append(Fix("size", i, need, f"input {word} → {need}"))
        else:
            found.append(Fix("out_size", i, 1, f"size {word} → 1"))
        problems.append(Problem(f"input and output {word} must be at least 1",
                                f"input {word} {n}, output {word} {out}", tuple(found)))
    return tuple(problems)


def interpolate(spec: UpsampleSpec, x: torch.Tensor) -> torch.Tensor:
    """The real F.interpolate with these settings."""
    return F.interpolate(x, size=spec.out_size, scale_factor=spec.scale, mode=spec.mode,
                         align_corners=spec.torch_align)


def upsample_report(spec: UpsampleSpec) -> SizeReport:
    """Formula, steps, problems and the real output shape."""
    problems = settle_fixes(spec, upsample_problems(spec), upsample_problems)
    in_shape = (1, spec.channels, *spec.size)
    out_elems = max(math.prod(upsample_out_shape(spec)), 0)
    shape = upsample_out_shape(spec)
    notes = ("The output is empty: mode 'area' passes the size to adaptive_avg_pool2d, which "
             "returns a tensor with a 0-sized axis instead of raising.",) \
        if not problems and min(shape[2:]) == 0 else ()
    report = SizeReport("Upsample", in_shape, None if problems else shape,
                        None, upsample_steps(spec), problems, notes=notes)
    shape, error, device = run_layer(lambda dev: (lambda x: interpolate(spec, x)), in_shape,
                                     out_elems * 16, extra_elements=out_elems)
    return merge_torch(report, shape, error, device)


def upsample_code(spec: UpsampleSpec) -> str:
    """A runnable snippet for the current settings."""
    how = f"size={spec.out_size}" if spec.out_size else f"scale_factor={spec.scale}"
    align = ", align_corners=True" if spec.align_corners else ""
    return ("import torch\nfrom torch import nn\n\n"
            f"layer = nn.Upsample({how}, mode={spec.mode!r}{align})\n"
            f"x = torch.randn(1, {spec.channels}, {spec.size[0]}, {spec.size[1]})\n"
            "print(tuple(layer(x).shape))  # the same as F.interpolate(x, ...)\n")
