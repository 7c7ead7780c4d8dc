"""Carry a schedule from the LR page to the training page as `train_<field>` query params.

The training engine (core/schedulers.py) runs one named schedule from TrainConfig, stepped per
epoch (step, multistep, exponential, cosine, linear, polynomial, plateau) or per batch
(onecycle, cyclic, cosine_warm_restarts with fractional epochs), plus an optional linear warmup
that multiplies it. Schedules it can't run are refused with the reason and the nearest one it
can; approximations are listed by `handoff_notes`. Every mapping is validated by building the
TrainConfig the training page would build.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from core.config import TrainConfig
from core.lr_curves import check_run
from core.lr_params import check_spec
from core.safe_expr import compile_expr

PREFIX = "train_"
PER_EPOCH = {"StepLR": "step", "MultiStepLR": "multistep", "ExponentialLR": "exponential",
             "CosineAnnealingLR": "cosine", "LinearLR": "linear", "PolynomialLR": "polynomial",
             "ReduceLROnPlateau": "plateau"}
_LAMBDA_NEAREST = ("pick the built-in schedule closest to your formula: ExponentialLR for "
                   "gamma ** epoch, PolynomialLR for (1 - epoch / N) ** p, LinearLR for a ramp, "
                   "CosineAnnealingLR for a half cosine, or SequentialLR(LinearLR, X) for a "
                   "warmup into X")


def to_train_params(spec: dict[str, Any], run: dict[str, Any] | None = None) -> dict[str, str]:
    """train_<field> -> text for the training page; ValueError says why a schedule can't go."""
    fields, _ = _map(spec, run)
    return {PREFIX + k: _text(v) for k, v in fields.items()}


def link_params(spec: dict[str, Any], run: dict[str, Any] | None = None) -> dict[str, str]:
    """to_train_params plus every other schedule field at its default: the link must win over
    what the training page kept from an earlier visit (a warmup set there, or handed over by
    an earlier SequentialLR, would otherwise stay and change the LR curve)."""
    rest = {PREFIX + f.name: _text(f.default) for f in dataclasses.fields(TrainConfig)
            if f.metadata.get("group") == "schedule"}
    return rest | to_train_params(spec, run)


def handoff_notes(spec: dict[str, Any], run: dict[str, Any] | None = None) -> list[str]:
    """Where the training run's schedule will differ from the curve shown (empty if exact)."""
    return _map(spec, run)[1]


def from_train_params(params: dict[str, str]) -> dict[str, Any]:
    """The inverse: query-param text back to typed TrainConfig values (as the page parses)."""
    hints = typing.get_type_hints(TrainConfig)
    out: dict[str, Any] = {}
    for key, raw in params.items():
        name = key.removeprefix(PREFIX)
        t = hints[name]
        if t is bool:
            out[name] = raw.lower() in ("1", "true", "yes", "on")
        elif t is int:
            out[name] = int(float(raw))
        elif t is float:
            out[name] = float(raw)
        elif t is str:
            out[name] = raw
        else:  # tuple[int, ...]
            out[name] = tuple(int(p) for p in raw.split(",") if p)
    return out


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return repr(v)  # exact: 1/3 must not become 0.333333
    if isinstance(v, (list, tuple)):
        return ",".join(str(int(x)) for x in v)
    return str(v)


