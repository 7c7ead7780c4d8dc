"""Trace a layer stack: build each real nn module and run a dummy tensor through it, one layer at
a time, recording output shape, parameters, multiply-adds and receptive field.

Every stack is first run on the "meta" device (torch's shape rules with no arithmetic and no
memory, so any size is safe). When that is cheap enough, it is run again on CPU with real
numbers and a batch of at most 2, and the CPU results are the ones reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from core.shape_explain import Problem, check_input, explain
from core.shape_layers import Layer, build_module, module_code, module_kwargs

MAX_DIM = 1 << 16
MAX_INPUT_VALUES = 1 << 40  # even the meta device refuses a tensor past 2**63 bytes
MAX_LAYERS = 64  # each layer costs a module build and a run per change
CPU_MAX_MACS = 60_000_000  # per traced batch: about 20 ms on a 2-core CPU
CPU_MAX_VALUES = 4_000_000  # floats alive in one activation
CPU_MAX_PARAMS = 20_000_000
_ERRORS = (RuntimeError, ValueError, IndexError, TypeError, NotImplementedError)


@dataclass(frozen=True)
class Step:
    """What one layer did to the tensor."""

    index: int
    title: str
    module: str  # repr of the real module, one line
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    params: int
    macs: int  # multiply-adds per sample, counted by torch's FlopCounterMode
    rf: tuple[float, ...] | None  # receptive field per spatial axis; inf = the whole axis
    jump: tuple[float, ...] | None  # input pixels between neighbouring outputs, per axis
    note: str = ""
    rf_exact: bool = True  # False after upsampling or uneven adaptive bins: an estimate then


@dataclass(frozen=True)
class Trace:
    """The whole stack's result: steps up to the first problem, and the problem if any."""

    input_shape: tuple[int, ...]
    steps: tuple[Step, ...]
    problem: Problem | None
    device: str  # "cpu" (real numbers) or "meta" (shapes only, for big stacks)
    code: str

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.steps[-1].out_shape if self.steps else self.input_shape

    @property
    def total_params(self) -> int:
        return sum(s.params for s in self.steps)

    @property
    def total_macs(self) -> int:
        return sum(s.macs for s in self.steps)


def parse_shape(text: str) -> tuple[int, ...]:
    """'1, 3, 32, 32' as a tuple; 2 to 4 whole numbers, each at least 1."""
    parts = [p for p in str(text).replace("(", " ").replace(")", " ").replace("x", ",")
             .replace(" ", ",").split(",") if p]
    if not 2 <= len(parts) <= 4 or not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise ValueError(f"the input shape must be 2 to 4 whole numbers ≥ 1, like 1, 3, 32, 32 "
                         f"(N, C, H, W) or 1, 784 (N, features); got {text!r}")
    shape = tuple(int(p) for p in parts)
    if max(shape) > MAX_DIM:
        raise ValueError(f"keep every input dimension at most {MAX_DIM}; got {text!r}")
    if math.prod(shape) > MAX_INPUT_VALUES:
        raise ValueError(f"that input holds {math.prod(shape):.3g} values; keep N·C·H·W at most "
                         f"{MAX_INPUT_VALUES:.3g} (about 2**40)")
    return shape


