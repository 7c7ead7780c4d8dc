"""The training page's config form: one widget per TrainConfig field, generated from
`dataclasses.fields`, grouped by metadata["group"], help text from metadata["help"].

Keys are `train_<field>` and every value lives in the URL (ui/state.py), so a link, and the LR
page's hand-off (core/lr_handoff.py), reproduce a config. Only fields that matter for the chosen
dataset / model / optimizer / scheduler are shown; hidden ones take their defaults.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any

import streamlit as st

from core import config as C
from core.config import TrainConfig
from core.device import describe_devices
from core.presets import PRESETS
from core.validate import RANGES
from ui import state

PREFIX = "train_"
GROUPS = (("data", "Data", ":material/dataset:"), ("model", "Model", ":material/hub:"),
          ("optim", "Optimisation", ":material/tune:"),
          ("schedule", "LR schedule", ":material/trending_down:"),
          ("run", "Regularisation and run", ":material/settings:"))
OPEN_GROUPS = ("data", "model", "optim")
SYNTHETIC = ("moons", "circles", "spiral", "xor", "blobs", "regression")
TORCHVISION = ("mnist", "fashion_mnist", "cifar10")

Values = dict[str, Any]


def _sched(*names: str) -> Callable[[Values], bool]:
    return lambda v: v["scheduler"] in names


# field -> "is it relevant, given the values chosen above it?" (absent: always shown). A rule
# may only read fields declared before its own (the form renders in declaration order).
RELEVANT: dict[str, Callable[[Values], bool]] = {
    "data_root": lambda v: v["dataset"] in TORCHVISION,
    "n_samples": lambda v: v["dataset"] in SYNTHETIC,
    "noise": lambda v: v["dataset"] in SYNTHETIC,
    "spiral_arms": lambda v: v["dataset"] == "spiral",
    "blob_centers": lambda v: v["dataset"] == "blobs",
    "csv_path": lambda v: v["dataset"] == "csv",
    "csv_label": lambda v: v["dataset"] == "csv",
    "csv_task": lambda v: v["dataset"] == "csv",
    "image_folder": lambda v: v["dataset"] == "image_folder",
    "image_size": lambda v: v["dataset"] == "image_folder",
    "test_split": lambda v: v["dataset"] not in TORCHVISION,
    "augment": lambda v: v["dataset"] in C.IMAGE_DATASETS,
    "depth": lambda v: v["model"] in ("mlp", "resnet"),
    "width": lambda v: v["model"] in ("mlp", "resnet"),
    "cnn_channels": lambda v: v["model"] == "cnn",
    "activation": lambda v: v["model"] == "mlp",
    "swish_beta": lambda v: v["model"] == "mlp" and v["activation"] == "swish",
    "norm": lambda v: v["model"] in ("mlp", "cnn"),
    "norm_groups": lambda v: v["model"] in ("mlp", "cnn") and v["norm"] == "group",
    "grad_checkpointing": lambda v: v["model"] in ("mlp", "resnet"),
    "channels_last": lambda v: v["model"] in C.IMAGE_MODELS,
    "momentum": lambda v: v["optimizer"] in ("sgd", "rmsprop"),
    "nesterov": lambda v: v["optimizer"] == "sgd",
    "dampening": lambda v: v["optimizer"] == "sgd",
    "beta1": lambda v: v["optimizer"] in ("adam", "adamw"),
    "beta2": lambda v: v["optimizer"] in ("adam", "adamw"),
    "eps": lambda v: v["optimizer"] != "sgd",
    "alpha": lambda v: v["optimizer"] == "rmsprop",
    "rho": lambda v: v["optimizer"] == "adadelta",
    "label_smoothing": lambda v: v["loss"] == "cross_entropy",
    "clip_value": lambda v: v["clip_mode"] != "none",
    "step_size": _sched("step"),
    "gamma": _sched("step", "multistep", "exponential", "cyclic"),  # cyclic: exp_range only
    "milestones": _sched("multistep"),
    "t_max": _sched("cosine"),
    "eta_min": _sched("cosine", "cosine_warm_restarts"),
    "t_0": _sched("cosine_warm_restarts"),
    "t_mult": _sched("cosine_warm_restarts"),
    "max_lr": _sched("onecycle", "cyclic"),
    **{name: _sched("onecycle") for name in ("pct_start", "anneal_strategy", "div_factor",
                                              "final_div_factor", "three_phase")},
    "base_lr": _sched("cyclic"),
    "cyclic_mode": _sched("cyclic"),
    "step_size_up": _sched("cyclic"),
    "start_factor": _sched("linear"),
    "end_factor": _sched("linear"),
    "total_iters": _sched("linear", "polynomial"),
    "power": _sched("polynomial"),
    **{name: _sched("plateau") for name in ("plateau_metric", "plateau_factor",
                                             "plateau_patience", "plateau_threshold",
                                             "cooldown", "min_lr")},
    "warmup_start_factor": lambda v: v["warmup_steps"] > 0,
    "early_stop_min_delta": lambda v: v["early_stop_patience"] > 0,
    "early_stop_metric": lambda v: v["early_stop_patience"] > 0,
}
# Steps of the +/- buttons for float fields (default 0.01): the typical size of a change.
STEPS = {"lr": 1e-3, "momentum": 0.01, "beta1": 0.01, "beta2": 1e-3, "eps": 1e-9,
         "weight_decay": 1e-4, "eta_min": 1e-4, "base_lr": 1e-3, "min_lr": 1e-5,
         "plateau_threshold": 1e-4, "early_stop_min_delta": 1e-3, "div_factor": 1.0,
         "final_div_factor": 100.0, "swish_beta": 0.1, "power": 0.1, "clip_value": 0.1}
HINTS = typing.get_type_hints(TrainConfig)
# The page's defaults are the engine's, but long enough to watch: TrainConfig's 20 epochs
# (200 steps) end in well under a second, before the live charts first redraw; 300 take about
# 3 s on a 2-core CPU, so the decision boundary and the curves are seen forming.
PAGE_EPOCHS = 300
DEFAULTS = TrainConfig(epochs=PAGE_EPOCHS)


def fields_of(group: str) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(TrainConfig) if f.metadata["group"] == group]


def default_of(name: str) -> Any:
    """The default as its widget holds it (milestones as text)."""
    value = getattr(DEFAULTS, name)
    return ",".join(str(m) for m in value) if isinstance(value, tuple) else value


def _bounds(name: str, kind: type) -> dict[str, Any]:
    lo, hi, lo_inc, hi_inc = RANGES.get(name, (None, None, False, False))
    out: dict[str, Any] = {}
    if lo is not None and lo_inc:  # open bounds are left to the validator's message
        out["min_value"] = kind(lo)
    if hi is not None and hi_inc and hi < 1e9:
        out["max_value"] = kind(hi)
    return out


def field_widget(f: dataclasses.Field) -> Any:
    """The URL-bound widget of one field; returns the widget's value."""
    name, key, kind = f.name, PREFIX + f.name, HINTS[f.name]
    default, help_ = default_of(name), f.metadata["help"]
    if name == "device":
        return device_widget(key, help_)
    if "choices" in f.metadata:
        return state.selectbox(name, f.metadata["choices"], default, key=key, help=help_)
    if kind is bool:
        return state.toggle(name, default, key=key, help=help_)
    if kind is int:
        return state.number(name, default, key=key, step=1, help=help_, **_bounds(name, int))
    if kind is float:
        return state.number(name, float(default), key=key, step=STEPS.get(name, 0.01),
                            format="%g", help=help_, **_bounds(name, float))
    return state.text(name, default, key=key, help=help_)  # str, and milestones as "10,15"


