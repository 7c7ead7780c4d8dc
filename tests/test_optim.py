"""Optimizers and losses: our builders give torch's own objects with the config's settings."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.config import LOSSES, OPTIMIZERS, TrainConfig
from core.optim import LOSSES as LOSS_FNS
from core.optim import OPTIMIZERS as OPT_BUILDERS
from core.optim import build_objective, build_optimizer, optimizer_kind
from tests.engine_helpers import one_torch_thread  # noqa: F401 (autouse)

SETTINGS = {  # non-default values so a dropped argument would show
    "sgd": dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3),
    "adam": dict(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=1e-3),
    "adamw": dict(lr=0.01, beta1=0.85, beta2=0.98, eps=1e-7, weight_decay=0.05),
    "rmsprop": dict(lr=0.01, alpha=0.9, momentum=0.5, eps=1e-6, weight_decay=1e-3),
    "adagrad": dict(lr=0.05, eps=1e-6, weight_decay=1e-3),
    "adadelta": dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=1e-3),
}
EXPECTED = {
    "sgd": (torch.optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True, dampening=0.0,
                                  weight_decay=1e-3)),
    "adam": (torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-3)),
    "adamw": (torch.optim.AdamW, dict(lr=0.01, betas=(0.85, 0.98), eps=1e-7,
                                      weight_decay=0.05)),
    "rmsprop": (torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, momentum=0.5, eps=1e-6,
                                          weight_decay=1e-3)),
    "adagrad": (torch.optim.Adagrad, dict(lr=0.05, eps=1e-6, weight_decay=1e-3)),
    "adadelta": (torch.optim.Adadelta, dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=1e-3)),
}


def test_registries_cover_the_config_choices():
    assert set(OPT_BUILDERS) == set(OPTIMIZERS) == set(EXPECTED)
    assert set(LOSS_FNS) == set(LOSSES)


def _train(opt_factory, steps: int = 6) -> list[torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    x, y = torch.randn(32, 3), torch.randint(0, 2, (32,))
    opt = opt_factory(model.parameters())
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_optimizer_is_torchs_with_the_config_settings(name):
    cfg = TrainConfig(optimizer=name, **SETTINGS[name])
    cls, kwargs = EXPECTED[name]
    opt = build_optimizer(cfg, nn.Linear(2, 2).parameters())
    assert type(opt) is cls
    for k, v in kwargs.items():
        assert opt.defaults[k] == pytest.approx(v), k
    # The fast kernel follows the same maths as torch's reference single-tensor loop.
    fast = _train(lambda p: build_optimizer(cfg, p))
    ref = _train(lambda p: cls(p, **kwargs, foreach=False))
    for a, b in zip(fast, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fastest_available_implementation_is_used(name):
    opt = build_optimizer(TrainConfig(optimizer=name, **SETTINGS[name]),
                          nn.Linear(2, 2).parameters())
    has_fused = OPT_BUILDERS[name][1]
    assert optimizer_kind(opt) == ("fused" if has_fused else "foreach")
    ref = build_optimizer(TrainConfig(optimizer=name, **SETTINGS[name]),
                          nn.Linear(2, 2).parameters(), fast="off")
    assert optimizer_kind(ref) == "for-loop"


def test_cross_entropy_with_label_smoothing_is_torchs():
    obj = build_objective(TrainConfig(label_smoothing=0.1), "classification", 3)
    out, y = torch.randn(10, 3), torch.randint(0, 3, (10,))
    assert obj.num_outputs == 3
    torch.testing.assert_close(obj.loss(out, y), F.cross_entropy(out, y, label_smoothing=0.1))
    assert int(obj.correct(out, y)) == int((out.argmax(1) == y).sum())
    torch.testing.assert_close(obj.probs(out).sum(1), torch.ones(10))


def test_bce_uses_one_logit_for_two_classes():
    obj = build_objective(TrainConfig(dataset="moons", loss="bce_with_logits"),
                          "classification", 2)
    assert obj.num_outputs == 1
    out, y = torch.randn(8, 1), torch.randint(0, 2, (8,))
    torch.testing.assert_close(obj.loss(out, y),
                               F.binary_cross_entropy_with_logits(out[:, 0], y.float()))
    assert obj.predict(out).tolist() == (out[:, 0] > 0).long().tolist()
    torch.testing.assert_close(obj.probs(out)[:, 1], torch.sigmoid(out[:, 0]))


@pytest.mark.parametrize("loss", ["mse", "l1", "smooth_l1"])
def test_regression_losses_on_classes_use_one_hot_targets(loss):
    obj = build_objective(TrainConfig(loss=loss), "classification", 3)
    out, y = torch.randn(6, 3), torch.tensor([0, 1, 2, 2, 1, 0])
    target = torch.eye(3)[y]
    torch.testing.assert_close(obj.loss(out, y), LOSS_FNS[loss](out, target))
    assert obj.has_accuracy


def test_regression_objective_has_no_accuracy():
    obj = build_objective(TrainConfig(dataset="regression", loss="smooth_l1"), "regression", 1)
    out, y = torch.randn(5, 1), torch.randn(5, 1)
    torch.testing.assert_close(obj.loss(out, y), F.smooth_l1_loss(out, y))
    assert not obj.has_accuracy and obj.num_outputs == 1


def test_loss_is_float32_under_bf16_autocast():
    obj = build_objective(TrainConfig(), "classification", 3)
    out = torch.randn(4, 3).to(torch.bfloat16)
    assert obj.loss(out, torch.tensor([0, 1, 2, 0])).dtype == torch.float32
