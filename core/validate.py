"""Range checks and combination rules for TrainConfig; every message names the field(s).

`validate(cfg)` runs in TrainConfig.__post_init__, so an invalid config cannot exist.
`check_data(cfg, bundle)` runs once the data is loaded, for what only the data can tell
(how many classes a CSV has, whether the validation split came out empty).

Decision: mse / l1 / smooth_l1 on a classification set are allowed and compare the model's raw
outputs with one-hot targets (0/1 per class), as in "squared loss for classification"; the
predicted class is the largest output. cross_entropy and bce_with_logits on a regression set
are refused.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

from core import config as C

# name -> (low, high, low inclusive, high inclusive). Every numeric field is listed here.
RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "n_samples": (10, 200_000, True, True), "noise": (0, 5, True, True),
    "spiral_arms": (2, 10, True, True), "blob_centers": (2, 20, True, True),
    "image_size": (8, 256, True, True), "val_split": (0, 0.9, True, True),
    "test_split": (0, 0.9, True, True), "subset": (0, 10_000_000, True, True),
    "data_seed": (0, 2**32 - 1, True, True),
    "depth": (1, 64, True, True), "width": (1, 4096, True, True), "cnn_channels": (1, 512, True, True),
    "swish_beta": (0, 10, False, True), "norm_groups": (1, 1024, True, True),
    "dropout": (0, 1, True, False),
    "lr": (0, 1000, False, True), "momentum": (0, 1, True, False),
    "dampening": (0, 1, True, True), "weight_decay": (0, 1, True, True),
    "beta1": (0, 1, True, False), "beta2": (0, 1, True, False), "eps": (0, 1, False, True),
    "alpha": (0, 1, True, True), "rho": (0, 1, True, True),
    "label_smoothing": (0, 1, True, False), "batch_size": (1, 65536, True, True),
    "epochs": (1, 10_000, True, True), "grad_accum_steps": (1, 1024, True, True),
    "clip_value": (0, 1e6, False, True),
    "step_size": (1, 10_000, True, True), "gamma": (0, 1, False, True),
    "t_max": (0, 10_000, True, True), "eta_min": (0, 1000, True, True),
    "t_0": (1, 10_000, True, True), "t_mult": (1, 10, True, True),
    "max_lr": (0, 1000, True, True), "pct_start": (0, 1, False, False),
    "div_factor": (1, 1e6, True, True), "final_div_factor": (1, 1e12, True, True),
    "base_lr": (0, 1000, True, True), "step_size_up": (1, 1_000_000, True, True),
    "start_factor": (0, 1, False, True), "end_factor": (0, 1, True, True),
    "total_iters": (1, 10_000, True, True), "power": (0, 100, False, True),
    "plateau_factor": (0, 1, False, False), "plateau_patience": (0, 1000, True, True),
    "plateau_threshold": (0, 1, True, True), "cooldown": (0, 1000, True, True),
    "min_lr": (0, 1000, True, True), "warmup_steps": (0, 10_000_000, True, True),
    "warmup_start_factor": (0, 1, False, True),
    "early_stop_patience": (0, 10_000, True, True),
    "early_stop_min_delta": (0, 1e6, True, True),
    "seed": (0, 2**32 - 1, True, True), "threads": (0, 256, True, True),
    "log_every": (1, 1_000_000, True, True),
}
# Classes of the sets whose class count is known before loading (None: it depends on a field).
# Per-sample input shapes known before loading (csv and image_folder depend on the files).
KNOWN_SHAPES = {"moons": (2,), "circles": (2,), "spiral": (2,), "xor": (2,), "blobs": (2,),
                "regression": (1,), "digits": (1, 8, 8), "mnist": (1, 28, 28),
                "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
KNOWN_CLASSES = {"moons": 2, "circles": 2, "xor": 2, "digits": 10, "mnist": 10,
                 "fashion_mnist": 10, "cifar10": 10}


class ConfigError(ValueError):
    """One or more config problems; `.problems` is a list of (field names, message)."""

    def __init__(self, problems: list[tuple[tuple[str, ...], str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(msg for _, msg in problems))

    @property
    def fields(self) -> list[str]:
        return sorted({f for names, _ in self.problems for f in names})


def _interval(lo: float, hi: float, lo_inc: bool, hi_inc: bool) -> str:
    def num(v: float) -> str:  # whole bounds in full: seed's 4294967295, not 4.29497e+09
        return str(int(v)) if float(v).is_integer() and abs(v) < 2**53 else f"{v:g}"
    return f"{'[' if lo_inc else '('}{num(lo)}, {num(hi)}{']' if hi_inc else ')'}"


def _coerce_types(cfg: Any, add: Any) -> None:
    """Check each value's type; ints become floats and lists tuples where the field says so."""
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        v, t, name = getattr(cfg, f.name), hints[f.name], f.name
        if t is bool:
            if not isinstance(v, bool):
                add((name,), f"{name} must be true or false, got {v!r}")
        elif t is int:
            if isinstance(v, float) and v.is_integer():
                object.__setattr__(cfg, name, int(v))
            elif isinstance(v, bool) or not isinstance(v, int):
                add((name,), f"{name} must be a whole number, got {v!r}")
        elif t is float:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                add((name,), f"{name} must be a number, got {v!r}")
            elif not math.isfinite(v):
                add((name,), f"{name} must be a finite number, got {v!r}")
            else:
                object.__setattr__(cfg, name, float(v))
        elif t is str:
            if not isinstance(v, str):
                add((name,), f"{name} must be text, got {v!r}")
            elif "choices" in f.metadata and v not in f.metadata["choices"]:
                add((name,), f"{name}={v!r} is not one of: {', '.join(f.metadata['choices'])}")
        elif name == "milestones":
            if isinstance(v, list):
                v = tuple(v)
                object.__setattr__(cfg, name, v)
            if not isinstance(v, tuple) or not all(
                    isinstance(m, int) and not isinstance(m, bool) for m in v):
                add((name,), f"milestones must be a list of whole numbers, got {v!r}")


