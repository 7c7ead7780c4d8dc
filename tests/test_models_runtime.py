"""The models at run time: model_summary against a real forward, gradient checkpointing
against the plain forward/backward, channels_last against contiguous inputs."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from core.models import LayerInfo, build_model, count_params, model_summary
from tests.test_models import cfg_for


# ---------------------------------------------------------------- model_summary
@pytest.mark.parametrize("name,kw", [("cnn", {}), ("cnn", {"norm": "batch"}),
                                     ("lenet5", {}), ("mlp", {"norm": "batch", "dropout": 0.2})])
def test_summary_matches_stepping_through_the_layers(name, kw):
    shape = (1, 28, 28)
    model = build_model(cfg_for(name, **kw), shape, 10).eval()
    rows = model_summary(model, shape)
    x = torch.randn(2, *shape)
    if name == "mlp":  # flatten, each hidden block's parts, the head
        leaves = [model.flatten, *(m for block in model.hidden for m in block), model.head]
    else:  # cnn and lenet5 are named nn.Sequentials
        leaves = list(model)
    shapes = []
    with torch.no_grad():
        for m in leaves:
            x = m(x)
            shapes.append(tuple(x.shape[1:]))
    assert [r.output_shape for r in rows] == shapes
    assert sum(r.params for r in rows) == count_params(model)
    assert all(isinstance(r, LayerInfo) for r in rows)


def test_classic_cnn_summary_rows():
    rows = model_summary(build_model(cfg_for("cnn"), (1, 28, 28), 10), (1, 28, 28))
    assert [(r.name, r.kind, r.output_shape) for r in rows if r.params] == [
        ("conv1", "Conv2d", (32, 26, 26)), ("conv2", "Conv2d", (64, 24, 24)),
        ("fc1", "Linear", (128,)), ("fc2", "Linear", (10,))]
    assert next(r for r in rows if r.name == "flatten").output_shape == (9216,)


def test_resnet_summary_stage_shapes_and_mode_restored():
    model = build_model(cfg_for("resnet", width=4, depth=2), (3, 32, 32), 7)
    rows = model_summary(model, (3, 32, 32))
    assert model.training  # restored after the eval-mode pass
    last_of_stage = {r.name.split(".")[1]: r.output_shape for r in rows
                     if r.name.startswith("stages.") and r.name.endswith("act2")}
    assert last_of_stage == {"0": (4, 32, 32), "1": (8, 16, 16), "2": (16, 8, 8)}
    assert rows[-1].output_shape == (7,) and rows[-1].name == "fc"
    assert sum(r.params for r in rows) == count_params(model)
    with torch.no_grad():
        assert model.eval()(torch.randn(2, 3, 32, 32)).shape[1:] == rows[-1].output_shape


# ---------------------------------------------------------------- gradient checkpointing
def _forward_backward(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list]:
    torch.manual_seed(11)  # same dropout masks in both runs
    out = model(x)
    (out ** 2).mean().backward()
    return out.detach(), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("name,shape,kw", [
    ("mlp", (1, 8, 8), {"norm": "batch", "dropout": 0.3, "depth": 3}),
    ("mlp", (5,), {"norm": "layer", "activation": "prelu"}),
    ("resnet", (3, 16, 16), {"width": 4, "depth": 2, "dropout": 0.2}),
])
def test_checkpointing_gives_same_outputs_grads_and_running_stats(name, shape, kw):
    torch.manual_seed(0)
    plain = build_model(cfg_for(name, **kw), shape, 4)
    ckpt = copy.deepcopy(plain)
    ckpt.grad_checkpointing = True
    x = torch.randn(6, *shape)
    calls = []
    first_block = ckpt.hidden[0] if name == "mlp" else ckpt.stages[0][0]
    first_block.register_forward_pre_hook(lambda *_: calls.append(1))  # recompute may stop early
    out_a, grads_a = _forward_backward(plain, x)
    out_b, grads_b = _forward_backward(ckpt, x)
    assert len(calls) == 2  # the block really ran again in backward
    torch.testing.assert_close(out_b, out_a, rtol=0, atol=1e-6)
    for ga, gb in zip(grads_a, grads_b, strict=True):
        torch.testing.assert_close(gb, ga, rtol=0, atol=1e-6)
    # BatchNorm must not count the recomputation as a second batch
    for (k, a), b in zip(plain.state_dict().items(), ckpt.state_dict().values(), strict=True):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-6, msg=k)


def test_checkpointing_is_off_in_eval_mode():
    model = build_model(cfg_for("mlp", grad_checkpointing=True), (2,), 3).eval()
    calls = []
    model.hidden[0].linear.register_forward_hook(lambda *_: calls.append(1))
    model(torch.randn(4, 2, requires_grad=True)).sum().backward()
    assert len(calls) == 1


# ---------------------------------------------------------------- channels_last
@pytest.mark.parametrize("name,kw", [("cnn", {}), ("cnn", {"norm": "batch"}), ("lenet5", {}),
                                     ("resnet", {"width": 4}), ("mlp", {})])
def test_channels_last_gives_the_same_output(name, kw):
    torch.manual_seed(0)
    model = build_model(cfg_for(name, **kw), (3, 32, 32), 10).eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        ref = model(x)
        model = model.to(memory_format=torch.channels_last)
        xc = x.to(memory_format=torch.channels_last)
        assert not xc.is_contiguous()
        out = model(xc)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    assert math.isfinite(out.abs().sum().item())
