"""Learning-rate curves from the real torch schedulers, stepped on a real optimizer.

`record_curve(spec, run)` builds the scheduler described by a plain spec dict (see
core/lr_params.py) on an SGD-with-momentum or Adam optimizer and steps it as a training loop
would, recording the LR each optimizer step uses, plus momentum (SGD) or beta1 (Adam), which
OneCycleLR and CyclicLR cycle. Warnings torch emits are captured and explained, and so is the
ValueError OneCycleLR raises when stepped past total_steps.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.optim import lr_scheduler as L

from core import lr_notes, plateau_sim
from core.lr_params import PER_BATCH, check_spec
from core.safe_expr import compile_expr

MAX_STEPS = 20_000  # optimizer steps recorded per curve: ~0.4 s of stepping, a readable chart
RUN_DEFAULTS: dict[str, Any] = {"lr": 0.1, "optimizer": "sgd", "momentum": 0.9, "epochs": 30,
                                "steps_per_epoch": 50, "step_every": "auto",
                                "order": "optimizer_first"}
OPTIMIZERS = ("sgd", "adam")
STEP_EVERY = ("auto", "epoch", "batch")
_WARNINGS_LOCK = threading.Lock()
ORDERS = ("optimizer_first", "scheduler_first")


@dataclass
class Curve:
    """The schedule as recorded: one value per scheduler step (x in steps of `step_every`)."""

    lr: list[float]
    momentum: list[float]
    momentum_name: str  # "momentum" (SGD) or "beta1" (Adam)
    step_every: str  # "epoch" or "batch": what one recorded value lasts
    steps_per_epoch: int
    notes: list[lr_notes.Note] = field(default_factory=list)
    plateau: list[plateau_sim.PlateauStep] | None = None

    @property
    def x_epochs(self) -> list[float]:
        """Epoch at which each value starts (fractional when stepped per batch)."""
        k = 1 if self.step_every == "epoch" else self.steps_per_epoch
        return [i / k for i in range(len(self.lr))]

    @property
    def x_batches(self) -> list[int]:
        """Optimizer step (batch) at which each value starts."""
        k = self.steps_per_epoch if self.step_every == "epoch" else 1
        return [i * k for i in range(len(self.lr))]

    @property
    def cycles_momentum(self) -> bool:
        return len(set(self.momentum)) > 1


def check_run(run: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    """The run settings with defaults filled in and 'auto' resolved (ValueError if bad)."""
    r = {**RUN_DEFAULTS, **(run or {})}
    unknown = sorted(set(r) - set(RUN_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown run setting(s): {', '.join(unknown)}")
    if not 0 < float(r["lr"]) <= 10:
        raise ValueError(f"lr must be in (0, 10], got {r['lr']}")
    if r["optimizer"] not in OPTIMIZERS or r["step_every"] not in STEP_EVERY \
            or r["order"] not in ORDERS:
        raise ValueError("optimizer, step_every or order has an unknown value")
    if not 0 <= float(r["momentum"]) < 1:
        raise ValueError(f"momentum / beta1 must be in [0, 1), got {r['momentum']}")
    if not 1 <= int(r["epochs"]) <= 5000 or not 1 <= int(r["steps_per_epoch"]) <= 10_000:
        raise ValueError("epochs must be in [1, 5000] and steps_per_epoch in [1, 10000]")
    if r["step_every"] == "auto":
        r["step_every"] = "batch" if kind in PER_BATCH else "epoch"
    if kind == "ReduceLROnPlateau":
        r["step_every"] = "epoch"  # one validation value per epoch
    steps = r["epochs"] * (r["steps_per_epoch"] if r["step_every"] == "batch" else 1)
    if steps > MAX_STEPS:
        raise ValueError(f"{r['epochs']} epochs x {r['steps_per_epoch']} batches is {steps} "
                         f"scheduler steps; the page draws at most {MAX_STEPS}: use fewer "
                         "epochs or batches per epoch")
    return {**r, "lr": float(r["lr"]), "momentum": float(r["momentum"]),
            "epochs": int(r["epochs"]), "steps_per_epoch": int(r["steps_per_epoch"])}


def make_optimizer(run: dict[str, Any]) -> torch.optim.Optimizer:
    """SGD with momentum or Adam (beta1 = run['momentum']) over one real parameter."""
    weight = torch.nn.Parameter(torch.zeros(2))
    if run["optimizer"] == "adam":
        return torch.optim.Adam([weight], lr=run["lr"], betas=(run["momentum"], 0.999))
    return torch.optim.SGD([weight], lr=run["lr"], momentum=run["momentum"])


def build_scheduler(spec: dict[str, Any], optimizer: torch.optim.Optimizer,
                    run: dict[str, Any]) -> Any:
    """The torch scheduler for a checked spec (composites build their children first)."""
    kind, p = spec["kind"], dict(spec["params"])
    if kind in ("SequentialLR", "ChainedScheduler"):
        children = [build_scheduler(c, optimizer, run) for c in spec["children"]]
        if kind == "SequentialLR":
            return L.SequentialLR(optimizer, children, milestones=p["milestones"])
        return L.ChainedScheduler(children, optimizer=optimizer)
    p.pop("epoch_fraction", None)  # the page's stepping choice, not a torch argument
    if kind in ("LambdaLR", "MultiplicativeLR"):
        p["lr_lambda"] = _formula(f"{kind} lr_lambda", p["lr_lambda"], ("epoch", "step"))
    if kind == "CyclicLR":
        p["step_size_down"] = p["step_size_down"] or None
        p["scale_fn"] = _formula("CyclicLR scale_fn", p["scale_fn"], ("x",)) \
            if p["scale_fn"] else None
    if kind == "OneCycleLR" and p["total_steps"] == 0:
        p["total_steps"] = None  # torch then uses epochs x steps_per_epoch
        p["epochs"], p["steps_per_epoch"] = run["epochs"], run["steps_per_epoch"]
    if kind == "ReduceLROnPlateau":
        p.pop("mode")
        return L.ReduceLROnPlateau(optimizer, mode=spec["params"]["mode"], **p)
    return getattr(L, kind)(optimizer, **p)


class FormulaError(ValueError):
    """The user's formula failed while torch evaluated it (e.g. a division by zero)."""


