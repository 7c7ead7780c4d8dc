"""The shape tracer's text forms of layers and stacks.

A stack is written `conv:32:3:1:1|relu|maxpool:2|flatten|linear:10` (URL) or, one row per layer,
`out=32 k=3 s=1 p=1` (table). Both go through one parser: leading values fill a kind's
positional settings in order, and `name=value` sets any setting.
"""

from __future__ import annotations

import math
import re
from typing import Any

from core.shape_layers import ALIASES, BY_TITLE, KINDS, Kind, Layer, Setting


def kind_code(text: str) -> str:
    """The canonical code for a kind written as code, alias or title (any case)."""
    t = text.strip()
    low = t.lower()
    if low in KINDS:
        return low
    if low in ALIASES:
        return ALIASES[low]
    for title, code in BY_TITLE.items():
        if title.lower() == low:
            return code
    names = ", ".join(KINDS)
    raise ValueError(f"Unknown layer type {t!r}; use one of: {names}")


def _int(raw: str, low: int, what: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", raw) or int(raw) < low:
        raise ValueError(f"{what} must be a whole number ≥ {low}, got {raw!r}")
    return int(raw)


def _size(raw: str, low: int, what: str, dims: int | None) -> int | tuple[int, ...]:
    parts = re.split(r"[x×*]", raw.lower())
    if len(parts) == 1:
        return _int(parts[0], low, what)
    if dims is not None and len(parts) != dims:
        raise ValueError(f"{what} needs {dims} number(s) here, got {raw!r}")
    return tuple(_int(p, low, what) for p in parts)


def parse_value(kind: Kind, setting: Setting, raw: str) -> Any:
    """A setting's value from its text, or a ValueError saying what fits."""
    what = f"{kind.title} {setting.name}"
    raw = raw.strip()
    t = setting.type
    if t == "count":
        return _int(raw, 1, what)
    if t == "size":
        return _size(raw, 1, what, kind.dims)
    if t in ("pad", "pad0"):
        if t == "pad" and raw.lower() in ("same", "valid"):
            return raw.lower()
        return _size(raw, 0, what, kind.dims)
    if t == "dim":
        return _int(raw, -8, what)
    if t == "bool":
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ValueError(f"{what} must be 1 or 0, got {raw!r}")
        return raw.lower() in ("1", "true", "yes")
    if t == "choice":
        if raw.lower() not in setting.choices:
            raise ValueError(f"{what} must be one of {', '.join(setting.choices)}; got {raw!r}")
        return raw.lower()
    try:
        number = float(raw)
    except ValueError:
        raise ValueError(f"{what} must be a number, got {raw!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {raw!r}")
    if t == "prob" and not 0.0 <= number <= 1.0:
        raise ValueError(f"{what} is a probability: between 0 and 1, got {raw!r}")
    if t == "scale" and not 0.0 < number <= 64.0:
        raise ValueError(f"{what} must be above 0 (and at most 64), got {raw!r}")
    return number


def format_value(value: Any) -> str:
    """The text form of a setting value: 3, 3x5, same, 1/0, 0.5."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _setting(kind: Kind, name: str) -> Setting:
    low = name.strip().lower()
    for s in kind.settings:
        if low == s.name or low in s.aliases:
            return s
    names = ", ".join(s.name for s in kind.settings) or "no settings"
    raise ValueError(f"{kind.title} has no setting {name!r}; it takes: {names}")


def parse_layer(code: str, tokens: list[str]) -> Layer:
    """A Layer from a kind and tokens like ["32", "3", "p=1"]."""
    kind = KINDS[kind_code(code)]
    given: dict[str, Any] = {}
    slot = 0
    for token in (t.strip() for t in tokens):
        if not token:
            continue
        if "=" in token:
            name, raw = token.split("=", 1)
            setting = _setting(kind, name)
        else:
            if slot >= kind.positional:
                raise ValueError(f"{kind.title}: too many values without a name at {token!r}; "
                                 f"write name=value (settings: "
                                 f"{', '.join(s.name for s in kind.settings)})")
            setting, raw = kind.settings[slot], token
            slot += 1
        if setting.name in given:
            raise ValueError(f"{kind.title}: {setting.name} is given twice")
        given[setting.name] = parse_value(kind, setting, raw)
    layer = Layer(kind.code)
    for name, value in given.items():
        layer = layer.with_value(name, value)
    _check_layer(layer)
    return layer


def _check_layer(layer: Layer) -> None:
    """Settings a layer can't do without, and limits the tracer sets for itself."""
    if layer.code in ("conv", "conv1d") and (layer.get("out") is None or layer.get("k") is None):
        raise ValueError(f"{layer.kind.title} needs out and k, e.g. out=32 k=3")
    if layer.code in ("maxpool", "avgpool", "maxpool1d") and layer.get("k") is None:
        raise ValueError(f"{layer.kind.title} needs a kernel size, e.g. k=2")
    if layer.code in ("adaptavg", "adaptavg1d") and layer.get("size") is None:
        raise ValueError(f"{layer.kind.title} needs an output size, e.g. size=1")
    if layer.code == "linear" and layer.get("out") is None:
        raise ValueError("Linear needs out (the number of output features), e.g. out=10")
    if layer.code == "flatten" and layer.get("start", 1) == 0:
        raise ValueError("Flatten start=0 would merge the batch into the features; use start=1")


def parse_settings(code: str, text: str) -> Layer:
    """A Layer from a table row: kind plus settings text like "out=32 k=3 p=1"."""
    return parse_layer(code, re.split(r"[\s,;]+", (text or "").strip()))


def parse_stack(text: str) -> tuple[Layer, ...]:
    """The compact form `conv:32:3:1:1|relu|maxpool:2` as layers (ValueError names the part)."""
    layers = []
    for i, part in enumerate(p for p in (text or "").split("|") if p.strip()):
        code, *tokens = part.strip().split(":")
        try:
            layers.append(parse_layer(code, tokens))
        except ValueError as exc:
            raise ValueError(f"layer {i + 1} ({part.strip()!r}): {exc}") from None
    return tuple(layers)


def layer_tokens(layer: Layer) -> list[str]:
    """Leading settings as bare values while they are given in order, then name=value."""
    tokens = []
    given = dict(layer.values)
    bare = True
    for i, s in enumerate(layer.kind.settings):
        if s.name not in given:
            bare = False
            continue
        if bare and i < layer.kind.positional:
            tokens.append(format_value(given[s.name]))
        else:
            bare = False
            tokens.append(f"{s.name}={format_value(given[s.name])}")
    return tokens


def encode_stack(layers: tuple[Layer, ...] | list[Layer]) -> str:
    """The compact one-line form of a stack (for the URL)."""
    return "|".join(":".join([layer.code, *layer_tokens(layer)]) for layer in layers)


def settings_text(layer: Layer) -> str:
    """A table row's settings: every given value named, e.g. "out=32 k=3 p=1"."""
    return " ".join(f"{n}={format_value(v)}" for n, v in layer.values)
