"""Every curve the page draws equals stepping the torch scheduler by hand in a plain loop."""

from __future__ import annotations

import math
import re
import warnings

import pytest
import torch
from torch.optim import lr_scheduler as L

from core.lr_curves import MAX_STEPS, record_curve
from core.lr_params import KINDS, PARAMS, check_spec, defaults


def hand_loop(make, n, *, lr=0.1, adam=False, momentum=0.9, step=None, wrong_order=False):
    """The loop a user writes: read the LR, optimizer.step(), scheduler.step()."""
    w = torch.nn.Parameter(torch.zeros(2))
    opt = (torch.optim.Adam([w], lr=lr, betas=(momentum, 0.999)) if adam
           else torch.optim.SGD([w], lr=lr, momentum=momentum))
    sched = make(opt)
    lrs, moms = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            if wrong_order:
                sched.step()
            g = opt.param_groups[0]
            lrs.append(g["lr"])
            moms.append(g["betas"][0] if adam else g["momentum"])
            opt.step()
            if not wrong_order:
                (step or (lambda s, i: s.step()))(sched, i)
    return lrs, moms


# (page spec params, the same scheduler written out by hand)
CASES = {
    "StepLR": ({"step_size": 7, "gamma": 0.3}, lambda o: L.StepLR(o, step_size=7, gamma=0.3)),
    "MultiStepLR": ({"milestones": [3, 8, 9], "gamma": 0.5},
                    lambda o: L.MultiStepLR(o, milestones=[3, 8, 9], gamma=0.5)),
    "ExponentialLR": ({"gamma": 0.87}, lambda o: L.ExponentialLR(o, gamma=0.87)),
    "CosineAnnealingLR": ({"T_max": 9, "eta_min": 0.001},
                          lambda o: L.CosineAnnealingLR(o, T_max=9, eta_min=0.001)),
    "CosineAnnealingWarmRestarts": ({"T_0": 3, "T_mult": 2, "eta_min": 0.01},
                                    lambda o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                                            eta_min=0.01)),
    "OneCycleLR": ({"max_lr": 0.5, "total_steps": 25, "anneal_strategy": "linear",
                    "three_phase": True, "pct_start": 0.25},
                   lambda o: L.OneCycleLR(o, max_lr=0.5, total_steps=25,
                                          anneal_strategy="linear", three_phase=True,
                                          pct_start=0.25)),
    "CyclicLR": ({"base_lr": 0.01, "max_lr": 0.2, "step_size_up": 4, "step_size_down": 2,
                  "mode": "exp_range", "gamma": 0.97},
                 lambda o: L.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=4,
                                      step_size_down=2, mode="exp_range", gamma=0.97)),
    "LinearLR": ({"start_factor": 0.2, "end_factor": 0.9, "total_iters": 6},
                 lambda o: L.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=6)),
    "ConstantLR": ({"factor": 0.3, "total_iters": 4},
                   lambda o: L.ConstantLR(o, factor=0.3, total_iters=4)),
    "PolynomialLR": ({"total_iters": 12, "power": 1.7},
                     lambda o: L.PolynomialLR(o, total_iters=12, power=1.7)),
    "MultiplicativeLR": ({"lr_lambda": "0.9 if epoch < 10 else 1.05"},
                         lambda o: L.MultiplicativeLR(
                             o, lr_lambda=lambda e: 0.9 if e < 10 else 1.05)),
    "LambdaLR": ({"lr_lambda": "0.5 * (1 + cos(pi * epoch / 20))"},
                 lambda o: L.LambdaLR(o, lr_lambda=lambda e: 0.5 * (1 + math.cos(math.pi * e
                                                                                   / 20)))),
}
RUN = {"epochs": 20, "steps_per_epoch": 3, "step_every": "epoch"}


@pytest.mark.parametrize("kind", list(CASES))
def test_curve_equals_hand_loop(kind):
    params, make = CASES[kind]
    curve = record_curve({"kind": kind, "params": params}, RUN)
    lrs, moms = hand_loop(make, 20)
    assert curve.lr == lrs and curve.momentum == moms
    assert curve.x_epochs == list(range(20)) and curve.x_batches == list(range(0, 60, 3))


