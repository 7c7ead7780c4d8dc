"""ReduceLROnPlateau on a simulated metric: the real scheduler, and each decision explained."""

from __future__ import annotations

import math
import warnings
from itertools import pairwise

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim.lr_scheduler import ReduceLROnPlateau

from core import plateau_sim
from core.lr_curves import record_curve


def plateau(metric=None, run=None, **params):
    spec = {"kind": "ReduceLROnPlateau", "params": params, "metric": metric or {}}
    return record_curve(spec, {"epochs": 40, **(run or {})})


def by_hand(values, lr=0.1, **kw):
    w = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([w], lr=lr, momentum=0.9)
    sched = ReduceLROnPlateau(opt, **kw)
    lrs = []
    for v in values:
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(v)
    return lrs


@pytest.mark.parametrize("shape", plateau_sim.SHAPES)
@pytest.mark.parametrize("mode", ["min", "max"])
def test_curve_equals_hand_loop(shape, mode):
    params = dict(mode=mode, factor=0.3, patience=2, threshold=0.01, cooldown=1, min_lr=1e-3)
    curve = plateau({"shape": shape, "noise": 0.02, "seed": 3}, **params)
    values = plateau_sim.simulate_metric({"shape": shape, "noise": 0.02, "seed": 3}, 40, mode)
    assert [s.metric for s in curve.plateau] == values
    assert curve.lr == by_hand(values, **params)


def test_shapes_look_like_their_names():
    n = 60
    decay = plateau_sim.simulate_metric({"shape": "decay", "noise": 0}, n)
    assert all(b < a for a, b in pairwise(decay))
    flat = plateau_sim.simulate_metric({"shape": "plateaus", "noise": 0, "plateau_at": [10],
                                        "plateau_len": 5}, n)
    assert flat[10] == flat[14] == flat[15] and flat[16] < flat[15]
    rising = plateau_sim.simulate_metric({"shape": "rising", "noise": 0}, n)
    assert rising[-1] > min(rising)
    acc = plateau_sim.simulate_metric({"shape": "decay", "noise": 0}, n, mode="max")
    assert all(b > a for a, b in pairwise(acc))
    a = plateau_sim.simulate_metric({"shape": "noisy", "noise": 0.05, "seed": 1}, n)
    assert a == plateau_sim.simulate_metric({"shape": "noisy", "noise": 0.05, "seed": 1}, n)
    assert a != plateau_sim.simulate_metric({"shape": "noisy", "noise": 0.05, "seed": 2}, n)


def events(curve):
    return [s.event for s in curve.plateau]


def test_patience_counts_bad_epochs_then_reduces():
    curve = plateau({"shape": "plateaus", "noise": 0, "plateau_at": [10], "plateau_len": 12},
                    patience=3, factor=0.5, threshold=1e-4)
    s = curve.plateau
    cut = events(curve).index("reduced")
    assert [x.num_bad_epochs for x in s[cut - 3:cut]] == [1, 2, 3]  # counters read from torch
    assert s[cut].num_bad_epochs == 0 and s[cut].lr == s[cut].lr_before * 0.5
    assert "4 bad epochs > patience 3" in s[cut].why and "0.1 x 0.5 = 0.05" in s[cut].why
    assert s[0].event == "baseline" and s[1].event == "improved"


def test_threshold_rel_and_abs():
    # 1 % better each epoch: enough for rel 0.005, not for rel 0.02 or abs 0.5
    values = [1.0 * 0.99 ** k for k in range(30)]
    for mode, threshold, cuts in (("rel", 0.005, False), ("rel", 0.02, True),
                                  ("abs", 0.5, True), ("abs", 0.001, False)):
        w = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([w], lr=0.1)
        sched = ReduceLROnPlateau(opt, threshold=threshold, threshold_mode=mode, patience=1)
        steps = plateau_sim.run_plateau(sched, opt, values)
        assert ("reduced" in [s.event for s in steps]) is cuts, (mode, threshold)
        bad = next((s for s in steps if s.event == "bad"), None)
        if bad is not None:
            rule = f"x (1 - {threshold:g})" if mode == "rel" else f"- {threshold:g}"
            assert rule in bad.why
            expected = (bad.best_before * (1 - threshold) if mode == "rel"
                        else bad.best_before - threshold)
            assert bad.needed == pytest.approx(expected)