def _check_ranges(cfg: Any, add: Any, bad: set[str]) -> None:
    for name, (lo, hi, lo_inc, hi_inc) in RANGES.items():
        if name in bad:
            continue
        v = getattr(cfg, name)
        ok = (v >= lo if lo_inc else v > lo) and (v <= hi if hi_inc else v < hi)
        if not ok:
            add((name,), f"{name} must be in {_interval(lo, hi, lo_inc, hi_inc)}, got {v!r}")
    if "milestones" not in bad:
        ms = cfg.milestones
        if any(m < 1 for m in ms) or any(b <= a for a, b in zip(ms, ms[1:], strict=False)):
            add(("milestones",), f"milestones must be increasing epochs >= 1, got {list(ms)}")
        elif cfg.scheduler == "multistep" and not ms:
            add(("milestones", "scheduler"),
                "scheduler='multistep' needs milestones (at least one epoch)")


def known_task(cfg: Any) -> tuple[str | None, int | None]:
    """(task, classes) as far as the config alone tells; None where only the data can say."""
    if cfg.dataset == "regression" or (cfg.dataset == "csv" and cfg.csv_task == "regression"):
        return "regression", None
    if cfg.dataset == "spiral":
        return "classification", cfg.spiral_arms
    if cfg.dataset == "blobs":
        return "classification", cfg.blob_centers
    if cfg.dataset in KNOWN_CLASSES:
        return "classification", KNOWN_CLASSES[cfg.dataset]
    if cfg.dataset == "csv" and cfg.csv_task == "classification":
        return "classification", None
    return None, None  # csv with csv_task=auto, image_folder: decided when loaded


