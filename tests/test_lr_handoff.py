"""'Use in training': schedules become train_<field> query params the training config accepts."""

from __future__ import annotations

import pytest
import torch

from core import schedulers as engine
from core.config import TrainConfig
from core.lr_curves import record_curve
from core.lr_handoff import from_train_params, handoff_notes, to_train_params
from ui.state import parse

WARMUP = {"kind": "LinearLR", "params": {"start_factor": 0.2, "total_iters": 3}}
MAPPABLE = [
    ({"kind": "StepLR", "params": {"step_size": 4, "gamma": 0.5}}, {},
     {"scheduler": "step", "step_size": 4, "gamma": 0.5}),
    ({"kind": "MultiStepLR", "params": {"milestones": [3, 7]}}, {},
     {"scheduler": "multistep", "milestones": (3, 7), "gamma": 0.1}),
    ({"kind": "ExponentialLR", "params": {"gamma": 0.8}}, {},
     {"scheduler": "exponential", "gamma": 0.8}),
    ({"kind": "CosineAnnealingLR", "params": {"T_max": 12, "eta_min": 0.001}}, {},
     {"scheduler": "cosine", "t_max": 12, "eta_min": 0.001}),
    ({"kind": "CosineAnnealingWarmRestarts", "params": {"T_0": 3, "T_mult": 2}},
     {"step_every": "batch"}, {"scheduler": "cosine_warm_restarts", "t_0": 3, "t_mult": 2}),
    ({"kind": "OneCycleLR", "params": {"max_lr": 0.4, "three_phase": True,
                                       "pct_start": 0.2}}, {},
     {"scheduler": "onecycle", "max_lr": 0.4, "three_phase": True, "pct_start": 0.2}),
    ({"kind": "CyclicLR", "params": {"mode": "exp_range", "step_size_up": 7}}, {},
     {"scheduler": "cyclic", "cyclic_mode": "exp_range", "step_size_up": 7, "base_lr": 0.01}),
    ({"kind": "LinearLR", "params": {"start_factor": 1 / 3}}, {},
     {"scheduler": "linear", "start_factor": 1 / 3, "end_factor": 1.0, "total_iters": 10}),
    ({"kind": "PolynomialLR", "params": {"power": 0.5}}, {},
     {"scheduler": "polynomial", "power": 0.5, "total_iters": 30}),
    ({"kind": "ReduceLROnPlateau", "params": {"mode": "max", "patience": 4}}, {},
     {"scheduler": "plateau", "plateau_metric": "val_acc", "plateau_patience": 4}),
    ({"kind": "SequentialLR", "params": {"milestones": [3]},
      "children": [WARMUP, {"kind": "CosineAnnealingLR", "params": {"T_max": 17}}]},
     {"steps_per_epoch": 10},
     {"scheduler": "cosine", "t_max": 20, "warmup_steps": 30, "warmup_start_factor": 0.2}),
    ({"kind": "SequentialLR", "params": {"milestones": [3]},
      "children": [WARMUP, {"kind": "OneCycleLR", "params": {}}]}, {"step_every": "batch"},
     {"scheduler": "onecycle", "warmup_steps": 3}),
]


@pytest.mark.parametrize("spec, run, expected", MAPPABLE,
                         ids=[m[0]["kind"] + str(i) for i, m in enumerate(MAPPABLE)])
def test_mapping_parses_into_train_config(spec, run, expected):
    run = {"lr": 0.05, "epochs": 20, **run}
    params = to_train_params(spec, run)
    assert all(k.startswith("train_") and isinstance(v, str) for k, v in params.items())
    cfg = TrainConfig.from_dict(from_train_params(params))
    assert cfg.lr == 0.05 and cfg.epochs == 20
    for name, value in expected.items():
        assert getattr(cfg, name) == value, name
    # the training page parses with ui.state.parse against each field's default: same values
    defaults = TrainConfig()
    typed = {k.removeprefix("train_"): parse(v, getattr(defaults, k.removeprefix("train_")))
             for k, v in params.items()}
    assert TrainConfig.from_dict(typed) == cfg


def test_per_epoch_curve_is_what_the_engine_runs():
    spec = {"kind": "MultiStepLR", "params": {"milestones": [3, 7], "gamma": 0.5}}
    run = {"epochs": 10, "steps_per_epoch": 4}
    cfg = TrainConfig.from_dict(from_train_params(to_train_params(spec, run)))
    engine_lrs = engine.preview_lr(cfg, steps_per_epoch=4)[::4]  # one value per epoch
    assert engine_lrs == record_curve(spec, run).lr


