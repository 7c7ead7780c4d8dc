"""Shape tracer core: parsing, presets, explanations and fixes, exported code, all against torch."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch
from torch import nn

from core.shape_layers import KINDS, Layer
from core.shape_presets import SHAPE_PRESETS
from core.shape_text import encode_stack, parse_settings, parse_stack, settings_text
from core.shape_trace import parse_shape, trace


def run_code(code: str) -> tuple[dict, str]:
    """exec the exported snippet; its namespace and what it printed."""
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<export>", "exec"), namespace)
    return namespace, out.getvalue()


def test_brief_example_round_trips():
    text = "conv:32:3:1:1|relu|pool:2|flatten|linear:10"
    layers = parse_stack(text)
    assert [layer.code for layer in layers] == ["conv", "relu", "maxpool", "flatten", "linear"]
    assert layers[0].values == (("out", 32), ("k", 3), ("s", 1), ("p", 1))
    assert encode_stack(layers) == "conv:32:3:1:1|relu|maxpool:2|flatten|linear:10"
    assert parse_stack(encode_stack(layers)) == layers


def test_named_and_positional_forms_agree():
    a = parse_settings("Conv2d", "out=16 k=3x5 p=same d=2 in=3")
    b = parse_stack("conv:16:3x5:p=same:d=2:in=3")[0]
    assert a == b
    assert a.get("k") == (3, 5) and a.get("p") == "same"
    assert settings_text(a) == "out=16 k=3x5 p=same d=2 in=3"
    assert parse_settings("Conv2d", settings_text(a)) == a
    assert parse_settings("conv2d", "out_channels=16, kernel_size=3") == Layer(
        "conv", (("out", 16), ("k", 3)))


@pytest.mark.parametrize("code, text, words", [
    ("Conv2d", "k=3", "needs out and k"),
    ("Conv2d", "out=8 k=0", "≥ 1"),
    ("Conv2d", "out=8 k=3 z=1", "no setting 'z'"),
    ("Conv1d", "out=8 k=3x3", "needs 1 number"),
    ("Dropout", "p=1.5", "probability"),
    ("Linear", "10 20", "without a name"),
    ("Flatten", "start=0", "batch"),
    ("Upsample", "mode=cubic", "one of"),
    ("Conv2d", "out=8 out=9 k=3", "twice"),
    ("Transformer", "", "Unknown layer type"),
])
def test_bad_settings_are_refused_in_words(code, text, words):
    with pytest.raises(ValueError, match=words):
        parse_settings(code, text)


def test_bad_stack_text_names_the_layer():
    with pytest.raises(ValueError, match=r"layer 2 \('conv:x'\)"):
        parse_stack("relu|conv:x")


@pytest.mark.parametrize("text, shape", [("1,3,32,32", (1, 3, 32, 32)),
                                         ("(64, 1, 28, 28)", (64, 1, 28, 28)),
                                         ("2x784", (2, 784)), ("4 1 1000", (4, 1, 1000))])
def test_parse_shape(text, shape):
    assert parse_shape(text) == shape


@pytest.mark.parametrize("text", ["", "1", "1,2,3,4,5", "1,0,3,3", "a,b", "1,-3,4,4",
                                  "1,1,100000,2", "65536,65536,65536,65536"])
def test_parse_shape_refuses(text):
    with pytest.raises(ValueError, match="input"):
        parse_shape(text)


def test_the_largest_input_allowed_still_traces_on_meta():
    result = trace(parse_stack("relu|up:64|up:64"), parse_shape("16,65536,1024,1024"))
    assert result.device == "meta"
    assert "overflowed" in result.problem.torch_error  # torch's own refusal, as a Problem


def test_empty_and_endless_stacks_are_refused():
    with pytest.raises(ValueError, match="empty"):
        trace((), (1, 1, 28, 28))
    with pytest.raises(ValueError, match="at most 64 layers"):
        trace(parse_stack("|".join(["relu"] * 65)), (1, 1, 28, 28))


@pytest.mark.parametrize("name", list(SHAPE_PRESETS))
def test_every_preset_traces_as_documented(name):
    preset = SHAPE_PRESETS[name]
    result = trace(parse_stack(preset.stack), preset.input_shape)
    if preset.broken_at is None:
        assert result.problem is None, result.problem
        namespace, printed = run_code(result.code)
        x = torch.randn(preset.input_shape)
        assert tuple(namespace["model"](x).shape) == result.output_shape
        assert f"torch.Size({list(result.output_shape)})" in printed
        model = namespace["model"]
        assert sum(p.numel() for p in model.parameters()) == result.total_params
    else:
        assert result.problem is not None and result.problem.index == preset.broken_at
        assert result.problem.fix is not None
        with pytest.raises(RuntimeError):  # the snippet reproduces the failure it explains
            run_code(result.code)


def test_mnist_cnn_matches_pytorch_examples():
    """The shapes and parameter count of pytorch/examples' mnist Net, built independently."""
    preset = SHAPE_PRESETS["MNIST CNN (pytorch/examples)"]
    result = trace(parse_stack(preset.stack), preset.input_shape)
    net = nn.Sequential(nn.Conv2d(1, 32, 3, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 1), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128),
                        nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    x = torch.randn(preset.input_shape)
    shapes = []
    for module in net:
        x = module(x)
        shapes.append(tuple(x.shape))
    assert [s.out_shape for s in result.steps] == shapes
    assert result.total_params == sum(p.numel() for p in net.parameters()) == 1_199_882
    assert result.steps[6].out_shape == (64, 9216)
    # receptive field: 3 -> 5 -> 6 (pool) and the jump doubles at the pool
    assert [s.rf for s in result.steps[:5]] == [(3, 3), (3, 3), (5, 5), (5, 5), (6, 6)]
    assert result.steps[4].jump == (2, 2)
    # multiply-adds per sample: out pixels × (in channels · k · k) for each layer with weights
    assert result.steps[0].macs == 32 * 26 * 26 * 9
    assert result.steps[2].macs == 64 * 24 * 24 * 32 * 9
    assert result.steps[7].macs == 9216 * 128


