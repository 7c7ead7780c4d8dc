"""The ScheduleDriver steps each real torch scheduler exactly as stepping it by hand would."""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim import lr_scheduler as L

from core.config import SCHEDULERS, TrainConfig
from core.schedulers import PER_BATCH, PER_EPOCH, build_scheduler, cadence, preview_lr

E, S = 7, 5  # epochs, optimizer steps per epoch
METRICS = [1.0, 0.9, 0.95, 0.97, 0.99, 0.8, 0.85]  # a plateau-ish validation loss


def _opt(lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=lr)


def driven(cfg: TrainConfig, metrics=METRICS) -> list[float]:
    """LR of every step when the trainer's driver steps the scheduler."""
    opt = _opt(cfg.lr)
    d = build_scheduler(cfg, opt, S)
    lrs = []
    for e in range(cfg.epochs):
        for _ in range(S):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            d.after_batch()
        d.after_epoch(metrics[e])
    return lrs


# name -> (config fields, by-hand builder, stepped per "batch" / "epoch" / "restarts" / "plateau")
CASES = {
    "step": (dict(step_size=2, gamma=0.5), lambda o: L.StepLR(o, 2, 0.5), "epoch"),
    "multistep": (dict(milestones=(2, 4), gamma=0.3),
                  lambda o: L.MultiStepLR(o, [2, 4], 0.3), "epoch"),
    "exponential": (dict(gamma=0.8), lambda o: L.ExponentialLR(o, 0.8), "epoch"),
    "cosine": (dict(eta_min=0.001), lambda o: L.CosineAnnealingLR(o, T_max=E, eta_min=0.001),
               "epoch"),
    "cosine_warm_restarts": (dict(t_0=2, t_mult=2, eta_min=0.001),
                             lambda o: L.CosineAnnealingWarmRestarts(o, 2, 2, 0.001), "restarts"),
    "onecycle": (dict(max_lr=0.3, pct_start=0.25, three_phase=True),
                 lambda o: L.OneCycleLR(o, max_lr=0.3, total_steps=E * S, pct_start=0.25,
                                        three_phase=True, cycle_momentum=False), "batch"),
    "cyclic": (dict(base_lr=0.01, max_lr=0.2, step_size_up=3, cyclic_mode="triangular2"),
               lambda o: L.CyclicLR(o, 0.01, 0.2, step_size_up=3, mode="triangular2",
                                    cycle_momentum=False), "batch"),
    "linear": (dict(start_factor=0.25, end_factor=1.0, total_iters=3),
               lambda o: L.LinearLR(o, 0.25, 1.0, 3), "epoch"),
    "polynomial": (dict(total_iters=4, power=2.0), lambda o: L.PolynomialLR(o, 4, 2.0), "epoch"),
    "plateau": (dict(plateau_factor=0.5, plateau_patience=1, plateau_metric="val_loss"),
                lambda o: L.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=1), "plateau"),
}


def by_hand(build, how: str, lr: float = 0.1) -> list[float]:
    opt = _opt(lr)
    sched = build(opt)
    lrs = []
    for e in range(E):
        for i in range(S):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if how == "batch":
                sched.step()
            elif how == "restarts":
                sched.step(e + (i + 1) / S)
        if how == "epoch":
            sched.step()
        elif how == "plateau":
            sched.step(METRICS[e])
    return lrs


def test_every_scheduler_has_a_case_and_a_cadence():
    assert set(CASES) == set(SCHEDULERS) - {"none"}
    assert set(PER_BATCH) | set(PER_EPOCH) == set(CASES)
    assert cadence("none") == "none"


@pytest.mark.parametrize("name", sorted(CASES))
def test_driver_matches_stepping_torch_by_hand(name):
    fields, build, how = CASES[name]
    cfg = TrainConfig(scheduler=name, lr=0.1, epochs=E, **fields)
    got = driven(cfg)
    want = by_hand(build, how)
    assert len(got) == E * S
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert len(set(round(v, 12) for v in got)) > 1, "the schedule never changed the LR"
    assert cadence(name) == ("epoch" if how in ("epoch", "plateau") else "batch")


def test_warm_restarts_follow_the_closed_form_per_batch():
    """Batch j of epoch e trains at eta_min + (lr - eta_min)(1 + cos(pi T_cur / T_0)) / 2."""
    cfg = TrainConfig(scheduler="cosine_warm_restarts", lr=0.1, epochs=E, t_0=3, eta_min=0.01)
    got = driven(cfg)
    for t, lr in enumerate(got):
        t_cur = (t / S) % 3
        assert lr == pytest.approx(0.01 + 0.09 * (1 + math.cos(math.pi * t_cur / 3)) / 2)