def _advance_rf(layer: Layer, kw: dict, in_shape: tuple[int, ...], out_shape: tuple[int, ...],
                rf: tuple[float, ...] | None, jump: tuple[float, ...] | None):
    """Receptive field after this layer: r += (k_eff - 1)·j, then j *= s (per spatial axis)."""
    if rf is None or jump is None:
        return None, None
    code, axes = layer.code, len(rf)
    spatial = len(in_shape) - 2

    def per_axis(v, default):
        v = default if v is None else v
        return tuple(v) if isinstance(v, tuple) else (v,) * axes

    if code in ("conv", "conv1d", "maxpool", "avgpool", "maxpool1d"):
        if spatial != axes:
            return None, None
        k = per_axis(kw["kernel_size"], 1)
        s = per_axis(kw.get("stride"), 1 if code.startswith("conv") else kw["kernel_size"])
        d = per_axis(kw.get("dilation"), 1)
        rf = tuple(r + (d[a] * (k[a] - 1)) * jump[a] for a, r in enumerate(rf))
        return rf, tuple(j * s[a] for a, j in enumerate(jump))
    if code in ("adaptavg", "adaptavg1d", "upsample"):
        if spatial != axes:
            return None, None
        n_in, n_out = in_shape[2:], out_shape[2:]
        if code == "upsample":
            taps = {"bilinear": 2, "linear": 2, "bicubic": 4}.get(kw.get("mode", "nearest"), 1)
            win = (taps,) * axes
        else:  # adaptive bins: [floor(i·n/o), ceil((i+1)·n/o)); the widest one counts
            win = tuple(max(math.ceil((i + 1) * n / o) - (i * n) // o for i in range(o))
                        for n, o in zip(n_in, n_out, strict=True))
        rf = tuple(r + (win[a] - 1) * jump[a] for a, r in enumerate(rf))
        return rf, tuple(j * n_in[a] / n_out[a] for a, j in enumerate(jump))
    if code == "linear":  # mixes its last dim: the whole input once that dim is the flat one
        whole = len(in_shape) == 2 or axes == 0
        rf = tuple(math.inf for _ in rf) if whole else rf[:-1] + (math.inf,)
        return rf, jump
    return rf, jump  # activations, batch norm, dropout, flatten: each value maps to one value


def _run(stack: tuple[Layer, ...], shape: tuple[int, ...], device: str, batch: int,
         macs: dict[int, int] | None = None):
    """Steps and the first problem, running the real modules on `device`.

    Multiply-adds are counted on the meta pass and handed to the CPU pass in `macs`.
    """
    # Ones, not random numbers: the global generator is shared with any training run on the
    # server, and values don't change shapes.
    x = torch.ones((batch, *shape[1:]), device=device)
    axes = len(shape) - 2
    rf: tuple[float, ...] | None = (1.0,) * axes
    jump: tuple[float, ...] | None = (1.0,) * axes
    steps: list[Step] = []
    uneven = False  # once output pixels are unevenly spaced, r and j are estimates
    shapes: list[tuple[int, ...]] = []  # the shape arriving at each layer
    full = lambda t: (shape[0], *t.shape[1:])  # noqa: E731 - report the user's batch size
    for i, layer in enumerate(stack):
        in_shape = full(x)
        shapes.append(in_shape)
        problem = check_input(stack, i, shapes)
        if problem is not None:
            return steps, problem
        try:
            kw = module_kwargs(layer, in_shape)
            # Built on meta, then given zeroed CPU memory: the same module without the cost of
            # random init (14 ms for MNIST's Linear(9216, 128)); values don't matter for shapes,
            # and zeros (unlike uninitialised memory) can't hold slow denormal floats.
            module = build_module(layer, in_shape, "meta").train()  # as in training...
            if layer.code == "dropout":
                module.eval()  # ...except Dropout, which would draw from the global generator
            if device != "meta":
                module = module.to_empty(device=device)
                for t in (*module.parameters(), *module.buffers()):
                    t.detach().zero_()
            with torch.no_grad():
                y = module(x)
                if 0 in y.shape:
                    raise RuntimeError(f"output size {tuple(y.shape)} has an empty dimension")
                count = macs.get(i, 0) if macs is not None else _count_macs(module, x, batch)
        except _ERRORS as exc:
            return steps, explain(stack, i, shapes, exc)
        out_shape = full(y)
        rf, jump = _advance_rf(layer, kw, in_shape, out_shape, rf, jump)
        steps.append(Step(
            i, layer.kind.title, " ".join(repr(module).split()), in_shape, out_shape,
            sum(p.numel() for p in module.parameters()), count, rf, jump, _note(layer, in_shape),
            not uneven))
        uneven = uneven or layer.code == "upsample" or (
            layer.code.startswith("adaptavg") and any(
                n % o for n, o in zip(in_shape[2:], out_shape[2:], strict=True)))
        x = y
    return steps, None


def _count_macs(module: torch.nn.Module, x: torch.Tensor, batch: int) -> int:
    """Multiply-adds per sample. Run apart from the real pass: under a dispatch mode such as
    FlopCounterMode some of torch's size checks are skipped (Upsample to 0×0 went through)."""
    if not any(True for _ in module.parameters()):
        return 0  # the counter only counts convolutions and matrix products
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() // (2 * batch)


def _note(layer: Layer, in_shape: tuple[int, ...]) -> str:
    """Legal but often unintended uses, worth a word."""
    if layer.code == "linear" and len(in_shape) > 2:
        return (f"Linear acts on the last dim only ({in_shape[-1]} values), for every other "
                "position: did you mean to Flatten first?")
    if layer.code == "upsample":
        return "after upsampling, output pixels are unevenly placed: later fields are estimates"
    return ""


def _cheap(steps: list[Step], shape: tuple[int, ...], batch: int) -> bool:
    values = max([math.prod(shape[1:])] + [math.prod(s.out_shape[1:]) for s in steps])
    return (sum(s.macs for s in steps) * batch <= CPU_MAX_MACS
            and values * batch <= CPU_MAX_VALUES
            and sum(s.params for s in steps) <= CPU_MAX_PARAMS)


def trace(stack: tuple[Layer, ...], input_shape: tuple[int, ...]) -> Trace:
    """Run the stack on a dummy input of `input_shape`, stopping at the first mismatch."""
    if not stack:
        raise ValueError("the stack is empty: add a layer (or pick a preset)")
    if len(stack) > MAX_LAYERS:
        raise ValueError(f"the tracer takes at most {MAX_LAYERS} layers; this stack has "
                         f"{len(stack)}")
    steps, problem = _run(stack, input_shape, "meta", input_shape[0])
    device = "meta"
    # The batch size matters only where BatchNorm sees one value per channel and sample
    # (a 1×1 map or a flat vector): there keep it at min(N, 2), elsewhere 1 is enough.
    single = any(s.title.startswith("BatchNorm") and math.prod(s.in_shape[2:]) == 1
                 for s in steps) or (problem is not None and problem.title.startswith("Batch"))
    batch = min(input_shape[0], 2) if single else 1
    if _cheap(steps, input_shape, batch):
        macs = {s.index: s.macs for s in steps}
        steps, problem = _run(stack, input_shape, "cpu", batch, macs)
        device = "cpu"
    return Trace(input_shape, tuple(steps), problem, device,
                 export_code(stack, input_shape, tuple(steps), problem))


def export_code(stack: tuple[Layer, ...], input_shape: tuple[int, ...],
                steps: tuple[Step, ...], problem: Problem | None) -> str:
    """A runnable `nn.Sequential` for the stack, each line commented with its output shape."""
    lines = ["import torch", "from torch import nn", "", "model = nn.Sequential("]
    for i, layer in enumerate(stack):
        if i < len(steps):
            kw = module_kwargs(layer, steps[i].in_shape)
            comment = f"  # -> {tuple(steps[i].out_shape)}"
        else:  # not reached: `in` can't be inferred, so a Lazy module infers it at run time
            kw = module_kwargs(layer, (0, 0))
            if layer.kind.infer and layer.get("in") is None:
                kw.pop(layer.kind.infer)
            comment = ""
            if problem is not None and i == problem.index:
                comment = f"  # stops here: {problem.headline}"
        lines.append(f"    {module_code(layer, kw)},{comment}")
    lines += [")", "", f"x = torch.randn{input_shape}", "print(model(x).shape)"]
    if problem is None:
        lines[-1] += f"  # torch.Size({list(steps[-1].out_shape)})"
    return "\n".join(lines) + "\n"
