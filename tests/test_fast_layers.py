"""core.models.fast_layers: Dropout and Flatten compute what nn.Dropout and nn.Flatten do.

Dropout: the same keep rate (binomial bounds), kept values scaled by exactly 1/(1-p), zeros
elsewhere, a gradient that is the same mask times the scale, the input's memory format, seeds
that repeat, eval mode the identity. Flatten: the same values and gradient values as
nn.Flatten, with the gradient in the input's channels_last layout. The classic CNN built with
them has the pytorch/examples state_dict and, with dropout off, the same gradients as the same
network built from plain torch layers."""

from __future__ import annotations

import math
from collections import OrderedDict

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from core.config import TrainConfig
from core.models import build_model
from core.models.fast_layers import Dropout, Flatten, keep_mask
from tests.engine_helpers import one_torch_thread  # noqa: F401 - autouse fixture


def _within_binomial(kept: int, n: int, keep: float) -> bool:
    sd = math.sqrt(n * keep * (1 - keep))
    return abs(kept - n * keep) < 6 * sd


@pytest.mark.parametrize("p", [0.25, 0.5, 0.3, 0.1, 0.9, 1 / 3])
def test_keep_rate_matches_p(p):
    torch.manual_seed(0)
    x = torch.empty(200_000)
    kept = int(keep_mask(x, p).sum())
    assert _within_binomial(kept, x.numel(), 1 - p), (kept, x.numel() * (1 - p))


@settings(max_examples=25, deadline=None)
@given(p=st.floats(0.01, 0.99), seed=st.integers(0, 2 ** 31), dtype=st.sampled_from(
    [torch.float32, torch.bfloat16]), channels_last=st.booleans())
def test_dropout_scales_kept_values_and_grads_by_the_same_mask(p, seed, dtype, channels_last):
    torch.manual_seed(seed)
    x = torch.randn(4, 8, 6, 5).abs().add(0.1).to(dtype)  # no zeros: zeros mark dropped values
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    drop = Dropout(p).train()
    out = drop(x)
    mask = out != 0
    scale = 1.0 / (1.0 - p)
    expected = torch.where(mask, x.detach() * torch.tensor(scale, dtype=dtype), 0)
    torch.testing.assert_close(out.detach(), expected, rtol=0, atol=0)
    assert out.dtype == dtype and out.shape == x.shape
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    assert out.is_contiguous(memory_format=fmt)
    out.sum().backward()
    grad_expected = torch.where(mask, torch.tensor(scale, dtype=dtype), 0).to(dtype)
    torch.testing.assert_close(x.grad, grad_expected, rtol=0, atol=0)


def test_dropout_mask_is_laid_out_like_the_input():
    """A channels_last input gets its mask in channels_last order: the kept fraction of each
    channel is the same as nn.Dropout's (no channel is all kept or all dropped)."""
    torch.manual_seed(1)
    x = torch.ones(8, 16, 10, 10).contiguous(memory_format=torch.channels_last)
    out = Dropout(0.5).train()(x)
    per_channel = (out != 0).float().mean(dim=(0, 2, 3))
    assert ((per_channel > 0.35) & (per_channel < 0.65)).all(), per_channel


def test_dropout_repeats_with_the_seed_and_differs_between_calls():
    drop = Dropout(0.25).train()
    x = torch.randn(64, 32)
    torch.manual_seed(7)
    a, b = drop(x), drop(x)
    torch.manual_seed(7)
    assert torch.equal(drop(x), a)
    assert not torch.equal(a, b)


def test_dropout_eval_p0_p1_inplace_behave_like_nn_dropout():
    x = torch.randn(32, 16)
    assert torch.equal(Dropout(0.5).eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)
    assert torch.equal(Dropout(1.0).train()(x), torch.zeros_like(x))
    torch.manual_seed(3)
    inplace = Dropout(0.5, inplace=True).train()(x.clone())  # falls back to nn.Dropout
    torch.manual_seed(3)
    assert torch.equal(inplace, nn.Dropout(0.5, inplace=True).train()(x.clone()))
    assert repr(Dropout(0.25)) == repr(nn.Dropout(0.25))


def test_flatten_values_equal_and_grad_keeps_channels_last():
    torch.manual_seed(0)
    base = torch.randn(4, 6, 5, 3)
    w = torch.randn(6 * 5 * 3)
    grads = {}
    for name, layer, fmt in (("ours", Flatten(), torch.channels_last),
                             ("torch", nn.Flatten(), torch.channels_last),
                             ("plain", nn.Flatten(), torch.contiguous_format)):
        leaf = base.contiguous(memory_format=fmt).requires_grad_()
        x = leaf * 1.0  # not a leaf: a leaf's .grad always takes the leaf's own layout
        x.register_hook(lambda g, name=name: grads.__setitem__(name, g))  # what reaches x
        out = layer(x)
        torch.testing.assert_close(out, base.flatten(1), rtol=0, atol=0)
        (out * w).sum().backward()
    assert torch.equal(grads["ours"], grads["torch"])
    assert grads["ours"].is_contiguous(memory_format=torch.channels_last)
    assert not grads["torch"].is_contiguous(memory_format=torch.channels_last)


def _plain_classic(model: nn.Sequential) -> nn.Sequential:
    """The same network from plain torch layers (nn.Dropout, nn.Flatten), same weights."""
    swap = {Dropout: lambda m: nn.Dropout(m.p), Flatten: lambda m: nn.Flatten()}
    plain = nn.Sequential(OrderedDict(
        (n, swap[type(m)](m) if type(m) in swap else m) for n, m in model.named_children()))
    return plain


def test_classic_cnn_keeps_the_example_state_dict_and_gradients():
    torch.manual_seed(0)
    cfg = TrainConfig(dataset="mnist", model="cnn")
    model = build_model(cfg, (1, 28, 28), 10)
    assert sum(p.numel() for p in model.parameters()) == 1_199_882
    assert list(model.state_dict()) == ["conv1.weight", "conv1.bias", "conv2.weight",
                                        "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight",
                                        "fc2.bias"]
    assert isinstance(model.drop1, nn.Dropout) and isinstance(model.flatten, nn.Flatten)
    x = torch.randn(8, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (8,))
    grads = []
    for net in (model, _plain_classic(model)):
        net = net.to(memory_format=torch.channels_last).eval()  # eval: dropout off in both
        net.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for ours, plain in zip(*grads, strict=True):
        torch.testing.assert_close(ours, plain, rtol=1e-5, atol=1e-6)