def test_none_keeps_the_lr():
    assert driven(TrainConfig(scheduler="none", lr=0.05, epochs=E)) == [0.05] * (E * S)


@pytest.mark.parametrize("name", ["none", "step", "onecycle", "plateau", "cosine_warm_restarts"])
def test_warmup_multiplies_the_schedule_by_a_linear_ramp(name):
    fields = CASES[name][0] if name in CASES else {}
    base = TrainConfig(scheduler=name, lr=0.1, epochs=E, **fields)
    warm = base.replace(warmup_steps=8, warmup_start_factor=0.2)
    plain, warmed = driven(base), driven(warm)
    for t, (p, w) in enumerate(zip(plain, warmed, strict=True)):
        factor = 0.2 + 0.8 * min(t, 8) / 8  # LinearLR's value after t steps
        assert w == pytest.approx(p * factor, rel=1e-9), t
    assert warmed[0] == pytest.approx(plain[0] * 0.2)


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_round_trip_continues_the_same_curve(name):
    fields, _, _ = CASES[name]
    cfg = TrainConfig(scheduler=name, lr=0.1, epochs=E, warmup_steps=4, **fields)
    full = driven(cfg)
    opt = _opt()
    d = build_scheduler(cfg, opt, S)
    lrs = []
    for e in range(3):
        for _ in range(S):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            d.after_batch()
        d.after_epoch(METRICS[e])
    state, opt_state = d.state_dict(), opt.state_dict()
    opt2 = _opt()
    opt2.load_state_dict(opt_state)
    d2 = build_scheduler(cfg, opt2, S)
    d2.load_state_dict(state)
    for e in range(3, E):
        for _ in range(S):
            lrs.append(opt2.param_groups[0]["lr"])
            opt2.step()
            d2.after_batch()
        d2.after_epoch(METRICS[e])
    assert lrs == pytest.approx(full, rel=1e-12)


def test_preview_lr_is_the_driven_curve():
    cfg = TrainConfig(scheduler="onecycle", lr=0.1, epochs=E, max_lr=0.5, warmup_steps=3)
    assert preview_lr(cfg, S) == pytest.approx(driven(cfg))
    plateau = TrainConfig(scheduler="plateau", lr=0.1, epochs=E, plateau_patience=0)
    lrs = preview_lr(plateau, S)  # constant metric: every epoch after the first is "no better"
    assert lrs[0] == 0.1 and lrs[-1] < 0.1
    assert preview_lr(plateau, S, metrics=METRICS) == pytest.approx(driven(plateau))


def test_onecycle_holds_its_last_lr_instead_of_raising_past_the_end():
    cfg = TrainConfig(scheduler="onecycle", lr=0.1, epochs=2)
    opt = _opt()
    d = build_scheduler(cfg, opt, 3)
    for _ in range(10):  # more steps than 2 x 3
        opt.step()
        d.after_batch()
    assert math.isfinite(d.lr)


def test_onecycle_with_a_zero_length_phase_is_a_clear_error():
    cfg = TrainConfig(scheduler="onecycle", lr=0.1, epochs=2, pct_start=0.1)
    with pytest.raises(ValueError, match="pct_start") as info:
        build_scheduler(cfg, _opt(), 5)  # 0.1 x 10 steps = 1: a warm-up of zero length
    assert "length zero" in str(info.value) and "e.g. 0.2, a warm-up of one step" in str(info.value)
    build_scheduler(TrainConfig(scheduler="onecycle", lr=0.1, epochs=2, pct_start=0.2), _opt(), 5)


def test_onecycle_three_phase_with_an_empty_last_phase_finishes_the_run():
    """2 · pct_start · total = total + 1 leaves the third phase empty: the step after the
    final batch used to divide by zero and fail the run at its very end."""
    cfg = TrainConfig(scheduler="onecycle", lr=0.1, epochs=1, pct_start=0.55, three_phase=True)
    lrs = preview_lr(cfg, 10)  # 10 steps: 2 · 0.55 · 10 = 11 = 10 + 1
    torch_lrs = []
    opt = _opt()
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.max_lr or cfg.lr, total_steps=10,
                                                pct_start=0.55, three_phase=True)
    for _ in range(10):
        torch_lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched.last_epoch + 1 < 10:
            sched.step()
    assert lrs == pytest.approx(torch_lrs, rel=1e-12)
