"""Evaluating a trained model: loss, accuracy, confusion matrix, sample predictions, and
predictions over a 2-D grid (decision boundaries) or a 1-D line (regression curves)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from core.optim import Objective


def default_objective(bundle: Any, loss: str | None = None) -> Objective:
    """cross_entropy for classes, mse for regression (or `loss` if given)."""
    name = loss or ("cross_entropy" if bundle.task == "classification" else "mse")
    return Objective(name, bundle.task, bundle.num_classes)


CPU_IMAGE_EVAL_BATCH = 128
EVAL_BATCH = 1024


def eval_batch_size(bundle: Any) -> int:
    """Rows per forward pass when evaluating: 128 for images on a CPU, else 1024.

    Measured on this project's 2-core CPU (10,000 MNIST images, bf16, channels_last): the
    classic CNN took 0.89 s at 1,024 a batch and 0.43 s at 128; the compact BatchNorm CNN 0.43 s
    and 0.28 s. A 1,024-image batch's feature maps (75 MB in the classic CNN) spill out of the
    caches; tabular rows are tiny, so there big batches only save Python overhead.
    """
    images = bundle.device.type == "cpu" and len(getattr(bundle, "input_shape", ())) == 3
    return CPU_IMAGE_EVAL_BATCH if images else EVAL_BATCH


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """model.eval() inside, the previous mode restored after; no autograd."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def _autocast(device: torch.device, dtype: torch.dtype | None) -> Any:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def loss_and_accuracy(model: nn.Module, bundle: Any, split: str, objective: Objective, *,
                      batch_size: int | None = None, amp_dtype: torch.dtype | None = None,
                      channels_last: bool = False) -> tuple[float, float | None]:
    """Mean loss and accuracy over a split: device-side sums, one host sync at the end."""
    device = bundle.device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    n = 0
    with eval_mode(model):
        for xb, yb in bundle.batches(split, batch_size or eval_batch_size(bundle), shuffle=False):
            if channels_last and xb.dim() == 4:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with _autocast(device, amp_dtype):
                out = model(xb)
            loss_sum += objective.loss(out, yb) * yb.shape[0]
            if objective.has_accuracy:
                correct += objective.correct(out, yb)
            n += int(yb.shape[0])
    if n == 0:
        return float("nan"), None
    values = torch.stack([loss_sum, correct.to(loss_sum.dtype)]).tolist()
    return values[0] / n, (values[1] / n if objective.has_accuracy else None)


@dataclass
class EvalResult:
    """Metrics of one split; confusion[i][j] counts true class i predicted as j."""

    split: str
    n: int
    loss: float
    accuracy: float | None
    confusion: list[list[int]] = field(default_factory=list)
    per_class_accuracy: list[float | None] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)


def _outputs(model: nn.Module, bundle: Any, split: str, batch_size: int | None,
             ) -> tuple[torch.Tensor, torch.Tensor]:
    outs, ys = [], []
    with eval_mode(model):
        for xb, yb in bundle.batches(split, batch_size or eval_batch_size(bundle), shuffle=False):
            outs.append(model(xb).float())
            ys.append(yb)
    if not outs:
        raise ValueError(f"The {split} split is empty: there is nothing to evaluate.")
    return torch.cat(outs), torch.cat(ys)


def evaluate(model: nn.Module, bundle: Any, split: str = "test",
             objective: Objective | None = None, *, batch_size: int | None = None) -> EvalResult:
    """Loss, accuracy, confusion matrix and per-class accuracy of `model` on a split."""
    objective = objective or default_objective(bundle)
    out, y = _outputs(model, bundle, split, batch_size)
    loss = float(objective.loss(out, y))
    if not objective.has_accuracy:
        return EvalResult(split, len(y), loss, None)
    k = bundle.num_classes
    pred = objective.predict(out)
    confusion = torch.bincount(y * k + pred, minlength=k * k).view(k, k).cpu()
    totals = confusion.sum(dim=1)
    per_class = [None if int(t) == 0 else float(confusion[i, i]) / int(t)
                 for i, t in enumerate(totals)]
    acc = float((pred == y).float().mean())
    return EvalResult(split, len(y), loss, acc, confusion.tolist(), per_class,
                      list(bundle.class_names))


