"""The "PyTorch code" snippet runs and reproduces exactly the curve the page draws."""

from __future__ import annotations

import warnings

import pytest

from core.lr_code import pytorch_code
from core.lr_curves import record_curve
from core.lr_params import DEFAULT_CHILDREN, KINDS


def run_snippet(code: str) -> dict:
    ns: dict = {}
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        exec(compile(code, "<snippet>", "exec"), ns)  # the test runs the app's generated code
    return ns


def spec_for(kind: str) -> dict:
    spec = {"kind": kind, "params": {}}
    if kind in ("SequentialLR", "ChainedScheduler"):
        spec["children"] = [dict(c) for c in DEFAULT_CHILDREN[:2]]
    return spec


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("run", [
    {"epochs": 6, "steps_per_epoch": 3},
    {"epochs": 4, "steps_per_epoch": 5, "step_every": "batch", "optimizer": "adam",
     "order": "scheduler_first", "momentum": 0.7},
], ids=["defaults", "adam-batch-wrong-order"])
def test_snippet_reproduces_the_curve(kind, run, capsys):
    spec = spec_for(kind)
    ns = run_snippet(pytorch_code(spec, run))
    curve = record_curve(spec, run)
    assert ns["lrs"] == curve.lr and ns["momenta"] == curve.momentum
    assert "steps, first LRs" in capsys.readouterr().out


@pytest.mark.parametrize("spec", [
    {"kind": "LambdaLR", "params": {"lr_lambda": "min(1, step / 3) * exp(-epoch / 9)"}},
    {"kind": "CyclicLR", "params": {"scale_fn": "0.5 ** (x - 1)", "scale_mode": "cycle",
                                    "step_size_up": 3, "step_size_down": 5}},
    {"kind": "CosineAnnealingWarmRestarts", "params": {"T_0": 2, "T_mult": 2}},
    {"kind": "OneCycleLR", "params": {"total_steps": 40, "anneal_strategy": "linear",
                                      "cycle_momentum": False}},
    {"kind": "ReduceLROnPlateau", "params": {"mode": "max", "cooldown": 2},
     "metric": {"shape": "noisy", "noise": 0.05, "seed": 4}},
])
def test_special_arguments(spec):
    run = {"epochs": 8, "steps_per_epoch": 5, "step_every": "batch"}
    code = pytorch_code(spec, run)
    assert ns_equal(code, spec, run)
    if spec["kind"] == "LambdaLR":
        assert "import math" in code and "lambda epoch: min(1, epoch / 3)" in code
    if spec["kind"] == "CosineAnnealingWarmRestarts":
        assert "scheduler.step(epoch + (batch + 1) / steps_per_epoch)" in code


def ns_equal(code, spec, run):
    return run_snippet(code)["lrs"] == record_curve(spec, run).lr


def test_torch_defaults_are_left_out():
    code = pytorch_code({"kind": "StepLR", "params": {"step_size": 10, "gamma": 0.1}}, {})
    assert "lr_scheduler.StepLR(optimizer, step_size=10)" in code
    code = pytorch_code({"kind": "CyclicLR", "params": {}}, {})
    assert "gamma" not in code.split("CyclicLR(")[1].split("\n")[0]  # not read in triangular


def test_onecycle_overrun_snippet_raises_like_torch():
    spec = {"kind": "OneCycleLR", "params": {"total_steps": 10}}
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        run_snippet(pytorch_code(spec, {"epochs": 5, "steps_per_epoch": 4}))