@pytest.mark.parametrize("kind", ["OneCycleLR", "CyclicLR", "StepLR", "LambdaLR"])
@pytest.mark.parametrize("adam", [False, True])
def test_per_batch_with_sgd_and_adam(kind, adam):
    params, make = CASES[kind]
    if kind == "OneCycleLR":
        params = {**params, "total_steps": 60}
        make = lambda o: L.OneCycleLR(o, max_lr=0.5, total_steps=60,  # noqa: E731
                                      anneal_strategy="linear", three_phase=True,
                                      pct_start=0.25)
    run = {**RUN, "step_every": "batch", "optimizer": "adam" if adam else "sgd",
           "momentum": 0.8}
    curve = record_curve({"kind": kind, "params": params}, run)
    lrs, moms = hand_loop(make, 60, adam=adam, momentum=0.8)
    assert curve.lr == lrs and curve.momentum == moms
    assert curve.momentum_name == ("beta1" if adam else "momentum")
    assert curve.x_batches == list(range(60)) and curve.x_epochs[3] == 1.0
    if kind in ("OneCycleLR", "CyclicLR"):
        assert curve.cycles_momentum  # momentum / beta1 really moves, inversely to the LR
        hi = max(range(60), key=lambda i: curve.lr[i])
        assert curve.momentum[hi] == min(curve.momentum)


def test_onecycle_from_epochs_and_steps_per_epoch():
    curve = record_curve({"kind": "OneCycleLR", "params": {"cycle_momentum": False}},
                         {"epochs": 4, "steps_per_epoch": 5})
    lrs, moms = hand_loop(lambda o: L.OneCycleLR(o, max_lr=0.1, epochs=4, steps_per_epoch=5,
                                                 cycle_momentum=False), 20)
    assert curve.lr == lrs and curve.step_every == "batch" and not curve.cycles_momentum


def test_warm_restarts_with_fractional_epochs():
    spec = {"kind": "CosineAnnealingWarmRestarts", "params": {"T_0": 2, "T_mult": 2}}
    curve = record_curve(spec, {"epochs": 6, "steps_per_epoch": 4, "step_every": "batch"})
    lrs, _ = hand_loop(lambda o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2), 24,
                       step=lambda s, i: s.step((i + 1) / 4))
    assert curve.lr == lrs
    plain = record_curve({**spec, "params": {**spec["params"], "epoch_fraction": False}},
                         {"epochs": 6, "steps_per_epoch": 4, "step_every": "batch"})
    assert plain.lr == hand_loop(lambda o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2),
                                 24)[0]


def test_cyclic_custom_scale_fn():
    spec = {"kind": "CyclicLR", "params": {"base_lr": 0.0, "max_lr": 1.0, "step_size_up": 2,
                                           "scale_fn": "1 / x", "scale_mode": "cycle"}}
    curve = record_curve(spec, {"epochs": 4, "steps_per_epoch": 4})
    lrs, _ = hand_loop(lambda o: L.CyclicLR(o, 0.0, 1.0, step_size_up=2, scale_fn=lambda x: 1 / x,
                                            scale_mode="cycle"), 16)
    assert curve.lr == lrs and max(curve.lr[4:8]) == 0.5


def children():
    return [{"kind": "LinearLR", "params": {"start_factor": 0.25, "total_iters": 4}},
            {"kind": "ExponentialLR", "params": {"gamma": 0.8}}]


def test_sequential_equals_hand_loop():
    spec = {"kind": "SequentialLR", "params": {"milestones": [4]}, "children": children()}
    curve = record_curve(spec, RUN)

    def make(o):
        a = L.LinearLR(o, start_factor=0.25, total_iters=4)
        b = L.ExponentialLR(o, gamma=0.8)
        return L.SequentialLR(o, [a, b], milestones=[4])
    assert curve.lr == hand_loop(make, 20)[0]


def test_chained_equals_hand_loop():
    spec = {"kind": "ChainedScheduler", "params": {}, "children": children()}
    curve = record_curve(spec, RUN)

    def make(o):
        return L.ChainedScheduler([L.LinearLR(o, start_factor=0.25, total_iters=4),
                                   L.ExponentialLR(o, gamma=0.8)], optimizer=o)
    assert curve.lr == hand_loop(make, 20)[0]