def test_onecycle_curve_is_what_the_engine_runs():
    spec = {"kind": "OneCycleLR", "params": {"max_lr": 0.3, "cycle_momentum": False}}
    run = {"epochs": 5, "steps_per_epoch": 6}
    cfg = TrainConfig.from_dict(from_train_params(to_train_params(spec, run)))
    assert engine.preview_lr(cfg, steps_per_epoch=6) == record_curve(spec, run).lr
    assert torch.is_tensor(torch.tensor(0))  # (engine imported torch: the real schedulers)


@pytest.mark.parametrize("spec, run, fragment", [
    ({"kind": "ConstantLR", "params": {"factor": 0.5}}, {}, "Nearest: LinearLR"),
    ({"kind": "LambdaLR", "params": {}}, {}, "can't carry a formula"),
    ({"kind": "MultiplicativeLR", "params": {"lr_lambda": "0.93"}}, {},
     "ExponentialLR with gamma=0.93"),
    ({"kind": "MultiplicativeLR", "params": {}}, {}, "ExponentialLR for gamma ** epoch"),
    ({"kind": "ChainedScheduler", "params": {},
      "children": [WARMUP, {"kind": "StepLR", "params": {}}]}, {}, "SequentialLR of the same"),
    ({"kind": "ChainedScheduler", "params": {},
      "children": [{"kind": "StepLR", "params": {}}] * 3}, {}, "not a chain"),
    ({"kind": "StepLR", "params": {}}, {"step_every": "batch"}, "once per epoch"),
    ({"kind": "OneCycleLR", "params": {}}, {"step_every": "epoch"}, "after every batch"),
    ({"kind": "CyclicLR", "params": {"scale_fn": "1 / x"}}, {}, "scale_fn"),
    ({"kind": "CyclicLR", "params": {"step_size_down": 3}}, {}, "symmetric"),
    ({"kind": "CyclicLR", "params": {"base_lr": 0.0}}, {}, "lr / 10"),
    ({"kind": "ReduceLROnPlateau", "params": {"threshold_mode": "abs"}}, {}, "rel"),
    ({"kind": "CosineAnnealingWarmRestarts", "params": {"T_0": 7, "epoch_fraction": False}},
     {"step_every": "batch", "steps_per_epoch": 5}, "whole number"),
    ({"kind": "SequentialLR", "params": {"milestones": [3]},
      "children": [{"kind": "StepLR", "params": {}}, WARMUP]}, {}, "the first a LinearLR"),
    ({"kind": "SequentialLR", "params": {"milestones": [3]},
      "children": [{"kind": "LinearLR", "params": {"end_factor": 0.5}}, WARMUP]}, {},
     "end_factor to 1"),
    ({"kind": "ExponentialLR", "params": {"gamma": 1.5}}, {}, "training page would refuse"),
    ({"kind": "CosineAnnealingLR", "params": {"eta_min": 0.5}}, {"lr": 0.1}, "eta_min"),
])
def test_unsupported_schedules_are_refused_with_the_nearest(spec, run, fragment):
    with pytest.raises(ValueError) as info:
        to_train_params(spec, run)
    assert fragment in str(info.value), str(info.value)


def test_notes_say_where_training_differs():
    seq = {"kind": "SequentialLR", "params": {"milestones": [3]},
           "children": [WARMUP, {"kind": "StepLR", "params": {}}]}
    notes = " ".join(handoff_notes(seq, {}))
    assert "multiplies StepLR from the first step" in notes and "decays come 3 epochs" in notes
    assert any("momentum" in n for n in handoff_notes({"kind": "OneCycleLR", "params": {}}))
    assert handoff_notes({"kind": "StepLR", "params": {}}) == []
    restarts = {"kind": "CosineAnnealingWarmRestarts", "params": {"T_0": 10,
                                                                  "epoch_fraction": False}}
    params = to_train_params(restarts, {"step_every": "batch", "steps_per_epoch": 5})
    assert params["train_t_0"] == "2"


def test_floats_travel_exactly():
    spec = {"kind": "LinearLR", "params": {"start_factor": 1 / 3}}
    assert from_train_params(to_train_params(spec))["start_factor"] == 1 / 3
