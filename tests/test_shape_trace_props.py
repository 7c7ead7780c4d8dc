"""Property tests of the shape tracer against torch, over random stacks (hypothesis).

- the output-size formula, written out here, matches every traced shape of random conv/pool
  stacks, and the trace stops exactly where that formula says a size falls below 1;
- on random stacks (valid or not) the trace stops exactly at the layer where a plain torch
  model with Lazy modules raises, with a specific explanation, and its fix gets further;
- the receptive field equals the input span that really reaches an output (one-hot inputs
  through an all-positive copy of the stack);
- the compact text form round-trips.
"""

from __future__ import annotations

import math

import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

from core.shape_layers import KINDS, build_module
from core.shape_text import encode_stack, parse_settings, parse_stack, settings_text
from core.shape_trace import _run, trace

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# ----------------------------------------------------------------------------- strategies
def _pair(low: int, high: int):
    return st.one_of(st.integers(low, high).map(str),
                     st.tuples(st.integers(low, high), st.integers(low, high)).map(
                         lambda t: f"{t[0]}x{t[1]}"))


@st.composite
def conv_pool_token(draw) -> str:
    """A Conv2d / MaxPool2d / AvgPool2d, sometimes with settings that can't work."""
    kind = draw(st.sampled_from(["conv", "maxpool", "avgpool"]))
    k, s, p = draw(_pair(1, 5)), draw(_pair(1, 3)), draw(_pair(0, 3))
    if kind == "conv":
        d = draw(_pair(1, 3))
        if draw(st.booleans()) and draw(st.booleans()):
            return f"conv:{draw(st.integers(1, 4))}:{k}:1:same:d={d}"
        return f"conv:{draw(st.integers(1, 4))}:{k}:{s}:{p}:d={d}"
    ceil = int(draw(st.booleans()))
    extra = f":d={draw(_pair(1, 2))}" if kind == "maxpool" else ""
    return f"{kind}:{k}:{s}:{p}{extra}:ceil={ceil}"


def _axes(v, n=2):
    return tuple(v) if isinstance(v, tuple) else (v,) * n


def expected_size(layer, size: tuple[int, int]) -> tuple[int, int] | None:
    """torch's documented output size, or None where torch must refuse."""
    k = _axes(layer.get("k"))
    default_s = 1 if layer.code == "conv" else layer.get("k")
    s, d = _axes(layer.get("s", default_s)), _axes(layer.get("d", 1))
    p = layer.get("p", 0)
    if p == "same":
        return size
    p = _axes(p)
    out = []
    for n, ka, sa, pa, da in zip(size, k, s, p, d, strict=True):
        span = da * (ka - 1) + 1
        if layer.code != "conv" and pa > ka / 2:
            return None  # pooling padding at most half the kernel (dilation not counted)
        if layer.code != "conv" and layer.get("ceil"):
            o = math.ceil((n + 2 * pa - span) / sa) + 1
            if (o - 1) * sa >= n + pa:
                o -= 1  # the last window must start inside the input or its left padding
        else:
            o = (n + 2 * pa - span) // sa + 1
        if o < 1:
            return None
        out.append(o)
    return tuple(out)


@FAST
@given(st.lists(conv_pool_token(), min_size=1, max_size=4), st.integers(1, 24),
       st.integers(1, 24))
def test_formula_matches_torch_and_stops_exactly_where_it_fails(tokens, h, w):
    layers = parse_stack("|".join(tokens))
    result = trace(layers, (2, 3, h, w))
    size, stop = (h, w), None
    for i, layer in enumerate(layers):
        size = expected_size(layer, size)
        if size is None:
            stop = i
            break
        assert result.steps[i].out_shape[2:] == size
    if stop is None:
        assert result.problem is None
    else:
        assert result.problem is not None and result.problem.index == stop
        assert "PyTorch refused it" not in result.problem.message  # a specific explanation
        assert result.problem.fix is not None