def test_cooldown_ignores_bad_epochs():
    curve = plateau({"shape": "plateaus", "noise": 0, "plateau_at": [5], "plateau_len": 30},
                    patience=1, cooldown=3, factor=0.5, min_lr=0)
    ev = events(curve)
    first = ev.index("reduced")
    assert ev[first + 1:first + 4] == ["cooldown"] * 3
    assert curve.plateau[first].cooldown_counter == 3
    assert [s.cooldown_counter for s in curve.plateau[first + 1:first + 4]] == [2, 1, 0]
    assert "cooldown" in curve.plateau[first + 1].why


def test_min_lr_floor_is_explained():
    curve = plateau({"shape": "plateaus", "noise": 0, "plateau_at": [3], "plateau_len": 36},
                    patience=0, factor=0.5, min_lr=0.02)
    ev = events(curve)
    assert "floor" in ev
    reduced = [s for s in curve.plateau if s.event == "reduced"]
    assert reduced[-1].lr == 0.02 and "clamped at min_lr" in reduced[-1].why
    floor = curve.plateau[ev.index("floor")]
    assert floor.lr == floor.lr_before == 0.02 and "already at min_lr" in floor.why
    assert min(curve.lr) == 0.02


def test_an_lr_below_min_lr_is_left_alone_and_said_so():
    curve = plateau({"shape": "plateaus", "noise": 0, "plateau_at": [3], "plateau_len": 36},
                    patience=0, factor=0.5, min_lr=0.2)  # the LR starts at 0.1
    floors = [s for s in curve.plateau if s.event == "floor"]
    assert floors
    assert all("already below min_lr 0.2 and torch never raises it" in s.why for s in floors)
    assert set(curve.lr) == {0.1}


def test_eps_skips_small_cuts():
    curve = plateau({"shape": "plateaus", "noise": 0, "plateau_at": [3], "plateau_len": 36},
                    patience=1, factor=0.5, min_lr=0, eps=0.06)
    floor = next(s for s in curve.plateau if s.event == "floor")
    assert "not more than eps 0.06" in floor.why and set(curve.lr) == {0.1}


def test_mode_max_watches_a_rising_metric():
    curve = plateau({"shape": "plateaus", "noise": 0, "plateau_at": [10], "plateau_len": 10},
                    mode="max", patience=2)
    assert "reduced" in events(curve)
    assert "> best" in next(s.why for s in curve.plateau if s.event == "improved")


@settings(max_examples=30, deadline=None)
@given(patience=st.integers(0, 5), cooldown=st.integers(0, 4), factor=st.floats(0.1, 0.9),
       threshold=st.floats(0, 0.05), tmode=st.sampled_from(["rel", "abs"]),
       mode=st.sampled_from(["min", "max"]), seed=st.integers(0, 50),
       shape=st.sampled_from(plateau_sim.SHAPES))
def test_explanations_agree_with_torch_counters(patience, cooldown, factor, threshold, tmode,
                                                mode, seed, shape):
    params = dict(mode=mode, factor=factor, patience=patience, threshold=threshold,
                  threshold_mode=tmode, cooldown=cooldown, min_lr=0.001)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing here should make torch warn
        curve = plateau({"shape": shape, "noise": 0.03, "seed": seed}, **params)
    for s in curve.plateau:
        reduced = s.lr < s.lr_before
        assert (s.event == "reduced") is reduced
        if s.event in ("improved", "baseline"):
            assert s.num_bad_epochs == 0 and s.best == s.metric
        if s.event == "bad":
            assert s.num_bad_epochs >= 1
            assert s.num_bad_epochs <= patience
            assert s.best == s.best_before
        if reduced:
            assert s.lr == pytest.approx(max(s.lr_before * factor, 0.001))
            assert s.cooldown_counter == cooldown and s.num_bad_epochs == 0
        if not math.isinf(s.best_before):
            better = s.metric < s.needed if mode == "min" else s.metric > s.needed
            assert better is (s.best != s.best_before)


@pytest.mark.parametrize("metric, fragment", [
    ({"shape": "zigzag"}, "shape must be one of"),
    ({"noise": 2}, "noise must be in"),
    ({"plateau_at": [-1]}, ">= 0"),
    ({"plateau_len": 0}, "plateau_len"),
])
def test_bad_simulation_settings(metric, fragment):
    with pytest.raises(ValueError, match=fragment):
        plateau(metric)


def test_plateaus_after_the_run_are_ignored():
    values = plateau_sim.simulate_metric({"plateau_at": [5, 500], "noise": 0}, 20)
    assert len(values) == 20
