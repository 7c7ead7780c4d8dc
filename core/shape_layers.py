"""Layer kinds of the shape tracer: their settings and how each becomes a real nn module.

Settings left out take torch's default, and `in` (channels / features) is inferred from the
arriving tensor unless given. The text forms of a layer live in core/shape_text.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn


@dataclass(frozen=True)
class Setting:
    """One constructor argument, as the tracer's text names it."""

    name: str  # short name used in text: "k"
    arg: str  # torch constructor argument: "kernel_size"
    type: str  # count | size | pad | pad0 | prob | scale | bool | choice | dim | real
    help: str
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kind:
    """A layer type: its torch class, settings, and how many may be given without a name."""

    code: str
    title: str
    module: type[nn.Module]
    settings: tuple[Setting, ...] = ()
    positional: int = 0
    dims: int | None = None  # spatial dims it needs: 2 for Conv2d (N, C, H, W); None = any
    infer: str | None = None  # the argument filled from the arriving tensor
    example: str = ""
    code_args: tuple[str, ...] = ()  # torch arguments written positionally in exported code
    aliases: tuple[str, ...] = ()


def _s(name: str, arg: str, type_: str, help_: str, *aliases: str, choices=()) -> Setting:
    return Setting(name, arg, type_, help_, (arg, *aliases), tuple(choices))


_OUT_C = _s("out", "out_channels", "count", "output channels")
_IN_C = _s("in", "in_channels", "count", "input channels (inferred when left out)")
_K = _s("k", "kernel_size", "size", "kernel size, e.g. 3 or 3x5", "kernel")
_S = _s("s", "stride", "size", "stride", "step")
_D = _s("d", "dilation", "size", "dilation (gaps inside the kernel)")
_G = _s("g", "groups", "count", "groups (in and out must both divide by it)")
_BIAS = _s("bias", "bias", "bool", "learnable bias, 1 or 0")
_CEIL = _s("ceil", "ceil_mode", "bool", "round the output size up, 1 or 0")
_NF = _s("in", "num_features", "count", "channels (inferred when left out)", "features")


def _conv(code: str, title: str, module: type[nn.Module], dims: int) -> Kind:
    pad = _s("p", "padding", "pad", "zero padding: a number, HxW, same or valid", "pad")
    return Kind(code, title, module, (_OUT_C, _K, _S, pad, _D, _G, _IN_C, _BIAS), 4, dims,
                "in_channels", "out=32 k=3 s=1 p=1",
                ("in_channels", "out_channels", "kernel_size"))


def _pool(code: str, title: str, module: type[nn.Module], dims: int, dilation: bool) -> Kind:
    pad = _s("p", "padding", "pad0", "zero padding, at most half the kernel", "pad")
    extra = (_D, _CEIL) if dilation else (_CEIL,)
    stride = _s("s", "stride", "size", "stride (defaults to the kernel size)", "step")
    return Kind(code, title, module, (_K, stride, pad, *extra), 3, dims, None, "k=2",
                ("kernel_size",))


def _adaptive(code: str, title: str, module: type[nn.Module], dims: int) -> Kind:
    size = _s("size", "output_size", "size", "output size, e.g. 1 or 7x7", "out")
    return Kind(code, title, module, (size,), 1, dims, None, "size=1", ("output_size",))


def _act(code: str, title: str, module: type[nn.Module], *settings: Setting) -> Kind:
    return Kind(code, title, module, settings, len(settings), None, None, "")