# ----------------------------------------------------------------------------- any stack
@st.composite
def any_token(draw) -> str:
    kind = draw(st.sampled_from(["conv", "pool", "bn", "relu", "flatten", "linear", "up",
                                 "gap", "dropout", "grouped"]))
    maybe_in = (f":in={draw(st.integers(1, 6))}" if draw(st.integers(0, 3)) == 0 else "")
    if kind == "conv":
        return draw(conv_pool_token().filter(lambda t: t.startswith("conv"))) + maybe_in
    if kind == "pool":
        return draw(conv_pool_token().filter(lambda t: "pool" in t))
    if kind == "grouped":
        return f"conv:{draw(st.integers(1, 6))}:3:1:1:g={draw(st.integers(1, 4))}"
    if kind == "bn":
        return "bn" + maybe_in
    if kind == "linear":
        return f"linear:{draw(st.integers(1, 8))}" + maybe_in
    if kind == "up":
        scale = draw(st.sampled_from(["0.3", "0.5", "2"]))
        return f"upsample:{scale}:{draw(st.sampled_from(['nearest', 'bilinear']))}"
    if kind == "gap":
        return f"adaptavg:{draw(_pair(1, 3))}"
    return {"relu": "relu", "flatten": "flatten", "dropout": "dropout:0.5"}[kind]


def eager(layer) -> nn.Module:
    """The same layer written directly with torch (Lazy modules infer `in`), not via core."""
    g, code = dict(layer.values), layer.code
    if code == "conv":
        kw = dict(kernel_size=g["k"], stride=g.get("s", 1), padding=g.get("p", 0),
                  dilation=g.get("d", 1), groups=g.get("g", 1))
        return nn.Conv2d(g["in"], g["out"], **kw) if "in" in g else nn.LazyConv2d(g["out"], **kw)
    if code in ("maxpool", "avgpool"):
        kw = dict(kernel_size=g["k"], stride=g.get("s"), padding=g.get("p", 0),
                  ceil_mode=g.get("ceil", False))
        if code == "maxpool":
            return nn.MaxPool2d(dilation=g.get("d", 1), **kw)
        return nn.AvgPool2d(**kw)
    if code == "bn":
        return nn.BatchNorm2d(g["in"]) if "in" in g else nn.LazyBatchNorm2d()
    if code == "linear":
        return nn.Linear(g["in"], g["out"]) if "in" in g else nn.LazyLinear(g["out"])
    if code == "upsample":
        return nn.Upsample(scale_factor=g["scale"], mode=g["mode"])
    if code == "adaptavg":
        return nn.AdaptiveAvgPool2d(g["size"])
    return {"relu": nn.ReLU, "flatten": nn.Flatten, "dropout": nn.Dropout}[code]()


def first_failure(layers, shape) -> int | None:
    x = torch.randn(shape)
    for i, layer in enumerate(layers):
        try:
            x = eager(layer).train()(x)
        except Exception:  # noqa: BLE001 - any refusal by torch counts
            return i
    return None


@FAST
@given(st.lists(any_token(), min_size=1, max_size=6), st.integers(1, 3), st.integers(1, 4),
       st.integers(1, 12), st.integers(1, 12))
def test_trace_stops_exactly_where_torch_raises(tokens, n, c, h, w):
    layers = parse_stack("|".join(tokens))
    shape = (n, c, h, w)
    result = trace(layers, shape)
    expected = first_failure(layers, shape)
    stop = result.problem.index if result.problem else None
    if result.problem is not None and not result.problem.torch_error:
        # Stopped before torch ran: a layer got the wrong number of dims, which torch may
        # accept silently (AdaptiveAvgPool2d reads (N, F) as one unbatched 2-D map).
        arriving = result.steps[-1].out_shape if result.steps else shape
        assert len(arriving) != layers[stop].kind.dims + 2
        assert expected is None or expected >= stop
        expected = stop
    assert stop == expected
    meta_steps, meta_problem = _run(layers, shape, "meta", n)
    assert [s.out_shape for s in meta_steps] == [s.out_shape for s in result.steps]
    assert (meta_problem.index if meta_problem else None) == expected
    if result.problem is None:
        return
    assert result.problem.message and "Traceback" not in result.problem.message
    # Following the fixes never goes back: the trace gets further, or the same layer shows
    # its next problem (a layer can have several, e.g. wrong `in` and a kernel too big).
    seen = set()
    problem = result.problem
    for _ in range(6):
        if problem is None or problem.fix is None:
            break
        seen.add((problem.index, problem.headline))
        after = trace(parse_stack(problem.fix.stack), problem.fix.input_shape).problem
        assert after is None or after.index > problem.index or (
            after.index == problem.index and (after.index, after.headline) not in seen)
        problem = after


