"""Evaluate uploaded weights: a .pt / .safetensors state_dict or a full checkpoint, loaded
weights-only (core.export), into the model its config describes, on that config's data.

A checkpoint carries its own config; plain weights are evaluated with the config given (the
training page's current settings), and a mismatch is reported key by key by
core.export.fit_state_dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.config import TrainConfig
from core.data import load_data
from core.device import resolve_device
from core.evaluate import EvalResult, evaluate
from core.export import fit_state_dict, load_checkpoint, read_state_dict
from core.models import build_model
from core.optim import build_objective


@dataclass
class UploadEvaluation:
    """The metrics, the config they were computed with, and where that config came from."""

    result: EvalResult
    cfg: TrainConfig
    source: str  # "checkpoint" | "settings"
    notes: list[str] = field(default_factory=list)


def read_checkpoint(data: bytes, filename: str) -> dict | None:
    """The checkpoint dict (core.export.load_checkpoint) or None for plain weights."""
    if filename.lower().endswith(".safetensors"):
        return None
    try:
        return load_checkpoint(data)
    except ValueError:
        return None


def evaluate_upload(data: bytes, filename: str, cfg: TrainConfig,
                    split: str | None = None) -> UploadEvaluation:
    """Loss, accuracy and confusion matrix of the uploaded weights (ValueError if they don't
    fit or the file is not weights)."""
    notes: list[str] = []
    source = "settings"
    ck = read_checkpoint(data, filename)
    if ck is not None:
        cfg, source, notes = ck["config"], "checkpoint", list(ck["notes"])
        state = ck["model"]
    else:
        state = read_state_dict(data, filename)
    bundle = load_data(cfg, resolve_device(cfg.device))
    objective = build_objective(cfg, bundle.task, bundle.num_classes)
    model = build_model(cfg, tuple(bundle.input_shape), objective.num_outputs)
    fit_state_dict(model, state)
    model.load_state_dict(state)
    model.to(bundle.device)
    if split is None:
        split = "test" if bundle.test is not None and len(bundle.test) else "val"
    return UploadEvaluation(evaluate(model, bundle, split, objective), cfg, source, notes)

