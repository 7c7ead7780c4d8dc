"""The model zoo against real torch: every key builds, hand-counted parameters, the design
rules (dropout, activations, norms), and every impossible combination refused by field name.
Run-time behaviour (summary, checkpointing, channels_last) is in test_models_runtime.py."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from core.activations import Swish
from core.config import ACTIVATIONS, NORMS, TrainConfig
from core.config import MODELS as MODEL_NAMES
from core.models import (
    MAX_PARAMS,
    MODELS,
    build_model,
    check_model_fits,
    count_params,
    model_summary,
)
from core.validate import ConfigError

SHAPES = [(2,), (64,), (1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 13, 17)]
SMALL = dict(width=8, depth=2)  # keeps every forward pass in this file fast


def cfg_for(model: str, **kw) -> TrainConfig:
    """A valid config for `model` (image models need an image dataset to pass validation)."""
    dataset = "spiral" if model == "mlp" else "mnist"
    return TrainConfig(**{"dataset": dataset, "model": model, **SMALL, **kw})


def fits(model: str, shape: tuple[int, ...], **kw) -> bool:
    if model != "mlp" and len(shape) != 3:
        return False
    return not (model == "lenet5" and min(shape[1:]) < 12)


def conv(cin: int, cout: int, k: int, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


def lin(fin: int, fout: int) -> int:
    return fin * fout + fout


# ---------------------------------------------------------------- every key, every shape
def test_registry_keys_are_the_configs_models():
    assert tuple(MODELS) == MODEL_NAMES


@pytest.mark.parametrize("shape,outputs", [(s, 10) for s in SHAPES]
                         + [((2,), 1), ((3, 13, 17), 1)], ids=str)  # 1: a regression target
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_builds_for_every_fitting_shape(name, shape, outputs):
    cfg = cfg_for(name, dropout=0.1)
    if not fits(name, shape):
        with pytest.raises(ValueError, match="model=") as e:
            build_model(cfg, shape, outputs)
        assert "model" in e.value.fields
        return
    model = build_model(cfg, shape, outputs)
    x = torch.randn(3, *shape)
    out = model(x)  # training mode, gradients on
    assert out.shape == (3, outputs)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    assert model(x).shape == (3, outputs)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_every_norm_builds(name, norm):
    model = build_model(cfg_for(name, norm=norm, norm_groups=4), (1, 28, 28), 10)
    assert model(torch.randn(4, 1, 28, 28)).shape == (4, 10)
    kinds = {type(m) for m in model.modules()}
    expected = {"none": None, "batch": (nn.BatchNorm1d if name == "mlp" else nn.BatchNorm2d),
                "layer": (nn.LayerNorm if name == "mlp" else nn.GroupNorm),
                "group": nn.GroupNorm}[norm]
    assert expected is None or expected in kinds
    if norm == "none":
        assert not kinds & {nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm}


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_mlp_builds_every_activation_through_build_activation(act):
    cfg = cfg_for("mlp", activation=act, swish_beta=1.7)
    model = build_model(cfg, (2,), 3)
    acts = [m for m in model.hidden.modules() if m is not model.hidden
            and not isinstance(m, (nn.Sequential, nn.Linear))]
    assert len(acts) == cfg.depth  # one fresh module per hidden layer
    assert model(torch.randn(5, 2)).shape == (5, 3)
    if act == "swish":
        assert all(isinstance(a, Swish) and a.beta == 1.7 for a in acts)
    if act == "prelu":
        assert all(a.num_parameters == 1 for a in acts)
        assert count_params(model) == count_params(build_model(cfg_for("mlp"), (2,), 3)) + 2


# ---------------------------------------------------------------- parameter counts
def mlp_hand_count(fin: int, width: int, depth: int, out: int, norm: str) -> int:
    per_norm = 0 if norm == "none" else 2 * width  # BN / LN / GN: a scale and a shift per unit
    hidden = lin(fin, width) + (depth - 1) * lin(width, width) + depth * per_norm
    return hidden + lin(width, out)


def test_small_mlp_by_hand():
    model = build_model(cfg_for("mlp", width=5, depth=2), (2,), 3)
    assert count_params(model) == (2 * 5 + 5) + (5 * 5 + 5) + (5 * 3 + 3) == 63


@settings(max_examples=30, deadline=None)
@given(fin=st.integers(1, 50), width=st.integers(1, 40), depth=st.integers(1, 5),
       out=st.integers(1, 12), norm=st.sampled_from(["none", "batch", "layer"]))
def test_mlp_count_matches_formula(fin, width, depth, out, norm):
    model = build_model(cfg_for("mlp", width=width, depth=depth, norm=norm), (fin,), out)
    assert count_params(model) == mlp_hand_count(fin, width, depth, out, norm)


def test_classic_cnn_has_pytorch_examples_count():
    model = build_model(cfg_for("cnn"), (1, 28, 28), 10)
    hand = conv(1, 32, 3) + conv(32, 64, 3) + lin(64 * 12 * 12, 128) + lin(128, 10)
    assert count_params(model) == hand == 1_199_882


def test_compact_batchnorm_cnn_count():
    model = build_model(cfg_for("cnn", norm="batch"), (1, 28, 28), 10)
    hand = (conv(1, 32, 3, False) + 2 * 32 + conv(32, 64, 3, False) + 2 * 64
            + lin(64 * 7 * 7, 128) + lin(128, 10))
    assert count_params(model) == hand == 421_738
    assert hand < count_params(build_model(cfg_for("cnn"), (1, 28, 28), 10)) / 2.8


@pytest.mark.parametrize("k", [1, 16, 48])
def test_cnn_channels_sets_both_convs(k):
    """cnn_channels k: conv1 has k channels, conv2 2k, and fc1 takes 2k*7*7 (compact) inputs."""
    model = build_model(cfg_for("cnn", norm="batch", cnn_channels=k), (1, 28, 28), 10)
    assert (model.conv1.out_channels, model.conv2.in_channels, model.conv2.out_channels) == \
        (k, k, 2 * k)
    hand = (conv(1, k, 3, False) + 2 * k + conv(k, 2 * k, 3, False) + 2 * 2 * k
            + lin(2 * k * 7 * 7, 128) + lin(128, 10))
    assert count_params(model) == hand
    classic = build_model(cfg_for("cnn", cnn_channels=k), (1, 28, 28), 10)
    assert count_params(classic) == conv(1, k, 3) + conv(k, 2 * k, 3) \
        + lin(2 * k * 12 * 12, 128) + lin(128, 10)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_cnn_groupnorm_names_the_groups_that_fit():
    with pytest.raises(ConfigError) as e:
        TrainConfig(dataset="mnist", model="cnn", norm="group", cnn_channels=12, norm_groups=8)
    msg = str(e.value)
    assert "12 and 24 channels" in msg and "1, 2, 3, 4, 6, 12" in msg
    model = build_model(cfg_for("cnn", norm="group", cnn_channels=12, norm_groups=6),
                        (1, 28, 28), 10)
    assert [m.num_groups for m in model.modules() if isinstance(m, nn.GroupNorm)] == [6, 6]


@pytest.mark.parametrize("k", [0, 513])
def test_cnn_channels_out_of_range_is_refused(k):
    with pytest.raises(ConfigError) as e:
        TrainConfig(model="cnn", dataset="mnist", cnn_channels=k)
    assert any("cnn_channels" in names for names, _ in e.value.problems)


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 32, 32)], ids=str)
def test_lenet5_count_and_paper_maps(shape):
    model = build_model(cfg_for("lenet5"), shape, 10)
    hand = conv(1, 6, 5) + conv(6, 16, 5) + lin(16 * 5 * 5, 120) + lin(120, 84) + lin(84, 10)
    assert count_params(model) == hand == 61_706  # 28x28 padded to the paper's 32x32
    rows = {r.name: r.output_shape for r in model_summary(model, shape)}
    assert rows["conv1"] == (6, 28, 28) and rows["pool2"] == (16, 5, 5)


def resnet_hand_count(cin: int, w: int, depth: int, out: int) -> int:
    bn = 2  # BatchNorm: weight and bias per channel
    total, c = conv(cin, w, 3, False) + bn * w, w
    for cout in (w, 2 * w, 4 * w):
        for b in range(depth):
            src = c if b == 0 else cout
            total += conv(src, cout, 3, False) + conv(cout, cout, 3, False) + 2 * bn * cout
            if src != cout:  # 1x1 projection shortcut + its BN
                total += conv(src, cout, 1, False) + bn * cout
        c = cout
    return total + lin(4 * w, out)


def test_resnet20_count():
    model = build_model(cfg_for("resnet", width=16, depth=3), (3, 32, 32), 10)
    assert count_params(model) == resnet_hand_count(3, 16, 3, 10) == 272_474  # paper: 0.27M
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) + 1 == 20  # 19 3x3 convs + the Linear: ResNet-20


def test_count_params_trainable_only():
    model = build_model(cfg_for("mlp", width=5, depth=2), (2,), 3)
    model.head.weight.requires_grad_(False)
    assert count_params(model, trainable_only=True) == 63 - 15
    rows = model_summary(model, (2,))
    assert rows[-1].params == 18 and rows[-1].trainable == 3


# ---------------------------------------------------------------- dropout / init rules
def test_cnn_dropout_classic_unless_overridden():
    ps = [m.p for m in build_model(cfg_for("cnn"), (1, 28, 28), 10).modules()
          if isinstance(m, nn.Dropout)]
    assert ps == [0.25, 0.5]
    ps = [m.p for m in build_model(cfg_for("cnn", dropout=0.1), (1, 28, 28), 10).modules()
          if isinstance(m, nn.Dropout)]
    assert ps == [0.1, 0.1]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_fit_check_does_not_touch_the_rng(name):
    """The trainer seeds right before build_model: the meta-device size check must not draw."""
    cfg, shape = cfg_for(name), (3, 32, 32)
    torch.manual_seed(3)
    check_model_fits(cfg, shape, 10)
    after_check = torch.randn(4)
    torch.manual_seed(3)
    assert torch.equal(after_check, torch.randn(4))
    torch.manual_seed(3)
    a = build_model(cfg, shape, 10)
    torch.manual_seed(3)
    b = MODELS[name](cfg, shape, 10)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert all(p.device.type == "cpu" and p.std() > 0 for p in a.parameters() if p.dim() > 1)


# ---------------------------------------------------------------- refused combinations
def unchecked(**fields) -> TrainConfig:
    """A TrainConfig with `fields` forced past validation: tests the model check on its own."""
    cfg = TrainConfig()
    for name, value in fields.items():
        object.__setattr__(cfg, name, value)
    return cfg


FOLDER = {"dataset": "image_folder", "image_folder": "pics"}
# (config fields, input shape, field the message must name, TrainConfig itself refuses it)
IMPOSSIBLE = [
    ({"model": "cnn", "dataset": "spiral"}, (2,), "model", True),
    ({"model": "resnet", "dataset": "csv", "csv_path": "t.csv"}, (7,), "model", True),
    ({"model": "cnn", "dataset": "mnist"}, (64,), "model", False),  # shape from elsewhere
    ({"model": "lenet5", "dataset": "digits"}, (1, 8, 8), "model", True),
    ({"model": "lenet5", **FOLDER, "image_size": 8}, (3, 8, 8), "image_size", True),
    ({"model": "lenet5", "dataset": "mnist", "norm": "batch"}, (1, 28, 28), "norm", True),
    ({"model": "resnet", "dataset": "cifar10", "norm": "layer"}, (3, 32, 32), "norm", True),
    ({"model": "cnn", "dataset": "mnist", "norm": "group", "norm_groups": 3}, (1, 28, 28),
     "norm_groups", True),
    ({"model": "cnn", "dataset": "mnist", "grad_checkpointing": True}, (1, 28, 28),
     "grad_checkpointing", True),
    ({"model": "lenet5", "dataset": "mnist", "grad_checkpointing": True}, (1, 28, 28),
     "grad_checkpointing", True),
    ({"model": "mlp", "norm": "group", "width": 10, "norm_groups": 4}, (2,), "norm_groups", True),
    # parameter budget: only the model check (it builds on the meta device) knows
    ({"model": "mlp", "width": 4096, "depth": 64}, (2,), "width", False),
    ({"model": "cnn", **FOLDER, "image_size": 256}, (3, 256, 256), "image_size", False),
]


@pytest.mark.parametrize("fields,shape,field,at_config", IMPOSSIBLE)
def test_impossible_combinations_name_the_field(fields, shape, field, at_config):
    if at_config:  # refused as early as possible: the config cannot be made
        with pytest.raises(ConfigError) as e:
            TrainConfig(**fields)
        assert any(field in names for names, _ in e.value.problems)
    else:
        TrainConfig(**fields)
    cfg = unchecked(**fields)
    for call in (check_model_fits, build_model):
        with pytest.raises(ValueError) as e:
            call(cfg, shape, 10)
        assert field in e.value.fields and field in str(e.value)
        assert len(e.value.problems) == len({m for _, m in e.value.problems})  # no repeats


def test_groupnorm_that_divides_builds():
    model = build_model(cfg_for("mlp", norm="group", width=12, norm_groups=4), (2,), 3)
    assert [m.num_groups for m in model.modules() if isinstance(m, nn.GroupNorm)] == [4, 4]


def test_param_budget_allows_the_big_but_sane():
    check_model_fits(cfg_for("cnn", norm="batch"), (3, 256, 256), 10)
    check_model_fits(cfg_for("mlp", width=2048, depth=8), (3, 32, 32), 10)
    assert MAX_PARAMS == 100_000_000


def test_bad_shapes_and_outputs_are_refused():
    with pytest.raises(ValueError, match="num_outputs"):
        build_model(cfg_for("mlp"), (2,), 0)
    with pytest.raises(ValueError, match="shape"):
        build_model(cfg_for("mlp"), (1, 28), 10)