KINDS: dict[str, Kind] = {k.code: k for k in (
    _conv("conv", "Conv2d", nn.Conv2d, 2),
    _conv("conv1d", "Conv1d", nn.Conv1d, 1),
    _pool("maxpool", "MaxPool2d", nn.MaxPool2d, 2, True),
    _pool("avgpool", "AvgPool2d", nn.AvgPool2d, 2, False),
    _pool("maxpool1d", "MaxPool1d", nn.MaxPool1d, 1, True),
    _adaptive("adaptavg", "AdaptiveAvgPool2d", nn.AdaptiveAvgPool2d, 2),
    _adaptive("adaptavg1d", "AdaptiveAvgPool1d", nn.AdaptiveAvgPool1d, 1),
    Kind("bn", "BatchNorm2d", nn.BatchNorm2d, (_NF,), 1, 2, "num_features", "",
         ("num_features",)),
    Kind("bn1d", "BatchNorm1d", nn.BatchNorm1d, (_NF,), 1, None, "num_features", "",
         ("num_features",)),
    _act("relu", "ReLU", nn.ReLU),
    _act("gelu", "GELU", nn.GELU),
    _act("tanh", "Tanh", nn.Tanh),
    _act("sigmoid", "Sigmoid", nn.Sigmoid),
    _act("silu", "SiLU", nn.SiLU),
    _act("leakyrelu", "LeakyReLU", nn.LeakyReLU,
         _s("slope", "negative_slope", "real", "slope for x < 0")),
    _act("elu", "ELU", nn.ELU, _s("alpha", "alpha", "real", "value reached for very negative x")),
    Kind("flatten", "Flatten", nn.Flatten,
         (_s("start", "start_dim", "dim", "first dim to merge (1 keeps the batch apart)"),
          _s("end", "end_dim", "dim", "last dim to merge (-1 = the last)")), 2),
    Kind("linear", "Linear", nn.Linear,
         (_s("out", "out_features", "count", "output features"),
          _s("in", "in_features", "count", "input features (inferred when left out)"), _BIAS),
         1, None, "in_features", "out=10", ("in_features", "out_features")),
    Kind("dropout", "Dropout", nn.Dropout,
         (_s("p", "p", "prob", "probability of zeroing a value"),), 1, None, None, "p=0.5"),
    Kind("upsample", "Upsample", nn.Upsample,
         (_s("scale", "scale_factor", "scale", "size multiplier, e.g. 2"),
          _s("mode", "mode", "choice", "how new pixels are filled", choices=(
              "nearest", "bilinear", "bicubic", "linear", "area")),
          _s("align", "align_corners", "bool", "bilinear/bicubic: pin corner pixels, 1 or 0")),
         2, None, None, "scale=2 mode=nearest"),
)}
ALIASES = {"pool": "maxpool", "gap": "adaptavg", "fc": "linear", "up": "upsample",
           "batchnorm": "bn", "conv2d": "conv", "maxpool2d": "maxpool", "avgpool2d": "avgpool"}
BY_TITLE = {k.title: k.code for k in KINDS.values()}
DEFAULT_SCALE = 2.0  # Upsample needs a size or a scale; ours doubles unless told otherwise


@dataclass(frozen=True)
class Layer:
    """One row of the stack: a kind and the settings the user gave (others take defaults)."""

    code: str
    values: tuple[tuple[str, Any], ...] = field(default=())

    @property
    def kind(self) -> Kind:
        return KINDS[self.code]

    def get(self, name: str, default: Any = None) -> Any:
        """The value given for setting `name`, else `default`."""
        return dict(self.values).get(name, default)

    def with_value(self, name: str, value: Any) -> Layer:
        """A copy with setting `name` set (None removes it)."""
        given = dict(self.values)
        given.pop(name, None)
        if value is not None:
            given[name] = value
        order = [s.name for s in self.kind.settings]
        return Layer(self.code, tuple(sorted(given.items(), key=lambda kv: order.index(kv[0]))))


def module_kwargs(layer: Layer, in_shape: tuple[int, ...]) -> dict[str, Any]:
    """The constructor arguments, with `in` inferred from the arriving tensor when not given."""
    kind = layer.kind
    kwargs = {s.arg: layer.get(s.name) for s in kind.settings if layer.get(s.name) is not None}
    if kind.infer and kind.infer not in kwargs:
        # Linear reads the last dim; conv and batch norm read the channel dim.
        kwargs[kind.infer] = in_shape[-1] if kind.code == "linear" else in_shape[1]
    if kind.code == "upsample" and "scale_factor" not in kwargs:
        kwargs["scale_factor"] = DEFAULT_SCALE
    return kwargs


def build_module(layer: Layer, in_shape: tuple[int, ...], device: str = "cpu") -> nn.Module:
    """The real torch module for this layer, its `in` matched to the arriving tensor."""
    kwargs = module_kwargs(layer, in_shape)
    if layer.code in ("conv", "conv1d", "bn", "bn1d", "linear"):
        kwargs["device"] = device  # on "meta" no memory is used, whatever the size
    return layer.kind.module(**kwargs)


def module_code(layer: Layer, kwargs: dict[str, Any]) -> str:
    """`nn.Conv2d(1, 32, kernel_size=3, padding=1)` for these arguments."""
    kind = layer.kind
    lazy = kind.infer is not None and kind.infer not in kwargs
    name = f"Lazy{kind.module.__name__}" if lazy else kind.module.__name__
    parts = [repr(kwargs[a]) for a in kind.code_args if a in kwargs]
    parts += [f"{a}={v!r}" for a, v in kwargs.items() if a not in kind.code_args]
    return f"nn.{name}({', '.join(parts)})"
