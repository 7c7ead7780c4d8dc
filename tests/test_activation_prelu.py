"""PReLU learns its slope: convergence to the least-squares a*, the SGD stability limit."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from core.activation_code import prelu_snippet
from core.prelu_demo import TASKS, PreluConfig, best_slope, task_data, train_prelu


@pytest.mark.parametrize("task", list(TASKS))
def test_slope_converges_to_the_least_squares_slope(task):
    run = train_prelu(PreluConfig(task=task, lr=0.3, steps=200))
    assert not run.diverged
    assert run.slope[-1] == pytest.approx(run.best_slope, abs=1e-4)
    if TASKS[task][1] is not None:  # a PReLU with this slope made the data
        assert run.best_slope == pytest.approx(TASKS[task][1], abs=0.02)
    assert run.loss[-1] < run.loss[0]


def test_best_slope_is_ordinary_least_squares_on_the_negative_half():
    x, y = task_data(PreluConfig(task="leaky"))
    xn, yn = x.double().numpy(), y.double().numpy()
    neg = xn < 0
    (lstsq,), *_ = np.linalg.lstsq(xn[neg, None], yn[neg], rcond=None)
    assert best_slope(xn, yn) == pytest.approx(lstsq, rel=1e-12)


def test_gradient_of_a_comes_only_from_negative_inputs():
    x = torch.tensor([1.0, 2.0, 3.0])
    model = torch.nn.PReLU(init=0.25)
    torch.nn.functional.mse_loss(model(x), 2 * x).backward()
    assert model.weight.grad.item() == 0.0


def test_learning_rate_limit_separates_converging_from_diverging():
    limit = train_prelu(PreluConfig(steps=1)).max_stable_lr
    below = train_prelu(PreluConfig(lr=0.95 * limit, steps=400))
    above = train_prelu(PreluConfig(lr=1.05 * limit, steps=2000))
    assert not below.diverged and below.slope[-1] == pytest.approx(below.best_slope, abs=1e-3)
    assert above.diverged and len(above.slope) < 2001


def test_records_every_step():
    run = train_prelu(PreluConfig(steps=25))
    assert run.steps == tuple(range(26)) and len(run.slope) == len(run.loss) == 26
    assert run.slope[0] == pytest.approx(0.25)
    assert len(run.x) == len(run.fitted) == 256


@pytest.mark.parametrize("kwargs, message", [
    (dict(task="sine"), "task"), (dict(lr=0.0), "learning rate"), (dict(steps=0), "steps"),
    (dict(init=float("inf")), "slope"),
])
def test_bad_configs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PreluConfig(**kwargs)


@pytest.mark.parametrize("task, init, lr", [(task, -0.3, 0.03) for task in TASKS]
                         + [("leaky", 1.5, 1.0)])  # the last one diverges after 17 steps
def test_snippet_reproduces_the_page(task, init, lr):
    cfg = PreluConfig(task=task, init=init, lr=lr, steps=300 if lr == 1.0 else 40)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(prelu_snippet(cfg), namespace)  # noqa: S102 - our own generated code
    run = train_prelu(cfg)
    assert namespace["slopes"] == pytest.approx(list(run.slope), rel=1e-6)
    assert "learned a" in out.getvalue()
    assert ("diverged after" in out.getvalue()) is run.diverged