def task_rules(cfg: Any, task: str | None, classes: int | None, add: Any) -> None:
    """Loss and monitored metrics against the task (also run again once the data is loaded)."""
    where = f"dataset={cfg.dataset!r}"
    if task == "regression":
        if cfg.loss not in C.REGRESSION_LOSSES:
            add(("loss", "dataset"), f"loss={cfg.loss!r} needs class labels, but {where} is a "
                "regression task: use mse, l1 or smooth_l1")
        if cfg.early_stop_patience > 0 and cfg.early_stop_metric == "val_acc":
            add(("early_stop_metric", "dataset"), f"early_stop_metric='val_acc': {where} is a "
                "regression task with no accuracy; watch val_loss instead")
        if cfg.scheduler == "plateau" and cfg.plateau_metric == "val_acc":
            add(("plateau_metric", "dataset"), f"plateau_metric='val_acc': {where} is a "
                "regression task with no accuracy; watch val_loss instead")
    if task == "classification" and classes is not None and cfg.loss == "bce_with_logits":
        if classes != 2:
            add(("loss", "dataset"), f"loss='bce_with_logits' is for 2-class data, but {where} "
                f"has {classes} classes: use cross_entropy")


def _check_combinations(cfg: Any, add: Any) -> None:
    if cfg.dataset == "csv" and not cfg.csv_path.strip():
        add(("csv_path", "dataset"), "dataset='csv' needs csv_path (the path of your CSV file)")
    if cfg.dataset == "image_folder" and not cfg.image_folder.strip():
        add(("image_folder", "dataset"), "dataset='image_folder' needs image_folder (a folder "
            "or .zip with one sub-folder of pictures per class)")
    if cfg.model in C.IMAGE_MODELS and cfg.dataset not in C.IMAGE_DATASETS:
        add(("model", "dataset"), f"model={cfg.model!r} needs an image dataset "
            f"({', '.join(C.IMAGE_DATASETS)}); dataset={cfg.dataset!r} is not one: use model='mlp'")
    if cfg.optimizer == "sgd" and cfg.nesterov and (cfg.momentum <= 0 or cfg.dampening != 0):
        add(("nesterov", "momentum", "dampening"), "nesterov=True needs momentum > 0 and "
            f"dampening = 0 (got momentum={cfg.momentum:g}, dampening={cfg.dampening:g})")
    if cfg.label_smoothing > 0 and cfg.loss != "cross_entropy":
        add(("label_smoothing", "loss"), f"label_smoothing={cfg.label_smoothing:g} only works "
            f"with loss='cross_entropy' (got loss={cfg.loss!r}); set it to 0")
    task_rules(cfg, *known_task(cfg), add)
    if cfg.model == "mlp" and cfg.norm == "batch" and cfg.batch_size == 1:
        add(("norm", "batch_size"), "norm='batch' in the MLP needs batch_size ≥ 2: BatchNorm1d "
            "normalises each unit over the batch, and one sample has no spread (torch refuses "
            "it in training); use a bigger batch or norm='layer'")
    if cfg.model == "mlp" and cfg.norm == "group" and cfg.width % cfg.norm_groups:
        add(("norm_groups", "width"), f"norm_groups={cfg.norm_groups} must divide width="
            f"{cfg.width} for GroupNorm")
    no_val = cfg.val_split == 0
    if cfg.scheduler == "plateau" and cfg.plateau_metric.startswith("val_") and no_val:
        add(("plateau_metric", "val_split"), f"scheduler='plateau' watches plateau_metric="
            f"{cfg.plateau_metric!r}, which needs val_split > 0 (or plateau_metric='train_loss')")
    if cfg.early_stop_patience > 0 and cfg.early_stop_metric.startswith("val_") and no_val:
        add(("early_stop_metric", "val_split"), f"early_stop_metric={cfg.early_stop_metric!r} "
            "needs a validation split: set val_split > 0 (or early_stop_metric='train_loss')")
    _schedule_rules(cfg, add)
    _device_rules(cfg, add)
    shape = KNOWN_SHAPES.get(cfg.dataset)
    if cfg.dataset == "image_folder":
        shape = (3, cfg.image_size, cfg.image_size)  # decoded as RGB, resized square
    if shape is not None:
        from core.models.fits import fit_problems  # shape rules only: cheap, no model built

        for names, msg in fit_problems(cfg, shape):
            add(names, msg)


