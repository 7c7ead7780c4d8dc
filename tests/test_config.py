"""TrainConfig validation: every range and every combination rule, each naming its field(s)."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest
import torch

from core.config import TrainConfig, field_names
from core.validate import RANGES, ConfigError, check_data


def refused(fields: set[str], **kw) -> ConfigError:
    """Assert TrainConfig(**kw) is refused and the error names every field in `fields`."""
    with pytest.raises(ConfigError) as info:
        TrainConfig(**kw)
    err = info.value
    assert isinstance(err, ValueError)
    assert fields <= set(err.fields), (fields, err.fields, str(err))
    for f in fields:
        assert f in str(err), (f, str(err))
    return err


def test_defaults_are_valid_and_every_field_has_help():
    cfg = TrainConfig()
    for f in dataclasses.fields(cfg):
        assert f.metadata.get("help"), f.name
        assert f.metadata.get("group") in ("data", "model", "optim", "schedule", "run"), f.name


def test_every_numeric_field_has_a_range():
    numeric = {f.name for f in dataclasses.fields(TrainConfig)
               if f.type in ("int", "float")}
    assert numeric == set(RANGES)


@pytest.mark.parametrize("name", sorted(RANGES))
def test_out_of_range_values_are_refused_by_name(name):
    lo, hi, lo_inc, hi_inc = RANGES[name]
    is_int = isinstance(getattr(TrainConfig(), name), int)
    step = 1 if is_int else 0
    below = lo - step if lo_inc else lo
    above = hi + step if hi_inc else hi
    if is_int:
        below, above = int(below), int(above)
    if not is_int and lo_inc:
        below = lo - 1e-3
    if not is_int and hi_inc:
        above = hi * 1.001 + 1e-3
    refused({name}, **{name: below})
    refused({name}, **{name: above})


@pytest.mark.parametrize("name", sorted(n for n, r in RANGES.items() if r[2] or r[3]))
def test_inclusive_bounds_are_accepted(name):
    lo, hi, lo_inc, hi_inc = RANGES[name]
    kind = type(getattr(TrainConfig(), name))
    for v, ok in ((lo, lo_inc), (hi, hi_inc)):
        if ok:
            assert getattr(TrainConfig(**{name: kind(v)}), name) == v


@pytest.mark.parametrize("kw, fields", [
    (dict(lr="0.1"), {"lr"}),
    (dict(epochs=2.5), {"epochs"}),
    (dict(epochs=True), {"epochs"}),
    (dict(augment=1), {"augment"}),
    (dict(lr=float("nan")), {"lr"}),
    (dict(noise=float("inf")), {"noise"}),
    (dict(optimizer="lbfgs"), {"optimizer"}),
    (dict(dataset="imagenet"), {"dataset"}),
    (dict(milestones=("a",)), {"milestones"}),
    (dict(milestones=(5, 3)), {"milestones"}),
    (dict(milestones=(0, 3)), {"milestones"}),
    (dict(scheduler="multistep", milestones=()), {"milestones", "scheduler"}),
])
def test_wrong_types_and_choices(kw, fields):
    refused(fields, **kw)


def test_numbers_are_normalised():
    cfg = TrainConfig(lr=1, epochs=3.0, milestones=[2, 4])
    assert isinstance(cfg.lr, float) and isinstance(cfg.epochs, int)
    assert cfg.milestones == (2, 4)


@pytest.mark.parametrize("kw, fields", [
    (dict(dataset="csv"), {"csv_path"}),
    (dict(dataset="image_folder"), {"image_folder"}),
    (dict(model="cnn", dataset="spiral"), {"model", "dataset"}),
    (dict(model="resnet", dataset="csv", csv_path="x.csv"), {"model", "dataset"}),
    (dict(optimizer="sgd", nesterov=True, momentum=0.0), {"nesterov", "momentum"}),
    (dict(optimizer="sgd", nesterov=True, dampening=0.1), {"nesterov", "dampening"}),
    (dict(label_smoothing=0.1, loss="mse"), {"label_smoothing", "loss"}),
    (dict(dataset="regression"), {"loss", "dataset"}),
    (dict(dataset="regression", loss="bce_with_logits"), {"loss", "dataset"}),
    (dict(dataset="csv", csv_path="x.csv", csv_task="regression"), {"loss", "dataset"}),
    (dict(dataset="regression", loss="mse", early_stop_patience=3, early_stop_metric="val_acc"),
     {"early_stop_metric"}),
    (dict(dataset="regression", loss="mse", scheduler="plateau", plateau_metric="val_acc"),
     {"plateau_metric"}),
    (dict(loss="bce_with_logits", dataset="spiral"), {"loss", "dataset"}),
    (dict(loss="bce_with_logits", dataset="digits"), {"loss", "dataset"}),
    (dict(loss="bce_with_logits", dataset="blobs", blob_centers=3), {"loss", "dataset"}),
    (dict(norm="group", width=30, norm_groups=4), {"norm_groups", "width"}),
    (dict(scheduler="plateau", val_split=0.0), {"plateau_metric", "val_split"}),
    (dict(early_stop_patience=2, val_split=0.0), {"early_stop_metric", "val_split"}),
    (dict(early_stop_patience=2, early_stop_metric="val_acc", val_split=0.0),
     {"early_stop_metric", "val_split"}),
    (dict(scheduler="cyclic", base_lr=0.1, max_lr=0.05), {"base_lr", "max_lr"}),
    (dict(scheduler="cyclic", lr=0.1, base_lr=0.2), {"base_lr", "max_lr"}),
    (dict(scheduler="cosine", lr=0.01, eta_min=0.01), {"eta_min", "lr"}),
    (dict(scheduler="cosine_warm_restarts", lr=0.01, eta_min=0.1), {"eta_min", "lr"}),
    (dict(scheduler="plateau", lr=0.01, min_lr=0.1), {"min_lr", "lr"}),
    (dict(amp="fp16", device="cpu"), {"amp", "device"}),
    (dict(model="lenet5", dataset="digits"), {"model"}),  # 8x8 is too small for LeNet-5
    (dict(norm="batch", batch_size=1), {"norm", "batch_size"}),  # BatchNorm1d: no spread
])
def test_impossible_combinations_are_refused_by_name(kw, fields):
    refused(fields, **kw)


@pytest.mark.parametrize("kw", [
    dict(loss="bce_with_logits", dataset="moons"),
    dict(loss="bce_with_logits", dataset="blobs", blob_centers=2),
    dict(loss="bce_with_logits", dataset="spiral", spiral_arms=2),
    dict(loss="mse", dataset="spiral"),  # one-hot targets
    dict(loss="smooth_l1", dataset="digits", model="cnn"),
    dict(dataset="regression", loss="l1"),
    dict(early_stop_patience=2, early_stop_metric="train_loss", val_split=0.0),
    dict(scheduler="plateau", plateau_metric="train_loss", val_split=0.0),
    dict(optimizer="adam", nesterov=True, momentum=0.0),  # nesterov is SGD's setting only
    dict(optimizer="sgd", nesterov=True, momentum=0.9, dampening=0.0),
    dict(label_smoothing=0.2, loss="cross_entropy"),
    dict(model="cnn", dataset="image_folder", image_folder="pics.zip"),
    dict(amp="bf16", device="cpu"),
    dict(model="cnn", dataset="digits", norm="batch", batch_size=1),  # BatchNorm2d over H·W
])
def test_sensible_combinations_are_accepted(kw):
    cfg = TrainConfig(**kw)
    for k, v in kw.items():
        assert getattr(cfg, k) == v


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_missing_cuda_is_a_clear_message():
    err = refused({"device"}, device="cuda")
    assert "no CUDA GPU" in str(err) and "auto" in str(err)
    refused({"amp", "device"}, amp="fp16")  # auto resolves to the CPU here


def test_missing_mps_is_a_clear_message():
    if torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    assert "Apple" in str(refused({"device"}, device="mps"))


def test_all_problems_are_reported_at_once():
    err = refused({"lr", "epochs", "dropout"}, lr=-1.0, epochs=0, dropout=1.0)
    assert len(err.problems) == 3


def test_dict_and_json_round_trip():
    cfg = TrainConfig(dataset="moons", lr=0.3, milestones=(3, 7), scheduler="multistep")
    d = json.loads(json.dumps(cfg.to_dict()))
    assert d["milestones"] == [3, 7]
    assert TrainConfig.from_dict(d) == cfg
    assert list(cfg.to_dict()) == list(field_names())


def test_from_dict_refuses_unknown_keys_by_name():
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(ValueError, match="JSON object"):
        TrainConfig.from_dict([1, 2])  # type: ignore[arg-type]


def test_replace_validates():
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig().replace(batch_size=0)


def _bundle(task: str, classes: int, val: int = 10):
    return SimpleNamespace(task=task, num_classes=classes, val=[0] * val, name="my.csv")


def test_data_rules_checked_once_the_data_is_known():
    csv = TrainConfig(dataset="csv", csv_path="x.csv", loss="bce_with_logits")
    with pytest.raises(ConfigError, match="bce_with_logits.*3 classes"):
        check_data(csv, _bundle("classification", 3))
    check_data(csv, _bundle("classification", 2))
    with pytest.raises(ConfigError, match="regression"):
        check_data(TrainConfig(dataset="csv", csv_path="x.csv"), _bundle("regression", 1))
    stop = TrainConfig(dataset="csv", csv_path="x.csv", early_stop_patience=2)
    with pytest.raises(ConfigError, match="val_split"):
        check_data(stop, _bundle("classification", 2, val=0))
    with pytest.raises(ConfigError, match="only 1 class"):
        check_data(TrainConfig(dataset="csv", csv_path="x.csv"), _bundle("classification", 1))


def test_devices_resolve_and_describe_themselves():
    from core.device import amp_plan, describe_devices, resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="not a device"):
        resolve_device("tpu")
    entries = describe_devices()
    assert [e["name"] for e in entries] == ["auto", "cpu", "cuda", "mps"]
    assert all(isinstance(e["available"], bool) and e["label"] for e in entries)
    cpu = torch.device("cpu")
    from core.device import cpu_has_fast_bf16

    # measured: bf16 + channels_last ~2x faster for CNNs on an AMX CPU; MLPs stay fp32
    bf16 = torch.bfloat16 if cpu_has_fast_bf16() else None
    assert amp_plan("auto", cpu, "cnn") == (bf16, False)
    assert amp_plan("auto", cpu, "mlp") == (None, False)
    assert amp_plan("bf16", cpu, "mlp") == (torch.bfloat16, False)
    assert amp_plan("fp16", torch.device("cuda"), "cnn") == (torch.float16, True)
    assert amp_plan("auto", torch.device("cuda"), "mlp") == (torch.float16, True)


def test_whole_number_bounds_are_written_in_full():
    err = refused({"seed"}, seed=-1)
    assert "[0, 4294967295]" in str(err)