def _problem(stack: str, shape: tuple[int, ...]):
    result = trace(parse_stack(stack), shape)
    assert result.problem is not None
    return result.problem


@pytest.mark.parametrize("stack, shape, index, words, fix", [
    # the brief's examples
    ("conv:32:3|relu|maxpool:2|flatten|linear:10:in=1000", (2, 1, 28, 28), 4,
     "expects in_features=1000 but gets 5408", "set in_features=5408"),
    ("conv:8:3:in=1", (2, 3, 8, 8), 0, "expects in_channels=1 but gets 3", "set in_channels=3"),
    ("maxpool:2|maxpool:2|maxpool:2", (1, 1, 4, 4), 2, "too small", "remove this layer"),
    # more ways to go wrong
    ("conv:8:5", (2, 1, 3, 3), 0, "too small", "set p=1"),
    ("conv:8:3:2:same", (2, 1, 8, 8), 0, "stride 1", "set p=1"),
    ("conv:6:3:g=4", (2, 4, 8, 8), 0, "groups=4 must divide", "set g=2"),
    ("bn:in=4", (2, 8, 3, 3), 0, "num_features=4 but gets 8", "set num_features=8"),
    ("adaptavg:1|bn", (1, 8, 5, 5), 1, "more than one value per channel", "set the batch size N=2"),
    ("flatten|linear:8|bn1d", (1, 1, 4, 4), 2, "more than one value per channel",
     "set the batch size N=2"),
    ("maxpool:2:2:2", (2, 1, 8, 8), 0, "more than half", "set p=1"),
    ("maxpool:4", (2, 1, 3, 8), 0, "too small", "set k=3x4"),
    ("flatten|conv:8:3", (2, 1, 8, 8), 1, "needs (N, C, H, W) but gets (2, 64)", None),
    ("conv1d:8:3", (2, 1, 8, 8), 0, "Conv1d needs (N, C, L)", "use Conv2d instead"),
    ("bn", (2, 4, 10), 0, "BatchNorm2d needs (N, C, H, W)", "use BatchNorm1d instead"),
    ("upsample:2:bilinear", (2, 1, 10), 0, "mode=bilinear works on 2-D", "set mode=linear"),
    ("upsample:0.1", (2, 1, 5, 5), 0, "shrinks", "set scale=0.2"),
    ("upsample:2:nearest:align=1", (2, 1, 5, 5), 0, "align_corners", "remove align"),
    ("flatten:1:3", (2, 4, 10), 0, "Flatten's start/end", "use Flatten()"),
    ("bn1d", (2, 4, 5, 5), 0, "BatchNorm1d takes", "use BatchNorm2d instead"),
])
def test_problem_is_explained_and_fixed(stack, shape, index, words, fix):
    problem = _problem(stack, shape)
    assert problem.index == index
    assert words in problem.message
    if fix is None:
        assert problem.fix is None
        return
    assert problem.fix is not None and problem.fix.text == fix
    after = trace(parse_stack(problem.fix.stack), problem.fix.input_shape)
    assert after.problem is None or after.problem.index > index


