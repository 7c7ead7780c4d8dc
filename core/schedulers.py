"""Learning-rate schedules: the real torch schedulers, stepped at the cadence each one needs.

`build_scheduler` returns a ScheduleDriver, so the trainer only calls `.after_batch()` after
every optimizer step and `.after_epoch(metric)` after every epoch, whatever the scheduler:
- per batch: onecycle, cyclic (their periods are in batches) and cosine_warm_restarts, which is
  stepped fractionally, `step(epoch + i / steps_per_epoch)`, as its docs show; here batch i of
  an epoch trains at exactly the LR of epoch + i / steps_per_epoch (the docs' loop lags by one).
- per epoch: step, multistep, exponential, cosine, linear, polynomial; plateau gets the metric.

Warmup (cfg.warmup_steps > 0) is a real LinearLR (warmup_start_factor -> 1 over that many
optimizer steps) whose factor MULTIPLIES the main schedule: lr = main_lr * warmup_factor.
For the per-epoch schedulers, whose LR is constant during the first epoch, that is a warmup
in front of them. SequentialLR cannot hold ReduceLROnPlateau and would stop a per-epoch
scheduler from advancing during the warmup; this works for all. The main scheduler always
sees its own previous LR (the warmup factor is taken off before it steps), so it follows
exactly the curve it would follow alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.optim import lr_scheduler as L

from core.lr_notes import onecycle_zero_warm_up

PER_BATCH = ("onecycle", "cyclic", "cosine_warm_restarts")
PER_EPOCH = ("step", "multistep", "exponential", "cosine", "linear", "polynomial", "plateau")


def cadence(name: str) -> str:
    """'batch', 'epoch' or 'none': when scheduler `name` is stepped."""
    return "batch" if name in PER_BATCH else "epoch" if name in PER_EPOCH else "none"


def monitor_mode(metric: str) -> str:
    """'max' for accuracies, 'min' for losses."""
    return "max" if metric.endswith("acc") else "min"


def build_torch_scheduler(cfg: Any, optimizer: torch.optim.Optimizer,
                          steps_per_epoch: int) -> Any:
    """The torch scheduler named by cfg.scheduler on `optimizer` (None for 'none')."""
    s, peak = cfg.scheduler, cfg.max_lr or cfg.lr
    if s == "none":
        return None
    if s == "step":
        return L.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma)
    if s == "multistep":
        return L.MultiStepLR(optimizer, milestones=list(cfg.milestones), gamma=cfg.gamma)
    if s == "exponential":
        return L.ExponentialLR(optimizer, gamma=cfg.gamma)
    if s == "cosine":
        return L.CosineAnnealingLR(optimizer, T_max=cfg.t_max or cfg.epochs, eta_min=cfg.eta_min)
    if s == "cosine_warm_restarts":
        return L.CosineAnnealingWarmRestarts(optimizer, T_0=cfg.t_0, T_mult=cfg.t_mult,
                                             eta_min=cfg.eta_min)
    if s == "onecycle":
        total = cfg.epochs * steps_per_epoch
        try:
            # cycle_momentum=False: the app schedules the LR only; momentum stays as configured.
            return L.OneCycleLR(optimizer, max_lr=peak, total_steps=total,
                                pct_start=cfg.pct_start, anneal_strategy=cfg.anneal_strategy,
                                div_factor=cfg.div_factor, final_div_factor=cfg.final_div_factor,
                                three_phase=cfg.three_phase, cycle_momentum=False)
        except ZeroDivisionError:  # the same explanation as the LR scheduler page's
            raise ValueError(onecycle_zero_warm_up(cfg.pct_start, total)) from None
    if s == "cyclic":
        return L.CyclicLR(optimizer, base_lr=cfg.base_lr or cfg.lr / 10, max_lr=peak,
                          step_size_up=cfg.step_size_up, mode=cfg.cyclic_mode, gamma=cfg.gamma,
                          cycle_momentum=False)
    if s == "linear":
        return L.LinearLR(optimizer, start_factor=cfg.start_factor, end_factor=cfg.end_factor,
                          total_iters=cfg.total_iters)
    if s == "polynomial":
        return L.PolynomialLR(optimizer, total_iters=cfg.total_iters, power=cfg.power)
    if s == "plateau":
        return L.ReduceLROnPlateau(optimizer, mode=monitor_mode(cfg.plateau_metric),
                                   factor=cfg.plateau_factor, patience=cfg.plateau_patience,
                                   threshold=cfg.plateau_threshold, cooldown=cfg.cooldown,
                                   min_lr=cfg.min_lr)
    raise ValueError(f"scheduler={s!r} is unknown")


def _dummy_optimizer(lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


class ScheduleDriver:
    """Steps a torch scheduler (plus optional warmup) at the right cadence for the trainer."""

    def __init__(self, cfg: Any, optimizer: torch.optim.Optimizer, steps_per_epoch: int) -> None:
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
        self.optimizer, self.name = optimizer, cfg.scheduler
        self.cadence, self.steps_per_epoch = cadence(cfg.scheduler), steps_per_epoch
        self.total_steps = cfg.epochs * steps_per_epoch
        self.monitor = cfg.plateau_metric if cfg.scheduler == "plateau" else None
        self.main = build_torch_scheduler(cfg, optimizer, steps_per_epoch)
        self.warmup = None
        if cfg.warmup_steps > 0:  # a real LinearLR on a 1-parameter optimizer gives the factor
            self._warm_opt = _dummy_optimizer(1.0)
            self.warmup = L.LinearLR(self._warm_opt, start_factor=cfg.warmup_start_factor,
                                     end_factor=1.0, total_iters=cfg.warmup_steps)
        self.epoch = 0  # completed epochs
        self.batch = 0  # optimizer steps done in the current epoch
        self.main_lrs = [g["lr"] for g in optimizer.param_groups]  # the main schedule's own LR
        self._apply()

    # ---- the two calls the trainer makes -------------------------------------------------------
    def after_batch(self) -> None:
        """Call after each optimizer step."""
        self.batch += 1
        if self.cadence != "batch" and self.warmup is None:
            return  # nothing changes per batch: keep the hot loop free of Python work
        if self.cadence == "batch":
            self._restore()
            if self.name == "cosine_warm_restarts":
                self.main.step(self.epoch + self.batch / self.steps_per_epoch)
            elif self.name != "onecycle" or self.main.last_epoch + 1 < self.main.total_steps:
                # OneCycleLR's last LR is that of step total_steps - 1; a step after the final
                # batch would extrapolate past the cycle, and divide by zero when three_phase
                # leaves its last phase empty (2 · pct_start · total = total + 1): hold it.
                self.main.step()
            self.main_lrs = [g["lr"] for g in self.optimizer.param_groups]
        if self.warmup is not None:
            self._warm_opt.step()  # keeps torch's "scheduler before optimizer" check quiet
            self.warmup.step()
        self._apply()

    def after_epoch(self, metric: float | None = None) -> None:
        """Call after each epoch; ReduceLROnPlateau needs the monitored metric's value."""
        self.epoch += 1
        self.batch = 0
        if self.cadence == "epoch":
            self._restore()
            if self.name == "plateau":
                if metric is None:
                    raise ValueError(f"ReduceLROnPlateau needs the value of {self.monitor}")
                self.main.step(metric)
            else:
                self.main.step()
            self.main_lrs = [g["lr"] for g in self.optimizer.param_groups]
        self._apply()

    # ---- state --------------------------------------------------------------------------------
    @property
    def warmup_factor(self) -> float:
        return 1.0 if self.warmup is None else self._warm_opt.param_groups[0]["lr"]

    @property
    def lr(self) -> float:
        """The LR the next optimizer step uses (first parameter group)."""
        return float(self.optimizer.param_groups[0]["lr"])

    def _restore(self) -> None:
        for g, lr in zip(self.optimizer.param_groups, self.main_lrs, strict=True):
            g["lr"] = lr

    def _apply(self) -> None:
        f = self.warmup_factor
        for g, lr in zip(self.optimizer.param_groups, self.main_lrs, strict=True):
            g["lr"] = lr * f

    def state_dict(self) -> dict[str, Any]:
        return {"main": None if self.main is None else self.main.state_dict(),
                "warmup": None if self.warmup is None else self.warmup.state_dict(),
                "warm_lr": self.warmup_factor, "main_lrs": list(self.main_lrs),
                "epoch": self.epoch, "batch": self.batch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if (state["main"] is None) != (self.main is None):
            raise ValueError("This schedule state belongs to a different scheduler.")
        if self.main is not None:
            self.main.load_state_dict(state["main"])
        if self.warmup is not None and state["warmup"] is not None:
            self.warmup.load_state_dict(state["warmup"])
            self._warm_opt.param_groups[0]["lr"] = state["warm_lr"]
        self.main_lrs = list(state["main_lrs"])
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])
        self._apply()


def build_scheduler(cfg: Any, optimizer: torch.optim.Optimizer,
                    steps_per_epoch: int) -> ScheduleDriver:
    """The ScheduleDriver for cfg.scheduler (+ warmup) on `optimizer`."""
    return ScheduleDriver(cfg, optimizer, steps_per_epoch)


def preview_lr(cfg: Any, steps_per_epoch: int,
               metrics: Sequence[float] | None = None) -> list[float]:
    """The LR of every optimizer step of the run, from the real scheduler on a dummy optimizer.

    ReduceLROnPlateau depends on the run: `metrics` gives the monitored value after each
    epoch; without it the metric never improves (a constant 1.0), the case that shows the cuts.
    """
    opt = _dummy_optimizer(cfg.lr)
    driver = build_scheduler(cfg, opt, steps_per_epoch)
    lrs: list[float] = []
    for epoch in range(cfg.epochs):
        for _ in range(steps_per_epoch):
            lrs.append(driver.lr)
            opt.step()  # a no-op (no gradients) that keeps torch's step-order check quiet
            driver.after_batch()
        metric = 1.0 if metrics is None else float(metrics[min(epoch, len(metrics) - 1)])
        driver.after_epoch(metric)
    return lrs