def _map(spec: dict[str, Any], run: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    spec = check_spec(spec)
    run = check_run(run, spec["kind"])
    notes: list[str] = []
    fields: dict[str, Any] = {"lr": run["lr"], "epochs": run["epochs"]}
    if spec["kind"] == "SequentialLR":
        fields.update(_warmup(spec, run, notes))
    else:
        fields.update(_single(spec, run, notes))
    _validate(fields)
    return fields, notes


def _single(spec: dict[str, Any], run: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    kind, p, unit = spec["kind"], spec["params"], run["step_every"]
    _refuse_unsupported(spec)
    if kind in PER_EPOCH:
        if unit != "epoch":
            raise ValueError(f"the training engine steps {kind} once per epoch, but here it is "
                             "stepped every batch, so its counts mean batches. Set 'Step the "
                             "scheduler every' to epoch (and count in epochs) to hand it over")
        return _per_epoch(kind, p, notes)
    if kind == "OneCycleLR":
        _need_batch(kind, unit)
        if p["total_steps"] and p["total_steps"] != run["epochs"] * run["steps_per_epoch"]:
            notes.append(f"total_steps = {p['total_steps']} is not kept: the engine always "
                         "fits the cycle to epochs x its batches per epoch")
        _momentum_note(p, notes)
        notes.append("the engine's batches per epoch come from the dataset and batch size, not "
                     f"from the {run['steps_per_epoch']} assumed here: the same shape, stretched")
        return {"scheduler": "onecycle", "max_lr": p["max_lr"], "pct_start": p["pct_start"],
                "anneal_strategy": p["anneal_strategy"], "div_factor": p["div_factor"],
                "final_div_factor": p["final_div_factor"], "three_phase": p["three_phase"]}
    if kind == "CyclicLR":
        return _cyclic(p, unit, notes)
    return _warm_restarts(p, run, notes)  # CosineAnnealingWarmRestarts: the only kind left


def _refuse_unsupported(spec: dict[str, Any]) -> None:
    kind, p = spec["kind"], spec["params"]
    why = "the training engine runs one named schedule from its config"
    if kind == "ConstantLR":
        raise ValueError(f"{why}, and ConstantLR is not one of them. Nearest: LinearLR with "
                         f"start_factor={p['factor']:g}, end_factor=1, total_iters="
                         f"{p['total_iters']} (it ramps instead of jumping), or a warmup "
                         "(SequentialLR of LinearLR into another schedule)")
    if kind == "LambdaLR":
        raise ValueError(f"{why}; a link or a checkpoint can't carry a formula. Nearest: "
                         f"{_LAMBDA_NEAREST}")
    if kind == "MultiplicativeLR":
        expr = compile_expr(p["lr_lambda"])
        if expr.is_constant:
            raise ValueError(f"{why}, not a formula. Nearest, and exactly the same curve: "
                             f"ExponentialLR with gamma={expr(epoch=0, step=0):g}")
        raise ValueError(f"{why}, not a formula. Nearest: {_LAMBDA_NEAREST}")
    if kind == "ChainedScheduler":
        kids = spec["children"]
        if len(kids) == 2 and kids[0]["kind"] == "LinearLR":
            raise ValueError(f"{why} plus an optional linear warmup. Nearest: SequentialLR of "
                             f"the same LinearLR into {kids[1]['kind']} (milestone = its "
                             "total_iters): the engine's warmup then multiplies the schedule "
                             "much as this chain does")
        raise ValueError(f"{why} plus an optional linear warmup, not a chain of several. "
                         "Nearest: SequentialLR of a LinearLR warmup into one schedule")


def _need_batch(kind: str, unit: str) -> None:
    if unit != "batch":
        raise ValueError(f"the training engine steps {kind} after every batch; set 'Step the "
                         "scheduler every' to batch to hand over the curve it will really run")


def _momentum_note(p: dict[str, Any], notes: list[str]) -> None:
    if p["cycle_momentum"]:
        notes.append("the engine schedules only the LR: momentum (beta1) stays at the "
                     "optimizer's value instead of cycling")


def _per_epoch(kind: str, p: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    name = PER_EPOCH[kind]
    if kind == "StepLR":
        return {"scheduler": name, "step_size": p["step_size"], "gamma": p["gamma"]}
    if kind == "MultiStepLR":
        return {"scheduler": name, "milestones": p["milestones"], "gamma": p["gamma"]}
    if kind == "ExponentialLR":
        return {"scheduler": name, "gamma": p["gamma"]}
    if kind == "CosineAnnealingLR":
        return {"scheduler": name, "t_max": p["T_max"], "eta_min": p["eta_min"]}
    if kind == "LinearLR":
        return {"scheduler": name, "start_factor": p["start_factor"],
                "end_factor": p["end_factor"], "total_iters": p["total_iters"]}
    if kind == "PolynomialLR":
        return {"scheduler": name, "total_iters": p["total_iters"], "power": p["power"]}
    if p["threshold_mode"] != "rel":  # ReduceLROnPlateau
        raise ValueError("the training engine's ReduceLROnPlateau measures improvement "
                         "relative to the best (threshold_mode='rel'); switch threshold_mode "
                         "to rel to hand it over")
    if p["eps"] != 1e-8:
        notes.append("eps is not carried over: the engine uses torch's default 1e-8")
    notes.append("the engine watches your real validation metric, not the simulated curve")
    return {"scheduler": name, "plateau_metric": "val_loss" if p["mode"] == "min" else "val_acc",
            "plateau_factor": p["factor"], "plateau_patience": p["patience"],
            "plateau_threshold": p["threshold"], "cooldown": p["cooldown"],
            "min_lr": p["min_lr"]}


def _cyclic(p: dict[str, Any], unit: str, notes: list[str]) -> dict[str, Any]:
    _need_batch("CyclicLR", unit)
    if p["scale_fn"]:
        raise ValueError("the training engine can't carry a custom scale_fn; nearest: mode "
                         "triangular2 (halves each cycle) or exp_range (decays with gamma)")
    if p["step_size_down"] and p["step_size_down"] != p["step_size_up"]:
        raise ValueError("the training engine's CyclicLR cycles are symmetric; nearest: "
                         f"step_size_down = 0 (= step_size_up = {p['step_size_up']})")
    if p["base_lr"] <= 0 or p["max_lr"] <= 0:
        raise ValueError("to the training engine base_lr = 0 means lr / 10 and max_lr = 0 "
                         "means lr; give both a positive value to hand them over")
    _momentum_note(p, notes)
    return {"scheduler": "cyclic", "base_lr": p["base_lr"], "max_lr": p["max_lr"],
            "step_size_up": p["step_size_up"], "cyclic_mode": p["mode"], "gamma": p["gamma"]}


def _warm_restarts(p: dict[str, Any], run: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    t_0 = p["T_0"]
    if run["step_every"] == "epoch":
        notes.append("the engine steps warm restarts every batch with the fractional epoch: "
                     "the same values at each epoch's start, smooth in between")
    elif not p["epoch_fraction"]:
        if t_0 % run["steps_per_epoch"]:
            raise ValueError(f"the training engine counts T_0 in epochs; T_0 = {t_0} batches "
                             f"is not a whole number of {run['steps_per_epoch']}-batch epochs. "
                             "Turn on epoch_fraction (T_0 in epochs) to hand it over")
        t_0 //= run["steps_per_epoch"]
        notes.append(f"T_0 = {p['T_0']} batches becomes t_0 = {t_0} epochs")
    return {"scheduler": "cosine_warm_restarts", "t_0": t_0, "t_mult": p["T_mult"],
            "eta_min": p["eta_min"]}


def _warmup(spec: dict[str, Any], run: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    kids, m = spec["children"], spec["params"]["milestones"]
    if len(kids) != 2 or kids[0]["kind"] != "LinearLR":
        raise ValueError("the training engine supports one schedule with an optional linear "
                         "warmup in front: SequentialLR of a LinearLR into one scheduler. "
                         "Nearest: keep two schedulers, the first a LinearLR")
    warm = kids[0]["params"]
    if warm["end_factor"] != 1.0:
        raise ValueError("the engine's warmup ends at the full LR: set the LinearLR's "
                         "end_factor to 1")
    steps = min(warm["total_iters"], m[0])
    if warm["total_iters"] > m[0]:
        notes.append(f"the LinearLR is cut at milestone {m[0]} before reaching 1; the engine's "
                     f"warmup reaches the full LR at step {m[0]}")
    per_batch = run["step_every"] == "batch"
    main = _single(kids[1], run, notes)
    notes.append(f"the engine's warmup multiplies {kids[1]['kind']} from the first step "
                 f"instead of starting it at milestone {m[0]}")
    main.update(_shift(main, m[0], notes))
    if not per_batch:
        notes.append(f"warmup_steps counts batches: {steps} epochs x the "
                     f"{run['steps_per_epoch']} batches per epoch assumed here; the engine's "
                     "warmup rises every batch instead of every epoch")
    return {**main, "warmup_steps": steps * (1 if per_batch else run["steps_per_epoch"]),
            "warmup_start_factor": warm["start_factor"]}


def _shift(main: dict[str, Any], by: int, notes: list[str]) -> dict[str, Any]:
    """Move a per-epoch schedule's landmarks by the warmup, so it ends where it does here."""
    name = main["scheduler"]
    if name == "cosine":
        notes.append(f"t_max = T_max + {by}: the cosine still reaches eta_min at the same epoch")
        return {"t_max": main["t_max"] + by}
    if name == "multistep":
        notes.append(f"milestones shifted by {by}: each decay happens at the same epoch as here")
        return {"milestones": [x + by for x in main["milestones"]]}
    if name in ("linear", "polynomial"):
        notes.append(f"total_iters + {by}: it still ends at the same epoch as here")
        return {"total_iters": main["total_iters"] + by}
    if name in ("step", "exponential"):
        notes.append(f"{name} starts at epoch 0 instead of epoch {by}: its decays come "
                     f"{by} epochs earlier than here")
    return {}


def _validate(fields: dict[str, Any]) -> None:
    """Build the TrainConfig the training page would build; its message if it refuses."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(fields) <= names, sorted(set(fields) - names)  # a bug here, not the user's
    try:
        TrainConfig.from_dict(from_train_params({PREFIX + k: _text(v)
                                                 for k, v in fields.items()}))
    except ValueError as exc:
        raise ValueError(f"the training page would refuse it: {exc}") from None