def device_widget(key: str, help_: str) -> str:
    devices = [d for d in describe_devices() if d["available"]]
    labels = {d["name"]: f"{d['label']}: {d['detail']}" for d in devices}
    return state.selectbox("device", list(labels), "auto", key=key, help=help_,
                           format_func=labels.get)


def _hide(name: str) -> Any:
    """A hidden field takes its default; its stale URL entry goes (the widget keeps its copy)."""
    state.unlink(PREFIX + name)
    return default_of(name)


def group_values(group: str, values: Values) -> None:
    """Render one group's relevant widgets into the current container; add to `values`."""
    for f in fields_of(group):
        show = RELEVANT.get(f.name, lambda v: True)(values)
        values[f.name] = field_widget(f) if show else _hide(f.name)


def build_config(values: Values) -> TrainConfig:
    """TrainConfig from widget values (ValueError / ConfigError with the validator's words)."""
    d = dict(values)
    text = str(d.get("milestones", ""))
    try:
        d["milestones"] = tuple(int(p) for p in text.replace(" ", "").split(",") if p)
    except ValueError:
        raise ValueError(f"milestones: {text!r} is not a comma-separated list of whole "
                         "numbers (e.g. 10,15)") from None
    return TrainConfig.from_dict(d)


def apply_preset(name: str) -> None:
    """Set every field's widget to the preset's value or the default (a widget callback)."""
    preset = PRESETS.get(name)
    if preset is None:
        return
    for f in dataclasses.fields(TrainConfig):
        value = preset.get(f.name, getattr(DEFAULTS, f.name))
        if isinstance(value, (tuple, list)):
            value = ",".join(str(m) for m in value)
        elif HINTS[f.name] is float:
            value = float(value)
        st.session_state[PREFIX + f.name] = value
        st.session_state[state._KEEP + PREFIX + f.name] = value


def preset_picker() -> None:
    options = ["(keep my settings)", *PRESETS]
    st.selectbox("Start from a preset", options, key="train_preset_pick",
                 help="Sets every field to a tested starting point (the rest to defaults).",
                 on_change=lambda: apply_preset(st.session_state["train_preset_pick"]))


def config_form() -> tuple[TrainConfig | None, str | None]:
    """All groups in expanders; (config, None) or (None, what is wrong with it)."""
    preset_picker()
    values: Values = {}
    for group, title, icon in GROUPS:
        with st.expander(title, expanded=group in OPEN_GROUPS, icon=icon):
            group_values(group, values)
    try:
        return build_config(values), None
    except ValueError as exc:
        return None, str(exc)
