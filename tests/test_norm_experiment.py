"""core.norm_experiment: four short runs through the real training engine."""

from __future__ import annotations

import math

import pytest
from torch import nn

from core.models import build_model
from core.norm_experiment import NORMS, Experiment, config, label, run_experiment


def test_configs_differ_only_in_norm():
    exp = Experiment()
    dicts = [config(exp, norm).to_dict() for norm in NORMS]
    for d in dicts[1:]:
        diff = {k for k in d if d[k] != dicts[0][k]}
        assert diff == {"norm"}
    assert dicts[0]["model"] == "mlp" and dicts[0]["depth"] == exp.depth
    assert dicts[0]["threads"] == 1


@pytest.mark.parametrize("norm, layer", [("batch", nn.BatchNorm1d), ("layer", nn.LayerNorm),
                                         ("group", nn.GroupNorm)])
def test_every_hidden_layer_gets_the_norm(norm, layer):
    exp = Experiment(depth=5)
    model = build_model(config(exp, norm), (2,), 3)
    assert sum(isinstance(m, layer) for m in model.modules()) == 5
    plain = build_model(config(exp, "none"), (2,), 3)
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.LayerNorm, nn.GroupNorm))
                   for m in plain.modules())


def test_run_experiment_returns_one_history_per_norm():
    exp = Experiment(depth=3, epochs=2, n_samples=200)
    out = run_experiment(exp)
    assert list(out) == [label(n, exp) for n in NORMS]
    for name, r in out.items():
        assert r["reason"] == "completed", (name, r["message"])
        assert len(r["step"]) == len(r["loss"]) > 0
        assert all(math.isfinite(v) for v in r["loss"])
        assert len(r["val_acc"]) == 2 and 0.0 <= r["final_val_acc"] <= 1.0
        assert r["epoch_step"][-1] >= r["step"][-1]  # the last epoch ends after the last log
    # same data and seed: the runs differ, but only because of the norm layer
    assert out["no normalization"]["loss"] != out["BatchNorm1d"]["loss"]


def test_same_settings_same_curves():
    exp = Experiment(depth=2, epochs=1, n_samples=150)
    a = run_experiment(exp, norms=("batch",))
    b = run_experiment(exp, norms=("batch",))
    assert a["BatchNorm1d"]["loss"] == b["BatchNorm1d"]["loss"]


@pytest.mark.parametrize("kw, words", [({"activation": "swish"}, "activation"),
                                       ({"optimizer": "lbfgs"}, "optimizer"),
                                       ({"depth": 0}, "depth"), ({"epochs": 500}, "epochs"),
                                       ({"groups": 5}, "divide")])
def test_bad_settings_are_refused(kw, words):
    with pytest.raises(ValueError, match=words):
        Experiment(**kw)