def test_every_kind_records_with_defaults():
    for kind in KINDS:
        spec = {"kind": kind, "params": {}}
        if kind in ("SequentialLR", "ChainedScheduler"):
            spec["children"] = children()
            spec["params"] = {"milestones": [4]} if kind == "SequentialLR" else {}
        curve = record_curve(spec, {"epochs": 12, "steps_per_epoch": 2})
        assert len(curve.lr) in (12, 24) and all(math.isfinite(v) for v in curve.lr), kind


def test_scheduler_before_optimizer_is_caught_and_explained():
    params, make = CASES["StepLR"]
    curve = record_curve({"kind": "StepLR", "params": params}, {**RUN, "order": "scheduler_first"})
    assert curve.lr == hand_loop(make, 20, wrong_order=True)[0]
    note = next(n for n in curve.notes if n.source == "torch")
    assert "before `optimizer.step()`" in note.raw and "skipped" in note.text
    right = record_curve({"kind": "StepLR", "params": params}, RUN)
    assert curve.lr[:-1] == right.lr[1:]  # the whole schedule shifted by one step
    assert not [n for n in right.notes if n.source == "torch"]


def test_onecycle_past_total_steps_is_caught_and_explained():
    curve = record_curve({"kind": "OneCycleLR", "params": {"total_steps": 10}},
                         {"epochs": 5, "steps_per_epoch": 4})
    assert len(curve.lr) == 11  # torch raises at the 11th scheduler.step()
    note = next(n for n in curve.notes if "total_steps" in n.title)
    assert "Tried to step 11 times" in note.raw and "crash" in note.text
    with pytest.raises(ValueError, match="Tried to step"):
        hand_loop(lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=10), 20)


@pytest.mark.parametrize("total, pct, three", [(20, 0.05, False), (10, 0.1, True),
                                               (4, 0.25, False), (2, 0.5, False)])
def test_onecycle_warm_up_of_zero_steps_is_explained(total, pct, three):
    """torch divides by the warm-up's length (pct_start x total_steps - 1, from step 0) while
    it builds the scheduler: the page says why and offers a pct_start that works."""
    params = {"total_steps": total, "pct_start": pct, "three_phase": three}
    run = {"epochs": total, "steps_per_epoch": 1, "step_every": "batch"}
    with pytest.raises(ZeroDivisionError):  # what torch itself does
        hand_loop(lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=total, pct_start=pct,
                                         three_phase=three), 1)
    with pytest.raises(ValueError) as info:
        record_curve({"kind": "OneCycleLR", "params": params}, run)
    text = str(info.value)
    assert f"pct_start {pct:g} x total_steps {total} = 1" in text and "length zero" in text
    suggested = float(re.search(r"e\.g\. ([0-9.]+)", text).group(1))
    curve = record_curve({"kind": "OneCycleLR", "params": {**params, "pct_start": suggested}},
                         run)
    assert len(curve.lr) == total
    if total > 2:  # a one-step warm-up: the second step trains at max_lr
        assert curve.lr[1] == pytest.approx(0.1)


@pytest.mark.parametrize("params, epochs", [
    ({"mode": "triangular2", "step_size_up": 5}, 400),  # 2.0 ** (cycle - 1) past cycle 1024
    ({"mode": "exp_range", "gamma": 2.0, "step_size_up": 10}, 40),  # 2.0 ** step
])
def test_cyclic_overflow_in_torch_stops_the_curve_with_a_note(params, epochs):
    run = {"epochs": epochs, "steps_per_epoch": 50}
    curve = record_curve({"kind": "CyclicLR", "params": params}, run)
    with pytest.raises(OverflowError):  # what torch itself does, one step further
        hand_loop(lambda o: L.CyclicLR(o, base_lr=0.001, max_lr=0.01, **params),
                  len(curve.lr) + 1)
    note = next(n for n in curve.notes if "overflowed" in n.title)
    assert f"at step {len(curve.lr) - 1}" in note.title and "OverflowError" in note.text


def test_onecycle_empty_last_phase_is_explained():
    run = {"epochs": 20, "steps_per_epoch": 1, "step_every": "batch"}
    curve = record_curve({"kind": "OneCycleLR", "params": {"total_steps": 20, "pct_start": 1.0}},
                         run)
    note = next(n for n in curve.notes if "divided by zero" in n.title)
    assert "pct_start = 1" in note.text and "after the last batch" in note.text
    assert len(curve.lr) == 20  # every batch trained; only the final step() fails


