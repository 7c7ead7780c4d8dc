"""The activations page's "Depth experiment" and "PReLU learns" tabs (widgets -> core -> charts)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from core.activation_code import depth_snippet, prelu_snippet
from core.activation_specs import ACTIVATION_SPECS, label
from core.depth_experiment import INITS, MAX_DEPTH, DepthConfig
from core.prelu_demo import TASKS, PreluConfig
from ui import activation_widgets as aw
from ui import state
from ui.activation_charts import depth_fractions, depth_heatmap, depth_lines, prelu_chart
from ui.page import code_expander, friendly_errors

WIDTHS = [16, 32, 64, 128, 256]
SCALES = [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0]
SATURATION = [0.001, 0.01, 0.05, 0.1, 0.2]
LRS = [0.01, 0.03, 0.1, 0.3, 0.6, 1.0]
OVERLAY = ("default", "xavier_normal", "kaiming_normal")  # each run costs; twins look alike


def _depth_controls() -> tuple[dict, bool]:
    """The depth tab's widgets; returns DepthConfig keyword arguments and the overlay toggle."""
    act = state.selectbox("Activation", list(ACTIVATION_SPECS), "relu", key="act_depth_fn",
                          format_func=label)
    params = aw.param_controls(act, prefix="act_depth")
    init = state.selectbox("Initialisation", list(INITS), "default", key="act_depth_init",
                           format_func=INITS.get)
    xavier_gain = state.toggle(
        "Xavier with calculate_gain", False, key="act_depth_xgain",
        help="Off: xavier_*_ with its own default gain = 1. On: gain = "
             "nn.init.calculate_gain(<this activation>). Kaiming always uses the gain of the "
             "nonlinearity it is told.")
    depth = state.slider("Depth L (layers)", 1, MAX_DEPTH, 20, key="act_depth_layers")
    width = state.select_slider("Width W", WIDTHS, 128, key="act_depth_width")
    scale = state.select_slider("Scale every initial weight by", SCALES, 1.0,
                                key="act_depth_scale",
                                help="Larger weights grow the signal from layer to layer: "
                                     "ReLU-like activations explode, tanh and sigmoid saturate.")
    saturation = state.select_slider("Saturated if |f′(z)| <", SATURATION, 0.05,
                                     key="act_depth_sat")
    compare = state.toggle("Overlay other inits", False, key="act_depth_compare",
                           help="PyTorch default, Xavier normal and Kaiming normal. A uniform "
                                "init has the same variance as its normal twin, so its curves "
                                "look alike; pick it above to see it. Runs the experiment "
                                "again for each.")
    return dict(activation=act, params=aw.frozen(params), depth=depth, width=width, init=init,
                scale=scale, xavier_gain=xavier_gain, saturation=saturation), compare


def depth_tab() -> None:
    st.write(
        "A batch of 128 inputs x ~ N(0, 1) goes forward through L blocks "
        "`Linear(W, W) -> activation` and an MSE loss against random targets goes backward. "
        "Watch the activations shrink or grow from layer to layer and the gradients that reach "
        "the first layers vanish or explode; a dead unit passes no gradient for any input of "
        "the batch."
    )
    left, right = st.columns([1, 3], gap="medium")
    with left:
        kwargs, compare = _depth_controls()
    with right, friendly_errors("These settings"):
        cfg = DepthConfig(**kwargs)
        result = aw.depth(cfg)
        # The overlay needs only std and gradients, which the saturation threshold does not
        # change: a fixed threshold keeps those runs cached while it moves. Lines follow the
        # order of INITS so that each init keeps its colour.
        base = replace(cfg, saturation=DepthConfig.saturation)
        lines = {INITS[i]: (result.act_std, result.grad_w_rms) if i == cfg.init
                 else aw.depth_profile(replace(base, init=i))
                 for i in INITS if i == cfg.init or (compare and i in OVERLAY)}
        _depth_summary(result)
        st.plotly_chart(depth_lines(lines, INITS[cfg.init]), theme="streamlit",
                        key="act_depth_lines")
        c1, c2 = st.columns(2)
        c1.plotly_chart(depth_heatmap(result.bin_edges, result.hist), theme="streamlit",
                        key="act_depth_hist")
        c2.plotly_chart(depth_fractions(result.saturated, result.dead, cfg.saturation),
                        theme="streamlit", key="act_depth_frac")
        st.caption(
            "Left: share of each layer's activations per value bin (bins span the middle 99% "
            "of all values; the rest are left out). Right: saturated = |f′(z)| below the "
            "threshold at the pre-activation z; dead unit = f′(z) = 0 for every input of the "
            "batch (in float32, tanh'(z) is exactly 0 once |z| > ~9)."
        )
        code_expander(depth_snippet(cfg))