# ----------------------------------------------------------------------------- receptive field
@st.composite
def rf_token(draw) -> str:
    kind = draw(st.sampled_from(["conv1d", "conv1d", "maxpool1d"]))
    k, s, d = draw(st.integers(1, 5)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    p = draw(st.integers(0, (d * (k - 1) + 1) // 2))
    if kind == "conv1d":
        return f"conv1d:1:{k}:{s}:{p}:d={d}"
    return f"maxpool1d:{k}:{s}:{p}:d={d}"


def windows(layers, steps) -> tuple[float, float]:
    """(start, jump) of the last layer's windows in input coordinates, written out here."""
    start, jump = 0.0, 1.0
    for layer, step in zip(layers, steps, strict=True):
        if layer.code.startswith("adaptavg"):
            k = s = step.in_shape[2] // step.out_shape[2]
            p = 0
        else:
            k, p = layer.get("k"), layer.get("p", 0)
            s = layer.get("s", 1 if layer.code.startswith("conv") else k)
        start -= p * jump
        jump *= s
    return start, jump


def footprints(net: nn.Module, length: int) -> list[int]:
    """For every output position: extent of the input positions that change it."""
    eye = torch.eye(length).reshape(length, 1, length)
    with torch.no_grad():
        effect = (net(eye) - net(torch.zeros(1, 1, length))).abs() > 1e-9
    effect = effect.reshape(length, -1)
    out = []
    for o in range(effect.shape[1]):
        hit = effect[:, o].nonzero().flatten()
        out.append(int(hit.max() - hit.min() + 1) if len(hit) else 0)
    return out


def positive_copy(layers, steps) -> nn.Module:
    """The stack's real modules with all weights 1 and biases 0: nothing cancels."""
    mods = []
    for layer, step in zip(layers, steps, strict=True):
        module = build_module(layer, step.in_shape)
        for name, param in module.named_parameters():
            param.data.fill_(0.0 if name == "bias" else 1.0)
        mods.append(module)
    return nn.Sequential(*mods).eval()


@FAST
@given(st.lists(rf_token(), min_size=1, max_size=4), st.integers(60, 120),
       st.sampled_from([None, 1, 2, 3]))
def test_receptive_field_is_the_span_that_reaches_an_output(tokens, length, pool_to):
    text = "|".join(tokens) + (f"|adaptavg1d:{pool_to}" if pool_to else "")
    layers = parse_stack(text)
    result = trace(layers, (1, 1, length))
    assume(result.problem is None)
    last = result.steps[-1]
    assume(not pool_to or last.in_shape[2] % pool_to == 0)  # even bins: exact arithmetic
    r, j = last.rf[0], last.jump[0]
    start, jump = windows(layers, result.steps)
    assert jump == j
    inside = [o for o in range(last.out_shape[2])
              if start + o * j >= 0 and start + o * j + r - 1 <= length - 1]
    spans = footprints(positive_copy(layers, result.steps), length)
    assert max(spans) <= r
    if inside:
        assert all(spans[o] == r for o in inside)


def test_receptive_field_in_two_dimensions():
    """Non-square kernels and dilation: measured per axis on a 2-D one-hot batch."""
    layers = parse_stack("conv:1:3x5:1:0:d=1x2|maxpool:2|conv:1:3:2:1|avgpool:3:1:1")
    h, w = 40, 44
    result = trace(layers, (1, 1, h, w))
    assert result.problem is None
    eye = torch.eye(h * w).reshape(h * w, 1, h, w)
    net = positive_copy(layers, result.steps)
    with torch.no_grad():
        effect = (net(eye).abs() > 1e-9).reshape(h, w, -1)
    oh, ow = result.output_shape[2:]
    centre = (oh // 2) * ow + ow // 2
    rows = effect[:, :, centre].any(dim=1).nonzero().flatten()
    cols = effect[:, :, centre].any(dim=0).nonzero().flatten()
    rf = result.steps[-1].rf
    assert (int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)) == rf
    # hand check: H: 3 -> 4 (pool) -> 4+2*2=8 -> 8+2*4=16; W: 9 -> 10 -> 14 -> 22
    assert rf == (16, 22) and result.steps[-1].jump == (4, 4)


def test_upsampling_marks_fields_as_estimates():
    result = trace(parse_stack("conv1d:1:3:2|upsample:2|conv1d:1:4"), (1, 1, 60))
    assert [s.rf_exact for s in result.steps] == [True, True, False]
    spans = footprints(positive_copy(parse_stack("conv1d:1:3:2|upsample:2|conv1d:1:4"),
                                     result.steps), 60)
    assert max(spans) == 7 and result.steps[-1].rf[0] == 6  # why it is only an estimate


# ----------------------------------------------------------------------------- text form
@st.composite
def any_layer(draw):
    kind = KINDS[draw(st.sampled_from(list(KINDS)))]
    parts = []
    for s in kind.settings:
        if not draw(st.booleans()) and not (s.name in ("out", "k", "size") and kind.code in (
                "conv", "conv1d", "linear", "maxpool", "avgpool", "maxpool1d", "adaptavg",
                "adaptavg1d")):
            continue
        value = {"count": st.integers(1, 99).map(str),
                 "size": _pair(1, 9) if kind.dims != 1 else st.integers(1, 9).map(str),
                 "pad": st.sampled_from(["0", "2", "same", "valid", "1x2"] if kind.dims == 2
                                        else ["0", "2", "same", "valid"]),
                 "pad0": st.integers(0, 3).map(str),
                 "prob": st.sampled_from(["0", "0.25", "1"]),
                 "scale": st.sampled_from(["0.5", "2", "3.5"]),
                 "bool": st.sampled_from(["0", "1"]),
                 "choice": st.sampled_from(s.choices or ("x",)),
                 "dim": st.integers(1, 3).map(str),
                 "real": st.sampled_from(["0.1", "1", "-2.5"])}[s.type]
        parts.append(f"{s.name}={draw(value)}")
    return parse_settings(kind.title, " ".join(parts))


@settings(max_examples=200, deadline=None)
@given(st.lists(any_layer(), min_size=1, max_size=6))
def test_text_forms_round_trip(layers):
    layers = tuple(layers)
    assert parse_stack(encode_stack(layers)) == layers
    for layer in layers:
        assert parse_settings(layer.kind.title, settings_text(layer)) == layer


@FAST
@given(st.integers(1, 6), st.integers(0, 4), st.integers(1, 4), st.integers(1, 6))
def test_a_too_small_pooling_window_is_fixed_in_one_step(k, p, d, size):
    """The offered k (and p, when p ≤ k/2 needs it) fits the map and passes torch's padding
    rule, so the one-layer stack then runs (it once offered a k that broke p ≤ k/2)."""
    stack = parse_stack(f"maxpool:{k}:p={min(p, k // 2)}:d={d}")
    result = trace(stack, (1, 1, size, size))
    if result.problem is None:
        return
    fix = result.problem.fix
    assert fix is not None
    assert trace(parse_stack(fix.stack), fix.input_shape).problem is None, fix
