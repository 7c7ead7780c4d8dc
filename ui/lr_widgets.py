"""Controls of the LR scheduler page: every parameter of every scheduler, bound to the URL.

Keys: `lr_<kind>_<param>` for the chosen scheduler (kind lower-cased, e.g. lr_steplr_gamma),
`lr_c<i>_kind` and `lr_c<i>_<kind>_<param>` for the i-th scheduler inside SequentialLR /
ChainedScheduler, `lr_seq_m<i>` for SequentialLR's milestones, `lr_metric_*` for the simulated
validation curve of ReduceLROnPlateau and the run settings below. Parameters that the current
settings make irrelevant are shown disabled, with the reason in their help.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from core import lr_params as P
from core import plateau_sim
from core.lr_curves import RUN_DEFAULTS
from ui import state

OPT_LABELS = {"sgd": "SGD (momentum)", "adam": "Adam (beta1)"}
ORDER_LABELS = {"optimizer_first": "optimizer.step(), then scheduler.step()",
                "scheduler_first": "scheduler.step() first (wrong)"}
EVERY_LABELS = {"auto": "as the docs do", "epoch": "epoch", "batch": "batch"}


def param_key(kind: str, name: str, prefix: str = "lr_") -> str:
    """The widget key of parameter `name` of scheduler `kind`."""
    return f"{prefix}{kind.lower()}_{name}"


def _step(default: float) -> float:
    """A number_input step about a tenth of the default's magnitude."""
    return 10.0 ** (math.floor(math.log10(abs(default))) - 1) if default else 0.001


def _ints_text(values: Any) -> str:
    return ",".join(str(v) for v in values)


def parse_ints(text: str, what: str) -> list[int]:
    """'10, 20' -> [10, 20]; ValueError with the offending part."""
    out = []
    for part in str(text).replace(" ", "").split(","):
        if part == "":
            continue
        try:
            out.append(int(part))
        except ValueError:
            raise ValueError(f"{what}: {part!r} is not a whole number (write e.g. 10,20)") \
                from None
    return out


def _inactive(kind: str, key_of: Any, step_every: str) -> dict[str, str]:
    """Parameters the current values make irrelevant -> why (read from session state)."""
    def val(name: str) -> Any:
        return st.session_state.get(key_of(name), P.param(kind, name).default)
    out: dict[str, str] = {}
    if kind in ("OneCycleLR", "CyclicLR") and not val("cycle_momentum"):
        out["base_momentum"] = out["max_momentum"] = "cycle_momentum is off"
    if kind == "CyclicLR":
        if str(val("scale_fn")).strip():
            out["mode"] = "a custom scale_fn replaces mode"
            out["gamma"] = "a custom scale_fn replaces gamma"
        else:
            out["scale_mode"] = "only used with a custom scale_fn"
            if val("mode") != "exp_range":
                out["gamma"] = "only mode exp_range uses gamma"
    if kind == "CosineAnnealingWarmRestarts" and step_every != "batch":
        out["epoch_fraction"] = "only matters when it is stepped every batch"
    return out


def param_widget(kind: str, p: P.Param, default: Any, key: str, disabled: str = "") -> Any:
    """One parameter's control; returns its value (lists parsed, ValueError if malformed)."""
    label = p.name if p.torch else f"{p.name} (how it is stepped)"
    helptext = p.help + (f" Not used now: {disabled}." if disabled else "")
    kw: dict[str, Any] = {"key": key, "help": helptext, "disabled": bool(disabled)}
    if p.kind == "bool":
        return state.toggle(label, default, **kw)
    if p.kind == "choice":
        return state.radio(label, p.choices, default, horizontal=True, **kw)
    if p.kind == "ints":
        return parse_ints(state.text(label, _ints_text(default), **kw), f"{kind} {p.name}")
    if p.kind == "expr":
        names = " or ".join(p.variables)
        kw["help"] += (f" Allowed: numbers, {names}, pi, e, + - * / ** %, comparisons, "
                       "a if cond else b, min max abs exp log sqrt cos sin floor ceil.")
        return state.text(label, default, placeholder=f"a formula of {p.variables[0]}",
                          max_chars=300, **kw)
    if p.kind == "int":
        return state.number(label, int(default), min_value=int(p.lo), max_value=int(p.hi),
                            step=1, **kw)
    return state.number(label, float(default), min_value=float(p.lo), max_value=float(p.hi),
                        step=_step(float(p.default)), format="%g", **kw)