def sample_predictions(model: nn.Module, bundle: Any, split: str = "test", n: int = 16,
                       objective: Objective | None = None, *, seed: int = 0,
                       wrong_first: bool = False) -> list[dict[str, Any]]:
    """A few random samples: index (row of the split), label, pred, confidence, correct.

    For an image grid, draw bundle.split(split).x[index]. wrong_first puts mistakes first.
    """
    objective = objective or default_objective(bundle)
    if not objective.has_accuracy:
        raise ValueError("Sample predictions with classes need a classification set.")
    s = bundle.split(split)
    if len(s) == 0:
        raise ValueError(f"The {split} split is empty.")
    g = torch.Generator().manual_seed(seed)
    pool = min(len(s), max(n * 8, 256) if wrong_first else n)
    idx = torch.randperm(len(s), generator=g)[:pool].to(s.x.device)
    with eval_mode(model):
        out = model(bundle.prepare(s.x[idx], train=False)).float()
    probs = objective.probs(out)
    pred = objective.predict(out)
    conf = probs.gather(1, pred[:, None]).squeeze(1)
    rows = [{"index": int(i), "label": int(y), "pred": int(p), "confidence": float(c),
             "correct": int(y) == int(p)}
            for i, y, p, c in zip(idx.tolist(), s.y[idx].tolist(), pred.tolist(), conf.tolist(),
                                  strict=True)]
    if wrong_first:
        rows.sort(key=lambda r: r["correct"])
    return rows[:n]


def predict_grid(model: nn.Module, bundle: Any, xs: Sequence[float], ys: Sequence[float],
                 objective: Objective | None = None, *, with_probs: bool = True,
                 ) -> dict[str, Any]:
    """Predictions on the grid xs x ys of a 2-D input set (the same standardised space as
    bundle.train.x): 'pred' classes and 'prob' of the predicted class, each rows (len(ys))
    of columns (len(xs)), and every class's 'probs' unless with_probs=False (the live probe
    skips them: converting them is a third of the call); regression gives 'value'."""
    if tuple(bundle.input_shape) != (2,):
        raise ValueError(f"A decision boundary needs 2-D inputs; {bundle.name} has inputs of "
                         f"shape {tuple(bundle.input_shape)}.")
    objective = objective or default_objective(bundle)
    gx = torch.as_tensor(list(xs), dtype=torch.float32)
    gy = torch.as_tensor(list(ys), dtype=torch.float32)
    yy, xx = torch.meshgrid(gy, gx, indexing="ij")
    points = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1).to(bundle.device)
    with eval_mode(model):
        out = model(points).float()
    shape = (len(gy), len(gx))
    if not objective.has_accuracy:
        return {"xs": gx.tolist(), "ys": gy.tolist(),
                "value": out[:, 0].reshape(shape).cpu().tolist()}
    probs = objective.probs(out)
    pred = objective.predict(out)
    prob = probs.gather(1, pred[:, None]).squeeze(1)
    grid = {"xs": gx.tolist(), "ys": gy.tolist(), "pred": pred.reshape(shape).cpu().tolist(),
            "prob": prob.reshape(shape).cpu().tolist()}
    if with_probs:
        grid["probs"] = probs.reshape(*shape, -1).cpu().tolist()
    return grid


def predict_curve(model: nn.Module, bundle: Any, xs: Sequence[float]) -> list[float]:
    """Outputs of a 1-D regression model at xs (standardised input space, first target)."""
    if tuple(bundle.input_shape) != (1,):
        raise ValueError(f"A curve needs 1-D inputs; {bundle.name} has inputs of shape "
                         f"{tuple(bundle.input_shape)}.")
    x = torch.as_tensor(list(xs), dtype=torch.float32).view(-1, 1).to(bundle.device)
    with eval_mode(model):
        return model(x).float()[:, 0].cpu().tolist()
