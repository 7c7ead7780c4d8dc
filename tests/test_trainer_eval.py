"""Evaluation: metrics computed by hand from the model's outputs, grids for decision maps."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from core.config import TrainConfig
from core.evaluate import evaluate, predict_curve, predict_grid, sample_predictions
from core.trainer import train
from tests.engine_helpers import one_torch_thread  # noqa: F401 (autouse)


@pytest.fixture(scope="module")
def spiral():
    return train(TrainConfig(dataset="spiral", n_samples=300, epochs=5, threads=1))


def test_evaluate_matches_a_hand_computation(spiral):
    bundle, model = spiral.data, spiral.model
    res = evaluate(model, bundle, "test", spiral.objective)
    model.eval()
    with torch.no_grad():
        out = model(bundle.test.x)
    y = bundle.test.y
    assert res.n == len(y)
    assert res.loss == pytest.approx(float(F.cross_entropy(out, y)), rel=1e-5)
    pred = out.argmax(1)
    assert res.accuracy == pytest.approx(float((pred == y).float().mean()))
    for i in range(3):
        for j in range(3):
            assert res.confusion[i][j] == int(((y == i) & (pred == j)).sum())
        assert res.per_class_accuracy[i] == pytest.approx(
            float((pred[y == i] == i).float().mean()))
    assert sum(map(sum, res.confusion)) == res.n
    assert res.accuracy == pytest.approx(spiral.final["test_acc"], abs=1e-6)


def test_evaluate_restores_the_training_mode(spiral):
    spiral.model.train()
    evaluate(spiral.model, spiral.data, "val", spiral.objective)
    assert spiral.model.training


def test_sample_predictions(spiral):
    rows = sample_predictions(spiral.model, spiral.data, "test", n=8, wrong_first=True)
    assert len(rows) == 8
    x = spiral.data.test.x
    for r in rows:
        assert 0 <= r["index"] < len(x) and 0 < r["confidence"] <= 1
        assert r["label"] == int(spiral.data.test.y[r["index"]])
        assert r["correct"] == (r["label"] == r["pred"])
    flags = [r["correct"] for r in rows]
    assert flags == sorted(flags)  # mistakes first


def test_predict_grid_agrees_with_the_model(spiral):
    xs, ys = [-1.0, 0.0, 1.0, 2.0], [-0.5, 0.5]
    grid = predict_grid(spiral.model, spiral.data, xs, ys, spiral.objective)
    assert len(grid["pred"]) == 2 and len(grid["pred"][0]) == 4
    with torch.no_grad():
        out = spiral.model(torch.tensor([[2.0, 0.5]]))
    assert grid["pred"][1][3] == int(out.argmax())
    assert grid["prob"][1][3] == pytest.approx(float(out.softmax(1).max()), rel=1e-5)
    assert sum(grid["probs"][0][0]) == pytest.approx(1.0)


def test_predict_grid_and_curve_refuse_other_shapes(spiral):
    with pytest.raises(ValueError, match="2-D"):
        predict_grid(spiral.model, dataclasses.replace(spiral.data, input_shape=(3,)), [0], [0])
    with pytest.raises(ValueError, match="1-D"):
        predict_curve(spiral.model, spiral.data, [0.0])


def test_regression_evaluation_and_curve():
    run = train(TrainConfig(dataset="regression", loss="mse", epochs=3, n_samples=200,
                            threads=1))
    res = evaluate(run.model, run.data, "test", run.objective)
    assert res.accuracy is None and res.loss == pytest.approx(run.final["test_loss"], rel=1e-5)
    curve = predict_curve(run.model, run.data, [-1.0, 0.0, 1.0])
    with torch.no_grad():
        want = run.model(torch.tensor([[-1.0], [0.0], [1.0]]))[:, 0].tolist()
    assert curve == pytest.approx(want)


def test_bce_single_logit_evaluation():
    run = train(TrainConfig(dataset="moons", loss="bce_with_logits", epochs=3, threads=1))
    res = evaluate(run.model, run.data, "test", run.objective)
    assert len(res.confusion) == 2 and res.accuracy == pytest.approx(run.final["test_acc"])
    grid = predict_grid(run.model, run.data, [0.0], [0.0], run.objective)
    assert grid["pred"][0][0] in (0, 1)