def scheduler_params(kind: str, step_every: str, prefix: str = "lr_",
                     overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The controls of one scheduler's parameters, two per row; returns {name: value}."""
    def key_of(name: str) -> str:
        return param_key(kind, name, prefix)
    inactive = _inactive(kind, key_of, step_every)
    values: dict[str, Any] = {}
    if kind == "SequentialLR":
        return {}  # its milestones are asked for between its schedulers
    groups = ([p for p in P.PARAMS[kind] if p.kind in ("expr", "choice", "ints")],
              [p for p in P.PARAMS[kind] if p.kind in ("int", "float")],
              [p for p in P.PARAMS[kind] if p.kind == "bool"])
    for group, columns in zip(groups, (1, 2, 1), strict=True):  # toggles get a full row: long names
        cols = st.columns(columns) if group else []
        for i, p in enumerate(group):  # row by row: numbers and toggles each line up
            default = (overrides or {}).get(p.name, p.default)
            with cols[i % columns]:
                values[p.name] = param_widget(kind, p, default, key_of(p.name),
                                              inactive.get(p.name, ""))
    return values


def children_controls(kind: str, step_every: str) -> tuple[list[dict[str, Any]], list[int]]:
    """SequentialLR / ChainedScheduler: how many schedulers, which, their parameters."""
    n = state.radio("Schedulers inside", [1, 2, 3], 2, key="lr_nchildren", horizontal=True)
    children, milestones = [], []
    for i in range(n):
        base = P.DEFAULT_CHILDREN[i]
        with st.container(border=True):
            child = state.selectbox(f"Scheduler {i + 1}", P.CHILD_KINDS, base["kind"],
                                    key=f"lr_c{i}_kind")
            same = child == base["kind"]
            params = scheduler_params(child, step_every, prefix=f"lr_c{i}_",
                                      overrides=base["params"] if same else None)
            children.append({"kind": child, "params": params})
            if kind == "SequentialLR" and i < n - 1:
                milestones.append(state.number(
                    f"Milestone {i + 1}: scheduler {i + 2} takes over at step",
                    P.DEFAULT_MILESTONES[i], key=f"lr_seq_m{i}", min_value=1,
                    max_value=1_000_000, step=1))
    return children, milestones


def run_controls(kind: str) -> dict[str, Any]:
    """The training loop the scheduler is stepped in."""
    r = RUN_DEFAULTS
    c1, c2 = st.columns(2)
    with c1:
        lr = state.number("Optimizer lr", r["lr"], key="lr_lr", min_value=1e-6, max_value=10.0,
                          step=0.01, format="%g",
                          help="The base LR the schedule multiplies. OneCycleLR and CyclicLR "
                          "replace it with their own bounds.")
        epochs = state.number("Epochs", r["epochs"], key="lr_epochs", min_value=1,
                              max_value=5000, step=1)
    with c2:
        mom = state.number("momentum / beta1", r["momentum"], key="lr_momentum", min_value=0.0,
                           max_value=0.999, step=0.01, format="%g",
                           help="SGD's momentum or Adam's beta1 before any cycling.")
        spe = state.number("Batches per epoch", r["steps_per_epoch"], key="lr_spe",
                           min_value=1, max_value=10_000, step=1, help="steps_per_epoch")
    opt = state.radio("Optimizer", list(OPT_LABELS), r["optimizer"], key="lr_optimizer",
                      horizontal=True, format_func=OPT_LABELS.get)
    every = state.radio("Step the scheduler every", list(EVERY_LABELS), r["step_every"],
                        key="lr_step_every", horizontal=True, format_func=EVERY_LABELS.get,
                        disabled=kind == "ReduceLROnPlateau",
                        help="'as the docs do': every batch for OneCycleLR and CyclicLR, every "
                        "epoch for the others. ReduceLROnPlateau: every epoch (it needs a "
                        "validation value).")
    order = state.radio("Order in the loop", list(ORDER_LABELS), r["order"], key="lr_order",
                        format_func=ORDER_LABELS.get)
    return {"lr": lr, "optimizer": opt, "momentum": mom, "epochs": epochs,
            "steps_per_epoch": spe, "step_every": every, "order": order}


def metric_controls() -> dict[str, Any]:
    """The simulated validation curve ReduceLROnPlateau watches."""
    d = plateau_sim.METRIC_DEFAULTS
    shape = state.radio("Shape", plateau_sim.SHAPES, d["shape"], key="lr_metric_shape",
                        horizontal=True, help="; ".join(f"{k}: {v}" for k, v in
                                                        plateau_sim.SHAPE_HELP.items()))
    c1, c2 = st.columns(2)
    with c1:
        noise = state.number("Noise (relative)", d["noise"], key="lr_metric_noise",
                             min_value=0.0, max_value=0.5, step=0.005, format="%g")
        at = parse_ints(state.text("Plateaus start at epochs", _ints_text(d["plateau_at"]),
                                   key="lr_metric_plateau_at", disabled=shape != "plateaus"),
                        "plateau epochs")
    with c2:
        seed = state.number("Seed", d["seed"], key="lr_metric_seed", min_value=0,
                            max_value=2**31 - 1, step=1)
        length = state.number("Plateau length (epochs)", d["plateau_len"],
                              key="lr_metric_plateau_len", min_value=1, max_value=10_000,
                              step=1, disabled=shape != "plateaus")
    return {"shape": shape, "noise": noise, "seed": seed, "plateau_at": at,
            "plateau_len": length}