def _depth_summary(r) -> None:
    ratio = r.grad_w_rms[0] / r.grad_w_rms[-1] if r.grad_w_rms[-1] else float("inf")
    how = {"default": "nn.Linear's own kaiming_uniform_(a=√5): calculate_gain('leaky_relu', √5)",
           "xavier": "gain = 1, xavier's default" if not r.config.xavier_gain
           else f"calculate_gain('{r.nonlinearity}')",
           "kaiming": f"from nonlinearity='{r.nonlinearity}'"}[r.config.init.split("_")[0]]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("gain used", f"{r.gain:.4g}", help=how)
    c2.metric("std of last layer", f"{r.act_std[-1]:.3g}")
    c3.metric("|dL/dW| first / last layer", f"{ratio:.3g}",
              help="Far below 1: vanishing gradients. Far above 1: exploding.")
    c4.metric("dead units, last layer", f"{r.dead[-1]:.0%}")
    if not r.finite:
        st.warning("Activations or gradients overflowed float32 (inf/nan): lower the scale "
                   "or the depth.", icon=":material/warning:")
    if r.config.init != "default":
        st.caption("For W×W layers fan_in = fan_out, so Xavier and Kaiming differ only in the "
                   "gain they use.")


def prelu_tab() -> None:
    st.write(
        "nn.PReLU is LeakyReLU with a learnable slope a. Here a single PReLU is fitted by SGD "
        "to noisy targets on x ∈ [-3, 3]. Only inputs x < 0 send a gradient to a, so a moves "
        "towards the least-squares slope a* of the negative half."
    )
    left, right = st.columns([1, 3], gap="medium")
    with left:
        task = state.selectbox("Target", list(TASKS), "abs", key="act_prelu_task",
                               format_func=lambda t: TASKS[t][0])
        init = state.slider("Initial a", -1.0, 1.5, 0.25, step=0.05, key="act_prelu_init")
        lr = state.select_slider("Learning rate", LRS, 0.03, key="act_prelu_lr")
        steps = state.slider("Steps", 5, 300, 100, step=5, key="act_prelu_steps")
    with right, friendly_errors("These settings"):
        cfg = PreluConfig(task=task, init=init, lr=lr, steps=steps)
        run = aw.prelu(cfg)
        c1, c2, c3 = st.columns(3)
        c1.metric("learned a", f"{run.slope[-1]:.4g}", f"{run.slope[-1] - init:+.3g} from start",
                  delta_color="off")
        c2.metric("least-squares a*", f"{run.best_slope:.4f}")
        c3.metric("largest stable lr", f"{run.max_stable_lr:.3f}",
                  help="MSE is a parabola in a; SGD overshoots and diverges above 2/curvature.")
        if run.diverged:
            st.warning(f"Training diverged after {len(run.slope) - 1} steps: the learning rate "
                       f"{lr:g} is above {run.max_stable_lr:.3f}. Lower it.",
                       icon=":material/warning:")
        st.plotly_chart(prelu_chart(run.steps, run.slope, run.loss, run.best_slope,
                                    run.x, run.y, None if run.diverged else run.fitted),
                        theme="streamlit", key="act_prelu_chart")
        code_expander(prelu_snippet(cfg))
