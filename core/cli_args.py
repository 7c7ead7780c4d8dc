"""Command-line flags generated from TrainConfig's fields: a default and a help text are
written once, in core/config.py. Precedence: defaults < --preset < --config file < flags."""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

from core.config import TrainConfig
from core.presets import PRESETS

GROUP_TITLES = {"data": "data", "model": "model", "optim": "optimisation",
                "schedule": "learning-rate schedule", "run": "run"}


def int_list(text: str) -> tuple[int, ...]:
    """'10,15' -> (10, 15); '' -> ()."""
    try:
        return tuple(int(p) for p in text.replace(" ", "").split(",") if p)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got "
                                         f"{text!r}") from None


def _number(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            return kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None

    parse.__name__ = kind.__name__
    return parse


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field (--batch-size and --batch_size alike), default SUPPRESS so
    only flags actually given override the preset and the config file."""
    hints = typing.get_type_hints(TrainConfig)
    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in dataclasses.fields(TrainConfig):
        meta = f.metadata
        title = GROUP_TITLES.get(meta.get("group", ""), "other")
        group = groups.get(title) or groups.setdefault(title, parser.add_argument_group(title))
        names = [f"--{f.name.replace('_', '-')}"]
        if "_" in f.name:
            names.append(f"--{f.name}")
        t = hints[f.name]
        default = list(f.default) if isinstance(f.default, tuple) else f.default
        help_text = f"{meta.get('help', '')} (default: {json.dumps(default)})"
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_text}
        if t is bool:
            group.add_argument(*names, action=argparse.BooleanOptionalAction, **kw)
            continue
        if t is int:
            kw["type"], kw["metavar"] = _number(int), "N"
        elif t is float:
            kw["type"], kw["metavar"] = _number(float), "X"
        elif t is str:
            kw["type"] = str
            if "choices" in meta:
                kw["choices"] = list(meta["choices"])
            else:
                kw["metavar"] = "TEXT"
        else:  # tuple[int, ...]
            kw["type"], kw["metavar"] = int_list, "N,N,..."
        group.add_argument(*names, **kw)


def build_parser() -> argparse.ArgumentParser:
    """The parser of `python -m core.train`."""
    p = argparse.ArgumentParser(
        prog="python -m core.train",
        description="Train a network with torch-playground's engine, without the app.",
        epilog="Presets: " + ", ".join(PRESETS) + ". Example: python -m core.train "
               "--preset digits-mlp --epochs 5 --out runs/digits")
    run = p.add_argument_group("command")
    run.add_argument("--config", metavar="FILE", help="JSON file of config fields (flags given "
                     "on the command line override its values).")
    run.add_argument("--preset", choices=list(PRESETS), help="A named starting config.")
    run.add_argument("--out", metavar="DIR", help="Write model.pt, model.safetensors, "
                     "checkpoint.pt, metrics.csv and config.json here.")
    run.add_argument("--resume", metavar="CHECKPOINT", help="Continue the run saved in a "
                     "checkpoint.pt (its config is used; --epochs may extend it).")
    run.add_argument("--no-progress", action="store_true", help="No progress bar.")
    run.add_argument("--script", action="store_true", help="Print a standalone PyTorch script "
                     "for this config and exit.")
    add_config_flags(p)
    return p


def config_values(ns: argparse.Namespace) -> dict[str, Any]:
    """The config fields given on the command line."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return {k: v for k, v in vars(ns).items() if k in names}


def read_config_file(path: str) -> dict[str, Any]:
    """A JSON object of config fields (or a checkpoint-style {'config': {...}})."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"--config {path}: no such file.")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"--config {path} is not valid JSON: {e}") from None
    if isinstance(data, dict) and isinstance(data.get("config"), dict):
        data = data["config"]
    if not isinstance(data, dict):
        raise ValueError(f"--config {path} must hold a JSON object of config fields.")
    return data


def config_from_args(ns: argparse.Namespace) -> TrainConfig:
    """Merge preset, config file and flags into one validated TrainConfig."""
    merged: dict[str, Any] = {}
    if ns.preset:
        merged.update(PRESETS[ns.preset])
    if ns.config:
        merged.update(read_config_file(ns.config))
    merged.update(config_values(ns))
    return TrainConfig.from_dict(merged)