def test_pitfall_notes():
    cos = record_curve({"kind": "CosineAnnealingLR", "params": {"T_max": 5}}, RUN)
    assert any("comes back up" in n.title for n in cos.notes)
    short = record_curve({"kind": "OneCycleLR", "params": {}}, {**RUN, "step_every": "epoch"})
    assert any("cut short" in n.title for n in short.notes)
    seq = record_curve({"kind": "SequentialLR", "params": {"milestones": [50]},
                        "children": children()}, RUN)
    assert any("beyond the run" in n.title for n in seq.notes)
    neg = record_curve({"kind": "LambdaLR", "params": {"lr_lambda": "1 - epoch / 10"}}, RUN)
    assert any("sensible range" in n.title for n in neg.notes)


@pytest.mark.parametrize("spec, run, fragment", [
    ({"kind": "Nope", "params": {}}, {}, "choose one of"),
    ({"kind": "StepLR", "params": {"gamma": 0}}, {}, "gamma must be in (0"),
    ({"kind": "StepLR", "params": {"step_size": 2.5}}, {}, "whole number"),
    ({"kind": "StepLR", "params": {"bogus": 1}}, {}, "no parameter"),
    ({"kind": "MultiStepLR", "params": {"milestones": [5, 3]}}, {}, "increasing"),
    ({"kind": "LambdaLR", "params": {"lr_lambda": "__import__('os')"}}, {}, "not allowed"),
    ({"kind": "LambdaLR", "params": {"lr_lambda": "1 / (epoch - 2)"}}, {}, "division by zero"),
    ({"kind": "SequentialLR", "params": {"milestones": []}, "children": children()}, {},
     "one milestone fewer"),
    ({"kind": "SequentialLR", "params": {"milestones": [3]},
      "children": [{"kind": "ReduceLROnPlateau", "params": {}}] * 2}, {}, "can't be used"),
    ({"kind": "StepLR", "params": {}}, {"epochs": 1000, "steps_per_epoch": 100,
                                        "step_every": "batch"}, f"at most {MAX_STEPS}"),
    ({"kind": "StepLR", "params": {}}, {"lr": -1}, "lr must be"),
])
def test_bad_specs_are_refused_with_a_message(spec, run, fragment):
    with pytest.raises(ValueError) as info:
        record_curve(spec, run)
    assert fragment in str(info.value), str(info.value)


def test_every_parameter_has_a_default_that_checks():
    for kind in KINDS:
        assert {p.name for p in PARAMS[kind]} == set(defaults(kind))
        spec = {"kind": kind, "params": {}}
        if kind in ("SequentialLR", "ChainedScheduler"):
            spec["children"] = children()
        assert check_spec(spec)["params"] == defaults(kind) | (
            {"milestones": [5]} if kind == "SequentialLR" else {})


def test_torchs_skipped_warm_restart_is_pointed_out():
    """torch's step(epoch) finds the cycle with int(math.log(243, 3)) == 4: epoch 121 (the
    start of cycle 5 for T_0=1, T_mult=3) lands at the end of cycle 4 instead."""
    run = {"epochs": 130, "steps_per_epoch": 2, "step_every": "batch"}
    params = {"T_0": 1, "T_mult": 3, "epoch_fraction": True}
    curve = record_curve({"kind": "CosineAnnealingWarmRestarts", "params": params}, run)
    assert curve.lr[242] == 0.0  # torch's value at step(121.0): eta_min, not the base LR
    note = next(n for n in curve.notes if "skips the restart" in n.title)
    assert "epoch 121" in note.title and "4.999999999999999" in note.text
    plain = record_curve({"kind": "CosineAnnealingWarmRestarts",
                          "params": {**params, "epoch_fraction": False}}, run)
    assert not any("skips the restart" in n.title for n in plain.notes)
    assert plain.lr[121] == pytest.approx(0.1)  # step() counting restarts on time
    other = record_curve({"kind": "CosineAnnealingWarmRestarts",
                          "params": {**params, "T_mult": 2}}, run)
    assert not any("skips the restart" in n.title for n in other.notes)
