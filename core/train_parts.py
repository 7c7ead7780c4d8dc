"""Small pieces the training loop uses, kept out of trainer.py so the loop reads as one story:
seeding and RNG state, weight snapshots, early stopping, gradient norms, messages."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import torch
from torch import nn


# ---- seeds and RNG state ----------------------------------------------------------------------
def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and every GPU) with one number."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """Every RNG a run draws from, as objects torch.load(weights_only=True) accepts."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "generator": generator.get_state(),
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                  float(cached)),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    """Undo `rng_state`: the next random draws equal those of the original run."""
    torch.set_rng_state(state["torch"])
    generator.set_state(state["generator"])
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---- weights --------------------------------------------------------------------------------
class WeightSnapshot:
    """A copy of a model's parameters and buffers, refreshed in place (no new allocations)."""

    def __init__(self, model: nn.Module) -> None:
        self.tensors = [t.detach().clone() for t in model.state_dict().values()]
        self.step = 0
        self.epoch = 0

    def save(self, model: nn.Module, step: int = 0, epoch: int = 0) -> None:
        with torch.no_grad():
            torch._foreach_copy_(self.tensors, [t.detach() for t in model.state_dict().values()])
        self.step, self.epoch = step, epoch

    def restore(self, model: nn.Module) -> None:
        with torch.no_grad():
            for dst, src in zip(model.state_dict().values(), self.tensors, strict=True):
                dst.copy_(src)

    def state_dict(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """The snapshot keyed like model.state_dict() (for checkpoints)."""
        return dict(zip(model.state_dict().keys(), self.tensors, strict=True))

    def load(self, state: dict[str, torch.Tensor], model: nn.Module) -> None:
        with torch.no_grad():
            for dst, key in zip(self.tensors, model.state_dict().keys(), strict=True):
                dst.copy_(state[key])


def total_norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    """L2 norm of all tensors together, as a 0-d device tensor (no sync)."""
    if not tensors:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(tensors)))


def grads_of(params: list[nn.Parameter]) -> list[torch.Tensor]:
    return [p.grad for p in params if p.grad is not None]


# ---- early stopping -------------------------------------------------------------------------
class EarlyStopping:
    """Patience counter on one metric; remembers the best epoch (weights kept by the caller)."""

    def __init__(self, metric: str, patience: int, min_delta: float) -> None:
        self.metric, self.patience, self.min_delta = metric, patience, min_delta
        self.mode = "max" if metric.endswith("acc") else "min"
        self.best = -math.inf if self.mode == "max" else math.inf
        self.best_epoch = 0
        self.bad_epochs = 0

    def improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, value: float, epoch: int) -> tuple[bool, bool]:
        """(improved, should stop) after an epoch with `value`."""
        if self.improved(value):
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
            return True, False
        self.bad_epochs += 1
        return False, self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.bad_epochs = int(state["bad_epochs"])


# ---- messages -------------------------------------------------------------------------------
def divergence_message(cfg: Any, loss: float, step: int, epoch: int, lr: float,
                       restored_step: int | None, subject: str = "loss") -> str:
    """Why the run ended, in words a beginner can act on (subject: 'loss', 'weights',
    'validation loss')."""
    what = "NaN (not a number)" if math.isnan(loss) else "infinite"
    tips = [f"try {cfg.lr / 10:g} (10x smaller)"]
    if cfg.clip_mode == "none":
        tips.append("enable gradient clipping (clip_mode='norm', clip_value=1)")
    if cfg.warmup_steps == 0 and cfg.scheduler in ("none", "onecycle", "cyclic"):
        tips.append("add a warmup (warmup_steps=100)")
    msg = (f"The {subject} became {what} by step {step} (epoch {epoch}). The learning rate "
           f"{lr:g} is probably too high: {', or '.join(tips)}.")
    if restored_step is None:
        return msg + " The weights are NOT restored: they may contain NaN."
    if restored_step == 0:
        return msg + " The weights were reset to their initial values (no finite check passed)."
    return msg + (f" The weights were reset to step {restored_step}, the last check where the "
                  "loss and the weights were finite.")


def accumulation_size(i: int, n_micro: int, k: int) -> int:
    """Micro-batches in the accumulation group of micro-batch i (the last group may be short)."""
    return min(k, n_micro - (i // k) * k)


class RunningSums:
    """Sum of loss x samples and of correct predictions over an epoch, kept on the device.

    `add` only keeps references (no kernel launch per step); every `flush_every` steps, and
    whenever the sums are read, the kept batches are reduced with a few batched ops. Reading
    `totals()` launches work but does not sync; only turning the result into numbers does.
    """

    def __init__(self, objective: Any, device: torch.device, flush_every: int = 64) -> None:
        self.objective, self.flush_every = objective, flush_every
        self.loss = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device)
        self.seen = 0
        self._losses: list[torch.Tensor] = []
        self._sizes: list[int] = []
        self._outs: list[torch.Tensor] = []
        self._ys: list[torch.Tensor] = []

    def add(self, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        n = y.shape[0]
        self._losses.append(loss.detach())
        self._sizes.append(n)
        if self.objective.has_accuracy:
            self._outs.append(out.detach())
            self._ys.append(y)
        self.seen += n
        if len(self._losses) >= self.flush_every:
            self._flush()

    def _flush(self) -> None:
        if not self._losses:
            return
        with torch.no_grad():
            for size in set(self._sizes):  # batches share one size, except an epoch's last
                same = [v for v, s in zip(self._losses, self._sizes, strict=True) if s == size]
                self.loss += torch.stack(same).float().sum() * size
            if self._outs:
                self.correct += self.objective.correct(torch.cat(self._outs),
                                                       torch.cat(self._ys))
        self._losses, self._sizes, self._outs, self._ys = [], [], [], []

    def totals(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss sum, correct count) as 0-d device tensors (new tensors, safe to keep)."""
        self._flush()
        return self.loss.clone(), self.correct.clone()

    def state(self) -> list[float]:
        """[loss sum, correct, seen] as numbers, for a checkpoint (a host sync)."""
        loss, correct = self.totals()
        return [float(loss), float(correct), self.seen]

    def load(self, state: list[float]) -> None:
        self.loss.fill_(state[0])
        self.correct.fill_(state[1])
        self.seen = int(state[2])
