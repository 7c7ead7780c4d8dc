"""Widgets, cached core calls and table/text helpers for the activations page."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import activation_curves, activation_props, depth_experiment, prelu_demo
from core.activation_props import Kink, Properties, range_text
from core.activation_specs import label, spec
from ui import state

Params = tuple[tuple[str, float], ...]  # hashable parameters, for the caches


def frozen(params: dict[str, float]) -> Params:
    """Parameters as a sorted tuple (cache keys, dataclass fields)."""
    return tuple(sorted(params.items()))


def param_controls(name: str, *, prefix: str = "act") -> dict[str, float]:
    """A URL-synced slider per parameter of `name`, keyed f"{prefix}_{name}_{param}"."""
    return {p.name: state.slider(p.label, p.lo, p.hi, p.default, step=p.step, help=p.help or None,
                                 key=f"{prefix}_{name}_{p.name}")
            for p in spec(name).params}


# ---------------------------------------------------------------- cached core calls
@st.cache_data(max_entries=512, show_spinner=False)
def curve(name: str, params: Params, lo: float, hi: float,
          n: int = 801) -> activation_curves.Curve:
    """f and f' of the real module on a grid (cached: pure function of its arguments)."""
    return activation_curves.curve(name, dict(params), lo, hi, n)


@st.cache_data(max_entries=512, show_spinner=False)
def probe(name: str, params: Params, x: float) -> tuple[float, float]:
    """(f(x), f'(x)) at one point."""
    return activation_curves.probe(name, dict(params), x)


@st.cache_data(max_entries=512, show_spinner="Measuring properties...")
def properties(name: str, params: Params) -> Properties:
    """Zero-centred, monotonic, smooth, bounded... measured from the module."""
    return activation_props.properties(name, dict(params))


@st.cache_data(max_entries=64, show_spinner="Running the batch through the stack...")
def depth(cfg: depth_experiment.DepthConfig) -> depth_experiment.DepthResult:
    """One forward and backward pass through the stack."""
    return depth_experiment.run_depth(cfg)


@st.cache_data(max_entries=256, show_spinner=False)
def depth_profile(cfg: depth_experiment.DepthConfig) -> tuple[tuple[float, ...], ...]:
    """Per-layer std of activations and RMS of dL/dW only (for the init overlay)."""
    return depth_experiment.depth_profile(cfg)


@st.cache_data(max_entries=64, show_spinner="Training PReLU...")
def prelu(cfg: prelu_demo.PreluConfig) -> prelu_demo.PreluRun:
    """A short PReLU training run."""
    return prelu_demo.train_prelu(cfg)


# ---------------------------------------------------------------- text and tables
def _yes(flag: bool) -> str:
    return "✓" if flag else "✗"


def property_row(name: str, p: Properties) -> dict[str, Any]:
    """One row of the properties table (all values computed by core.activation_props)."""
    bounded = {(True, True): "✓ both", (True, False): "below", (False, True): "above",
               (False, False): "✗"}
    monotonic = {"non-decreasing": "✓ non-decreasing", "non-increasing": "✓ non-increasing"}
    return {
        "activation": label(name),
        "mean N(0,1)": round(p.mean, 3),
        "zero-centred": _yes(p.zero_centred),
        "sparse": f"{_yes(p.sparse)} {p.sparse_fraction:.0%}",
        "monotonic": monotonic.get(p.monotonic, "✗"),
        "continuous": _yes(p.continuous),
        "C¹ smooth": _yes(p.smooth),
        "bounded": bounded[(p.bounded_below, p.bounded_above)],
        "range": range_text(p),
    }


def _two(left: float, right: float) -> tuple[str, str]:
    """Both numbers with enough digits that different values read differently (a softplus
    switch far out, threshold 13, changes f' by only 2.3e-6)."""
    for d in range(4, 13):
        a, b = f"{left:.{d}g}", f"{right:.{d}g}"
        if a != b or left == right:
            return a, b
    return a, b


def kink_text(k: Kink) -> str:
    """A sentence about one special point, saying what autograd returns there."""
    at = f"x = {k.x:.10g}"
    if k.f_jump:
        return (f"At {at}, f itself jumps by {k.f_jump:+.4g}: no derivative exists there; "
                f"autograd returns {k.autograd:.4g}.")
    if k.is_kink:
        between = min(k.left, k.right) <= k.autograd <= max(k.left, k.right)
        how = ("a subgradient: PyTorch's pick between the one-sided slopes" if between
               else "outside the one-sided slopes")
        left, right = _two(k.left, k.right)
        shown = _two(k.autograd, k.left if k.autograd != k.left else k.right)[0]
        return (f"At {at}, f' jumps from {left} to {right} (a kink); autograd returns {shown} "
                f"there, {how}.")
    return (f"At {at}, f' is {k.left:.4g} on both sides, but autograd returns {k.autograd:.4g} "
            f"exactly there.")