def test_linear_mismatch_explains_the_flatten_product():
    preset = SHAPE_PRESETS["Broken: LeNet-5 fed 28×28 MNIST"]
    problem = _problem(preset.stack, preset.input_shape)
    assert "16·4·4 = 256" in problem.message and "set in_features=256" == problem.fix.text
    assert "mat1 and mat2" in problem.torch_error  # torch's own words are kept beside ours


def test_unknown_failures_fall_back_to_torchs_message(monkeypatch):
    import core.shape_explain as explain

    monkeypatch.setattr(explain, "_HANDLERS", {})
    problem = _problem("conv:8:3:in=1", (2, 3, 8, 8))
    assert "PyTorch refused it with" in problem.message and problem.fix is None


def test_big_stacks_run_on_meta_and_agree_with_cpu(monkeypatch):
    import core.shape_trace as shape_trace

    stack = parse_stack("conv:64:3:1:1|bn|relu|maxpool:2|conv:128:3:1:1|adaptavg:1|flatten"
                        "|linear:10")
    big = trace(stack, (4, 3, 224, 224))
    assert big.device == "meta" and big.problem is None and big.output_shape == (4, 10)
    monkeypatch.setattr(shape_trace, "CPU_MAX_MACS", 10**12)
    monkeypatch.setattr(shape_trace, "CPU_MAX_VALUES", 10**12)
    cpu = trace(stack, (4, 3, 224, 224))
    assert cpu.device == "cpu" and cpu.steps == big.steps


def test_huge_linear_costs_no_memory():
    result = trace(parse_stack("flatten|linear:100000"), (1, 3, 256, 256))
    assert result.device == "meta" and result.total_params == 3 * 256 * 256 * 100000 + 100000


def test_linear_on_images_gets_a_note():
    result = trace(parse_stack("linear:5"), (2, 3, 8, 8))
    assert result.problem is None and result.output_shape == (2, 3, 8, 5)
    assert "Flatten" in result.steps[0].note


def test_every_kind_builds_and_exports():
    """One stack touching every layer type runs, and its exported code gives the same shape."""
    stack = ("conv:8:3:1:1|bn|relu|maxpool:2|avgpool:2|upsample:2:bilinear:align=1|adaptavg:3"
             "|gelu|tanh|sigmoid|silu|leakyrelu:0.1|elu:1.0|dropout:0.1|flatten:2|conv1d:4:3"
             "|bn1d|maxpool1d:2|adaptavg1d:2|flatten|linear:3:bias=0")
    layers = parse_stack(stack)
    assert {layer.code for layer in layers} == set(KINDS)
    result = trace(layers, (2, 3, 16, 16))
    assert result.problem is None, result.problem
    namespace, _ = run_code(result.code)
    assert tuple(namespace["model"](torch.randn(2, 3, 16, 16)).shape) == result.output_shape


def test_tracing_leaves_the_global_random_generator_alone():
    """A training run elsewhere on the server shares torch's generator: draw nothing from it."""
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    for preset in SHAPE_PRESETS.values():
        trace(parse_stack(preset.stack), preset.input_shape)
    assert torch.equal(before, torch.random.get_rng_state())