def _schedule_rules(cfg: Any, add: Any) -> None:
    if cfg.scheduler == "cyclic":
        low, high = cfg.base_lr or cfg.lr / 10, cfg.max_lr or cfg.lr
        if low >= high:
            add(("base_lr", "max_lr"), f"CyclicLR needs base_lr < max_lr (got {low:g} and "
                f"{high:g}; 0 means lr/10 and lr)")
    if cfg.scheduler in ("cosine", "cosine_warm_restarts") and cfg.eta_min >= cfg.lr:
        add(("eta_min", "lr"), f"eta_min={cfg.eta_min:g} must be below lr={cfg.lr:g}")
    if cfg.scheduler == "plateau" and cfg.min_lr > cfg.lr:
        add(("min_lr", "lr"), f"min_lr={cfg.min_lr:g} must not exceed lr={cfg.lr:g}")


def _device_rules(cfg: Any, add: Any) -> None:
    from core.device import resolve_device  # imports torch; kept out of module import time

    try:
        dev = resolve_device(cfg.device)
    except ValueError as e:
        add(("device",), str(e))
        return
    if cfg.amp == "fp16" and dev.type != "cuda":
        add(("amp", "device"), f"amp='fp16' needs a CUDA GPU (device={cfg.device!r} runs on "
            f"{dev.type}); use amp='bf16' or 'off'")
    if cfg.amp == "bf16" and dev.type == "cuda":
        import torch

        if not torch.cuda.is_bf16_supported():
            add(("amp", "device"), "amp='bf16': this GPU has no bf16 support; use amp='fp16'")


def validate(cfg: Any) -> None:
    """Raise ConfigError (a ValueError) listing every problem of `cfg`, each naming its fields."""
    problems: list[tuple[tuple[str, ...], str]] = []

    def add(names: tuple[str, ...], msg: str) -> None:
        problems.append((names, msg))

    _coerce_types(cfg, add)
    if problems:  # wrong types would make the range checks themselves crash
        raise ConfigError(problems)
    _check_ranges(cfg, add, set())
    if not problems:
        _check_combinations(cfg, add)
    if problems:
        raise ConfigError(problems)


def check_data(cfg: Any, bundle: Any) -> None:
    """Rules only the loaded data can decide (CSV class counts, empty validation split)."""
    problems: list[tuple[tuple[str, ...], str]] = []

    def add(names: tuple[str, ...], msg: str) -> None:
        problems.append((names, msg))

    classes = bundle.num_classes if bundle.task == "classification" else None
    task_rules(cfg, bundle.task, classes, add)
    if bundle.task == "classification" and bundle.num_classes < 2:
        add(("dataset",), f"{bundle.name} has only {bundle.num_classes} class: a classifier "
            "needs at least 2")
    empty_val = len(bundle.val) == 0
    if empty_val and cfg.early_stop_patience > 0 and cfg.early_stop_metric.startswith("val_"):
        add(("early_stop_metric", "val_split"), f"early_stop_metric={cfg.early_stop_metric!r} "
            f"needs validation data, but the validation split of {bundle.name} came out empty "
            f"(val_split={cfg.val_split:g}); raise val_split or watch train_loss")
    if empty_val and cfg.scheduler == "plateau" and cfg.plateau_metric.startswith("val_"):
        add(("plateau_metric", "val_split"), f"plateau_metric={cfg.plateau_metric!r} needs "
            f"validation data, but the validation split of {bundle.name} came out empty "
            f"(val_split={cfg.val_split:g}); raise val_split or watch train_loss")
    if problems:
        raise ConfigError(problems)
