"""Explain, in learner words, why torch refused a layer of a traced stack, and suggest a fix.

torch decides whether a layer fails (its error is caught in shape_trace); this module only
explains it, from the layer's settings and the shape arriving at it. A fix is a whole new stack
(and input shape) that gets past the layer, so the page can offer an "apply" button.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.shape_layers import KINDS, Layer
from core.shape_text import encode_stack, format_value

Shape = tuple[int, ...]
_TWIN = {"conv": "conv1d", "conv1d": "conv", "maxpool": "maxpool1d", "maxpool1d": "maxpool",
         "adaptavg": "adaptavg1d", "adaptavg1d": "adaptavg", "bn": "bn1d"}


@dataclass(frozen=True)
class Fix:
    """A suggested change: its description, and the stack and input shape after it."""

    text: str
    stack: str
    input_shape: Shape


@dataclass(frozen=True)
class Problem:
    """The first layer torch refused, why, and what to change."""

    index: int
    title: str
    headline: str  # one short line, e.g. "Linear expects 400 features but gets 256"
    message: str  # the explanation (markdown)
    torch_error: str  # torch's own first line ("" when the tracer stopped before torch ran)
    fix: Fix | None


def _shape(shape: Shape) -> str:
    return "(" + ", ".join(str(v) for v in shape) + ")"


def _source(stack: tuple[Layer, ...], i: int) -> str:
    return "the input" if i == 0 else f"layer {i} ({stack[i - 1].kind.title})"


def _fix(stack: tuple[Layer, ...], i: int, text: str, shapes: list[Shape],
         layer: Layer | None = None, remove: bool = False, batch: int | None = None) -> Fix:
    new = list(stack)
    if remove:
        del new[i]
    elif layer is not None:
        new[i] = layer
    shape = shapes[0] if batch is None else (batch, *shapes[0][1:])
    return Fix(text, encode_stack(new), shape)


def _axes(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, tuple) else (value,) * n


def _pack(values: tuple[int, ...]) -> int | tuple[int, ...]:
    return values[0] if len(set(values)) == 1 else values


def check_input(stack: tuple[Layer, ...], i: int, shapes: list[Shape]) -> Problem | None:
    """Stop before torch when a layer gets the wrong number of dims.

    torch would accept some of these silently, e.g. Conv2d reads (N, C, L) as one unbatched
    (C, H, W) image, taking the batch for channels, which is never what a stack means.
    """
    layer, shape = stack[i], shapes[i]
    dims = layer.kind.dims
    if dims is None or len(shape) == dims + 2:
        return None
    title = layer.kind.title
    want = "(N, C, H, W)" if dims == 2 else "(N, C, L)"
    headline = f"{title} needs {want} but gets {_shape(shape)}"
    if len(shape) == 2:
        why = (f"Each sample is a flat vector of {shape[1]} values here: a Flatten or Linear "
               f"earlier has removed the {'image' if dims == 2 else 'signal'} layout. Put the "
               f"Flatten after the last convolution or pooling layer.")
        return Problem(i, title, headline, f"**{headline}.** {why}", "", None)
    twin = KINDS.get(_TWIN.get(layer.code, ""))
    fix = None
    if twin is not None and (twin.dims is None or len(shape) == twin.dims + 2):
        fix = _fix(stack, i, f"use {twin.title} instead", shapes, Layer(twin.code, layer.values))
    got = "a 1-D signal (N, C, L)" if len(shape) == 3 else "images (N, C, H, W)"
    why = f"The tensor arriving from {_source(stack, i)} holds {got}."
    if len(shape) == 3 and dims == 2:
        why += " torch would read it as one unbatched image and take the batch for channels."
    hint = f" Use {twin.title} instead." if fix else ""
    return Problem(i, title, headline, f"**{headline}.** {why}{hint}", "", fix)


def explain(stack: tuple[Layer, ...], i: int, shapes: list[Shape], exc: Exception) -> Problem:
    """The learner-facing reason torch raised `exc` at layer i, with a fix where one is clear."""
    layer, shape = stack[i], shapes[i]
    torch_error = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    handler = _HANDLERS.get(layer.code.removesuffix("1d"))
    found = handler(stack, i, shapes) if handler else None
    if found is None:
        headline = f"{layer.kind.title} can't take a tensor of shape {_shape(shape)}"
        message = (f"**{headline}.** PyTorch refused it with: `{torch_error}`. Check this "
                   f"layer's settings against the shape arriving from {_source(stack, i)}.")
        return Problem(i, layer.kind.title, headline, message, torch_error, None)
    headline, why, fix = found
    return Problem(i, layer.kind.title, headline, f"**{headline}.** {why}", torch_error, fix)


def _wrong_in(stack, i, shapes, what: str):
    layer, shape = stack[i], shapes[i]
    have = shape[-1] if layer.code == "linear" else shape[1]
    given = layer.get("in")
    if given is None or given == have:
        return None
    headline = f"{layer.kind.title} expects {what}={given} but gets {have}"
    why = f"The tensor arriving from {_source(stack, i)} has shape {_shape(shape)}"
    prev = stack[i - 1] if i else None
    if layer.code == "linear" and prev is not None and prev.code == "flatten" and i >= 1:
        before = shapes[i - 1][1:]
        why += (f": Flatten turned each {_shape(before)} sample into "
                f"{'·'.join(str(v) for v in before)} = {have} values")
    why += f". Set in={have}, or leave `in` out so it is inferred."
    fix = _fix(stack, i, f"set {what}={have}", shapes, layer.with_value("in", have))
    return headline, why, fix


def _conv(stack, i, shapes):
    layer, shape = stack[i], shapes[i]
    found = _wrong_in(stack, i, shapes, "in_channels")
    if found:
        return found
    c, out, g = shape[1], layer.get("out"), layer.get("g", 1)
    if c % g or out % g:
        best = max(v for v in range(1, g + 1) if c % v == 0 and out % v == 0)
        headline = f"groups={g} must divide both in_channels={c} and out_channels={out}"
        why = (f"Each of the {g} groups gets an equal share of the channels. The largest "
               f"groups value up to {g} that divides both is {best}.")
        return headline, why, _fix(stack, i, f"set g={best}", shapes, layer.with_value("g", best))
    n = len(shape) - 2
    k, s, d = _axes(layer.get("k"), n), _axes(layer.get("s", 1), n), _axes(layer.get("d", 1), n)
    p = layer.get("p", 0)
    if p == "same" and max(s) > 1:
        fit = _pack(tuple(d[a] * (k[a] - 1) // 2 for a in range(n)))
        headline = "padding='same' only works with stride 1"
        why = (f"With stride {format_value(layer.get('s'))} no padding keeps the size. "
               f"p={format_value(fit)} is the usual choice: it divides the size by the stride "
               f"(rounded up) for an odd kernel.")
        return headline, why, _fix(stack, i, f"set p={format_value(fit)}", shapes,
                                   layer.with_value("p", fit))
    pad = (0,) * n if p in ("same", "valid") else _axes(p, n)
    return _too_small(stack, i, shapes, k, d, pad, "kernel")


def _too_small(stack, i, shapes, k, d, pad, what):
    layer, shape = stack[i], shapes[i]
    n = len(shape) - 2
    size = shape[2:]
    span = tuple(d[a] * (k[a] - 1) + 1 for a in range(n))
    if all(size[a] + 2 * pad[a] >= span[a] for a in range(n)):
        return None
    dims = "×".join(str(v) for v in size)
    headline = f"the {dims} map is too small for this {format_value(_pack(span))}-wide {what}"
    why = (f"Output size is floor((H + 2p - d(k-1) - 1) / s) + 1, which here falls below 1: "
           f"the window covers {format_value(_pack(span))} pixels but the map, padded, has only "
           f"{'×'.join(str(size[a] + 2 * pad[a]) for a in range(n))}.")
    if layer.code.startswith("conv"):
        need = _pack(tuple(max(pad[a], math.ceil((span[a] - size[a]) / 2)) for a in range(n)))
        why += (f" Pad it (p={format_value(need)}), use a smaller kernel, or pool less before "
                f"it.")
        return headline, why, _fix(stack, i, f"set p={format_value(need)}", shapes,
                                   layer.with_value("p", need))
    if all(v == 1 for v in size) and len(stack) > 1:
        why += " The map is already 1×1, so this pooling layer can go."
        return headline, why, _fix(stack, i, "remove this layer", shapes, remove=True)
    # the largest kernel whose dilated span d(k-1)+1 fits the padded map, with the padding
    # lowered as far as torch's p ≤ k/2 then needs
    fit, low = zip(*(_pool_fit(size[a], k[a], d[a], pad[a]) for a in range(n)), strict=True)
    fit, low = _pack(fit), _pack(low)
    if low == _pack(pad):
        why += f" Use k={format_value(fit)} or remove this pooling layer."
        return headline, why, _fix(stack, i, f"set k={format_value(fit)}", shapes,
                                   layer.with_value("k", fit))
    change = f"k={format_value(fit)}, p={format_value(low)}"
    why += f" Use {change} (padding at most half the kernel) or remove this pooling layer."
    return headline, why, _fix(stack, i, f"set {change}", shapes,
                               layer.with_value("k", fit).with_value("p", low))


def _pool_fit(size: int, k: int, d: int, p: int) -> tuple[int, int]:
    """(kernel, padding) nearest to (k, p) whose window fits and keeps p ≤ k // 2."""
    for q in range(p, -1, -1):
        fit = min(k, (size + 2 * q - 1) // d + 1)
        if q <= fit // 2:
            return fit, q
    return 1, 0  # not reached: q = 0 always fits


def _pool(stack, i, shapes):
    layer, shape = stack[i], shapes[i]
    n = len(shape) - 2
    k, d = _axes(layer.get("k"), n), _axes(layer.get("d", 1), n)
    pad = _axes(layer.get("p", 0), n)
    half = tuple(k[a] // 2 for a in range(n))  # torch's rule: p ≤ k/2 (k without dilation)
    if any(pad[a] > half[a] for a in range(n)):
        headline = f"pooling padding p={format_value(layer.get('p'))} is more than half the kernel"
        why = (f"PyTorch allows padding of at most half the kernel size k="
               f"{format_value(layer.get('k'))}, so that every window still covers a real "
               f"pixel; p={format_value(_pack(half))} is the most allowed here.")
        return headline, why, _fix(stack, i, f"set p={format_value(_pack(half))}", shapes,
                                   layer.with_value("p", _pack(half)))
    return _too_small(stack, i, shapes, k, d, pad, "window")


def _bn(stack, i, shapes):
    layer, shape = stack[i], shapes[i]
    found = _wrong_in(stack, i, shapes, "num_features")
    if found:
        return found
    if layer.code == "bn1d" and len(shape) not in (2, 3):
        fix = _fix(stack, i, "use BatchNorm2d instead", shapes, Layer("bn", layer.values))
        return ("BatchNorm1d takes (N, C) or (N, C, L)",
                f"It gets {_shape(shape)}; for images use BatchNorm2d.", fix)
    if math.prod(shape) // shape[1] == 1:
        headline = "BatchNorm needs more than one value per channel in training mode"
        why = (f"With batch {shape[0]} and shape {_shape(shape)} each channel has a single "
               f"value, so its batch variance is undefined. Use a batch of 2 or more.")
        return headline, why, _fix(stack, i, "set the batch size N=2", shapes, batch=2)
    return None


def _linear(stack, i, shapes):
    return _wrong_in(stack, i, shapes, "in_features")


def _upsample(stack, i, shapes):
    layer, shape = stack[i], shapes[i]
    mode, n = layer.get("mode", "nearest"), len(shape) - 2
    if n < 1:
        return (f"Upsample needs a spatial size but gets {_shape(shape)}",
                "Put it before the Flatten: it works on (N, C, L) or (N, C, H, W).", None)
    want = {"bilinear": 2, "bicubic": 2, "linear": 1}.get(mode)
    if want is not None and want != n:
        other = "linear" if n == 1 else "bilinear"
        return (f"mode={mode} works on {want}-D maps, this one is {n}-D",
                f"Use mode={other} (or nearest).",
                _fix(stack, i, f"set mode={other}", shapes, layer.with_value("mode", other)))
    if layer.get("align") is not None and mode in ("nearest", "area"):
        return (f"align_corners only applies to (bi)linear and bicubic modes, not {mode}",
                "Remove align, or pick mode=bilinear.",
                _fix(stack, i, "remove align", shapes, layer.with_value("align", None)))
    scale = layer.get("scale", 2.0)
    if min(math.floor(v * scale) for v in shape[2:]) < 1:
        need = math.ceil(1000 / min(shape[2:])) / 1000
        return (f"scale={scale:g} shrinks the {'×'.join(map(str, shape[2:]))} map to nothing",
                f"The output size is floor(size × scale), which must be at least 1: "
                f"use scale ≥ {need:g}.",
                _fix(stack, i, f"set scale={need:g}", shapes, layer.with_value("scale", need)))
    return None


def _flatten(stack, i, shapes):
    shape = shapes[i]
    return (f"Flatten's start/end must be dims of the {len(shape)}-D tensor {_shape(shape)}",
            "Dims count from 0 (the batch) to the last; -1 is the last. The usual Flatten() "
            "merges everything after the batch.",
            _fix(stack, i, "use Flatten()", shapes, Layer("flatten")))


_HANDLERS = {"conv": _conv, "maxpool": _pool, "avgpool": _pool, "bn": _bn, "linear": _linear,
             "upsample": _upsample, "flatten": _flatten}