def _formula(what: str, text: str, variables: tuple[str, ...]) -> Any:
    """The safe expression as the one-argument function torch calls."""
    expr = compile_expr(text, variables)

    def call(value: float) -> float:
        try:
            return expr(**{v: value for v in variables})
        except ValueError as exc:
            raise FormulaError(f"{what}: {exc}") from None
    return call


def _momentum(optimizer: torch.optim.Optimizer) -> float:
    g = optimizer.param_groups[0]
    return float(g["betas"][0] if "betas" in g else g["momentum"])


def record_curve(spec: dict[str, Any], run: dict[str, Any] | None = None) -> Curve:
    """Step the scheduler through the run and record what each optimizer step uses."""
    metric = spec.get("metric") if isinstance(spec, dict) else None
    spec = check_spec(spec)
    run = check_run(run, spec["kind"])
    opt = make_optimizer(run)
    per_batch = run["step_every"] == "batch"
    n = run["epochs"] * (run["steps_per_epoch"] if per_batch else 1)
    curve = Curve([], [], "beta1" if run["optimizer"] == "adam" else "momentum",
                  run["step_every"], run["steps_per_epoch"])
    # catch_warnings swaps process-wide state: one recording at a time across sessions
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every warning, even one torch already gave
        try:
            sched = build_scheduler(spec, opt, run)
        except FormulaError:
            raise
        except ZeroDivisionError as exc:
            if spec["kind"] != "OneCycleLR":
                raise ValueError(f"torch refused these settings: {exc}") from None
            p = spec["params"]
            total = p["total_steps"] or run["epochs"] * run["steps_per_epoch"]
            raise ValueError(lr_notes.onecycle_zero_warm_up(p["pct_start"], total)) from None
        except (ValueError, TypeError) as exc:
            raise ValueError(f"torch refused these settings: {exc}") from None
        if spec["kind"] == "ReduceLROnPlateau":
            _record_plateau(curve, metric or {}, spec, run, sched, opt)
        else:
            _record_steps(curve, spec, run, sched, opt, n)
    curve.notes = lr_notes.explain_warnings(caught) + curve.notes
    curve.notes += lr_notes.schedule_notes(spec, run, curve)
    return curve


def _record_steps(curve: Curve, spec: dict[str, Any], run: dict[str, Any], sched: Any,
                  opt: torch.optim.Optimizer, n: int) -> None:
    fractional = (spec["kind"] == "CosineAnnealingWarmRestarts" and run["step_every"] == "batch"
                  and spec["params"]["epoch_fraction"])
    wrong_order = run["order"] == "scheduler_first"
    for i in range(n):
        try:
            if wrong_order:
                _step(sched, fractional, i, run)
            curve.lr.append(float(opt.param_groups[0]["lr"]))  # the LR this step trains with
            curve.momentum.append(_momentum(opt))
            opt.step()
            if not wrong_order:
                _step(sched, fractional, i + 1, run)
        except FormulaError:
            raise
        except ValueError as exc:
            if "Tried to step" in str(exc):  # OneCycleLR past total_steps (maybe in a composite)
                curve.notes.append(lr_notes.onecycle_overrun(exc, i, n))
                return
            raise ValueError(f"stepping failed at step {i}: {exc}") from None
        except ZeroDivisionError:
            curve.notes.append(lr_notes.zero_division(spec["kind"], i))
            return
        except OverflowError:
            curve.notes.append(lr_notes.overflow(spec["kind"], i))
            return


def _step(sched: Any, fractional: bool, i: int, run: dict[str, Any]) -> None:
    """One scheduler.step(); warm restarts get the fractional epoch the docs pass."""
    if fractional:
        sched.step(i / run["steps_per_epoch"])  # i optimizer steps done = epoch + batch/iters
    else:
        sched.step()


def _record_plateau(curve: Curve, metric: dict[str, Any], spec: dict[str, Any],
                    run: dict[str, Any], sched: Any, opt: torch.optim.Optimizer) -> None:
    values = plateau_sim.simulate_metric(metric, run["epochs"], spec["params"]["mode"])
    curve.plateau = plateau_sim.run_plateau(sched, opt, values)
    for s in curve.plateau:
        curve.lr.append(s.lr_before)  # the LR this epoch trained with
        curve.momentum.append(_momentum(opt))
