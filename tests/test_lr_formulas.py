"""The formulas the page shows agree with what torch computes, over random settings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import lr_formulas as F
from core.lr_curves import record_curve
from core.lr_params import check_spec

SETTINGS = settings(max_examples=25, deadline=None)
gammas = st.floats(0.05, 1.0)
factors = st.floats(0.05, 1.0)


def check(kind, params, n=40, lr=0.1, total=0, per_batch=False, spe=1):
    run = {"lr": lr, "epochs": n // spe if per_batch else n, "steps_per_epoch": spe,
           "step_every": "batch" if per_batch else "epoch"}
    curve = record_curve({"kind": kind, "params": params}, run)
    p = check_spec({"kind": kind, "params": params})["params"]
    for t, got in enumerate(curve.lr):
        assert got == pytest.approx(F.lr_at(kind, p, lr, t, total), rel=1e-9, abs=1e-12), t
    return curve, p


@SETTINGS
@given(step=st.integers(1, 15), gamma=gammas)
def test_step(step, gamma):
    check("StepLR", {"step_size": step, "gamma": gamma})


@SETTINGS
@given(ms=st.lists(st.integers(1, 45), min_size=1, max_size=5, unique=True), gamma=gammas)
def test_multistep(ms, gamma):
    check("MultiStepLR", {"milestones": sorted(ms), "gamma": gamma})


@SETTINGS
@given(gamma=gammas, lr=st.floats(1e-4, 5))
def test_exponential(gamma, lr):
    check("ExponentialLR", {"gamma": gamma}, lr=lr)


@SETTINGS
@given(t_max=st.integers(1, 30), eta_min=st.floats(0, 0.05))
def test_cosine_is_periodic_past_t_max(t_max, eta_min):
    check("CosineAnnealingLR", {"T_max": t_max, "eta_min": eta_min}, n=3 * t_max + 5)


@SETTINGS
@given(t_0=st.integers(1, 8), t_mult=st.integers(1, 3), eta_min=st.floats(0, 0.05),
       spe=st.integers(1, 5), fractional=st.booleans())
def test_warm_restarts(t_0, t_mult, eta_min, spe, fractional):
    params = {"T_0": t_0, "T_mult": t_mult, "eta_min": eta_min, "epoch_fraction": fractional}
    curve = record_curve({"kind": "CosineAnnealingWarmRestarts", "params": params},
                         {"epochs": 12, "steps_per_epoch": spe, "step_every": "batch"})
    for i, got in enumerate(curve.lr):
        t = i / spe if fractional else i  # fractional: the position is the epoch, in epochs
        t_cur, t_i = F.warm_restart_position(t, t_0, t_mult)
        expected = eta_min + (0.1 - eta_min) * (1 + F.math.cos(F.math.pi * t_cur / t_i)) / 2
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


@SETTINGS
@given(total=st.integers(10, 80), pct=st.floats(0.05, 0.45), strategy=st.sampled_from(
    ["cos", "linear"]), three=st.booleans(), div=st.floats(1, 100), final=st.floats(1, 1e5))
def test_onecycle(total, pct, strategy, three, div, final):
    params = {"max_lr": 0.3, "total_steps": total, "pct_start": pct, "anneal_strategy": strategy,
              "three_phase": three, "div_factor": div, "final_div_factor": final}
    if float(pct * total) - 1 == 0:  # torch's warm-up ends where it starts: it divides by 0
        with pytest.raises(ValueError, match="length zero"):
            check("OneCycleLR", params, n=total, total=total, per_batch=True)
        return
    curve, p = check("OneCycleLR", params, n=total, total=total, per_batch=True)
    for t, m in enumerate(curve.momentum):
        assert m == pytest.approx(F.momentum_at("OneCycleLR", p, t, total), rel=1e-9)


@SETTINGS
@given(up=st.integers(1, 10), down=st.integers(0, 10), mode=st.sampled_from(
    ["triangular", "triangular2", "exp_range"]), gamma=st.floats(0.8, 1.0))
def test_cyclic(up, down, mode, gamma):
    params = {"base_lr": 0.01, "max_lr": 0.2, "step_size_up": up, "step_size_down": down,
              "mode": mode, "gamma": gamma}
    curve, p = check("CyclicLR", params, n=60, per_batch=True)
    for t, m in enumerate(curve.momentum):
        assert m == pytest.approx(F.momentum_at("CyclicLR", p, t), rel=1e-9)


@SETTINGS
@given(start=factors, end=st.floats(0, 1), iters=st.integers(1, 30))
def test_linear(start, end, iters):
    check("LinearLR", {"start_factor": start, "end_factor": end, "total_iters": iters})


@SETTINGS
@given(factor=st.floats(0.01, 1), iters=st.integers(1, 30))
def test_constant(factor, iters):
    check("ConstantLR", {"factor": factor, "total_iters": iters})


@SETTINGS
@given(iters=st.integers(1, 30), power=st.floats(0.1, 5))
def test_polynomial(iters, power):
    check("PolynomialLR", {"total_iters": iters, "power": power})


@SETTINGS
@given(a=st.floats(0.8, 1.1), b=st.integers(1, 30))
def test_lambda_and_multiplicative(a, b):
    check("LambdaLR", {"lr_lambda": f"{a!r} ** epoch * max(0.1, 1 - epoch / {b})"})
    check("MultiplicativeLR", {"lr_lambda": f"{a!r} if epoch < {b} else 0.9"})


@SETTINGS
@given(warm=st.integers(1, 10), milestone=st.integers(1, 15), gamma=gammas)
def test_sequential_and_chained(warm, milestone, gamma):
    kids = [{"kind": "LinearLR", "params": {"start_factor": 0.1, "total_iters": warm}},
            {"kind": "StepLR", "params": {"step_size": 4, "gamma": gamma}}]
    seq = record_curve({"kind": "SequentialLR", "params": {"milestones": [milestone]},
                        "children": kids}, {"epochs": 40})
    chain = record_curve({"kind": "ChainedScheduler", "params": {}, "children": kids},
                         {"epochs": 40})
    full = [check_spec(k, child=True) for k in kids]
    for t in range(40):
        assert seq.lr[t] == pytest.approx(F.sequential_at(full, [milestone], 0.1, t), rel=1e-9)
        assert chain.lr[t] == pytest.approx(F.chained_at(full, 0.1, t), rel=1e-9)


CHILD_PARAMS = {
    "StepLR": {"step_size": 3, "gamma": 0.5}, "MultiStepLR": {"milestones": [4, 9]},
    "ExponentialLR": {}, "CosineAnnealingLR": {"T_max": 10, "eta_min": 0.0},
    "LinearLR": {"start_factor": 0.2, "total_iters": 5},
    "ConstantLR": {"factor": 0.3, "total_iters": 4}, "PolynomialLR": {"total_iters": 12},
    "LambdaLR": {"lr_lambda": "0.9 ** epoch"}, "MultiplicativeLR": {"lr_lambda": "0.9"},
    "CosineAnnealingWarmRestarts": {"T_0": 5},
    "CyclicLR": {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3, "cycle_momentum": False},
    "OneCycleLR": {"max_lr": 0.1, "total_steps": 40, "cycle_momentum": False},
}
COMPOSITE_NOTES = ("don't simply multiply", "chains as a factor", "starting LR", "carries on")


def _composite(kind: str, a: str, b: str, t_max: int = 10):
    kids = [{"kind": k, "params": dict(CHILD_PARAMS[k])} for k in (a, b)]
    for k in kids:
        if k["kind"] == "CosineAnnealingLR":
            k["params"]["T_max"] = t_max
    params = {"milestones": [6]} if kind == "SequentialLR" else {}
    curve = record_curve({"kind": kind, "params": params, "children": kids}, {"epochs": 20})
    full = [check_spec(k, child=True) for k in kids]

    def formula(t: int) -> float:
        if kind == "SequentialLR":
            return F.sequential_at(full, [6], 0.1, t, 40)
        return F.chained_at(full, 0.1, t)

    matches = True
    for t, got in enumerate(curve.lr):
        try:
            matches = got == pytest.approx(formula(t), rel=1e-9, abs=1e-14)
        except ZeroDivisionError:  # the product form has no meaning for OneCycleLR
            matches = False
        if not matches:
            break
    noted = [n.title for n in curve.notes if any(w in n.title for w in COMPOSITE_NOTES)]
    return matches, noted


@pytest.mark.parametrize("kind", ["SequentialLR", "ChainedScheduler"])
def test_composite_formula_holds_or_a_note_says_why(kind):
    """Every pair of child kinds: where torch's curve leaves the formula shown, a note says so."""
    kinds = list(CHILD_PARAMS)
    silent = [(a, b) for a in kinds for b in kinds if _composite(kind, a, b) == (False, [])]
    assert silent == []


@pytest.mark.parametrize("kind, a, b", [
    ("ChainedScheduler", "LinearLR", "StepLR"), ("ChainedScheduler", "ExponentialLR", "LinearLR"),
    ("SequentialLR", "LinearLR", "CosineAnnealingLR"), ("SequentialLR", "StepLR", "CyclicLR"),
    ("SequentialLR", "MultiplicativeLR", "StepLR"), ("SequentialLR", "CyclicLR", "OneCycleLR"),
])
def test_composites_that_follow_the_formula_get_no_note(kind, a, b):
    assert _composite(kind, a, b, t_max=30) == (True, [])
