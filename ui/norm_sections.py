"""The normalisation page's sections: cached core calls in, charts and tables out."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st
import torch

from core import norm_axes, norm_equiv, norm_example, norm_stats
from core.norm_axes import NormSpec
from core.norm_stats import InputDist
from ui import norm_charts as charts
from ui import norm_text as text
from ui.norm_widgets import Inputs

BATCH_SIZES = [1, 2, 4, 8, 16, 32]


def one_thread() -> None:
    """Run this script's torch work on one intra-op thread.

    The page's tensors are tiny, so OpenMP hand-offs cost more than they save: on a busy 2-core
    machine they made reruns 3-10x slower (measured). torch's OpenMP setting is per thread, so a
    training run in another thread keeps its own count.
    """
    torch.set_num_threads(1)


# ---- cached computations (core stays streamlit-free) ------------------------------------------
@st.cache_data(max_entries=64, show_spinner=False)
def input_tensor(shape: tuple[int, int, int, int], dist: InputDist):
    return norm_stats.make_input(*shape, dist)


@st.cache_data(max_entries=128, show_spinner=False)
def example(spec: NormSpec, inputs: Inputs, idx: tuple[int, int, int, int]):
    """(worked example, shared mask as numpy, output y) for the current settings."""
    x = input_tensor(inputs.shape, inputs.dist)
    warm = norm_stats.warm_batches(spec.c, spec.h, spec.w, inputs.batch, inputs.steps,
                                   inputs.dist) if spec.uses_running_stats else []
    we = norm_example.worked_example(spec, x, idx, warm)
    layer = norm_axes.build_layer(spec)
    norm_axes.warm_up(spec, layer, warm)
    with torch.no_grad():
        y = norm_axes.forward(spec, layer, x)
    return we, norm_axes.shared_mask(spec, idx).numpy(), y


@st.cache_data(max_entries=32, show_spinner=False)
def running(c: int, h: int, w: int, inputs: Inputs, eps: float) -> dict:
    return norm_stats.running_stats_trace(c, h, w, inputs.batch, inputs.steps, inputs.momentum,
                                          inputs.dist, eps)


@st.cache_data(max_entries=32, show_spinner=False)
def noise(c: int, h: int, w: int, groups: int, dist: InputDist) -> dict:
    return norm_stats.batch_noise(c, h, w, groups, BATCH_SIZES, dist)


@st.cache_data(max_entries=32, show_spinner=False)
def equivalences(shape: tuple[int, int, int, int], dist: InputDist, eps: float):
    x = input_tensor(shape, dist)
    return norm_equiv.groupnorm_vs_layernorm(x, eps), norm_equiv.groupnorm_vs_instancenorm(x, eps)


@st.cache_data(max_entries=16, show_spinner=False)
def batch_one(c: int, h: int, w: int) -> list[dict]:
    return norm_stats.batch_one_cases(c, h, w)


# Figures are cached as objects (cache_resource: no pickled copy per rerun, which costs as much
# as building them). st.plotly_chart only reads a figure, so sharing one between sessions is safe.
@st.cache_resource(max_entries=128, show_spinner=False)
def cube_figure(spec: NormSpec, inputs: Inputs, idx: tuple[int, int, int, int], layout: str):
    _, mask, _ = example(spec, inputs, idx)
    return charts.cube_picture(mask, idx, layout)


@st.cache_resource(max_entries=64, show_spinner=False)
def before_after_data(spec: NormSpec, inputs: Inputs, idx: tuple[int, int, int, int]):
    """(histogram figure, per-label table, per-set summary): the layer as configured."""
    x = input_tensor(inputs.shape, inputs.dist)
    _, _, y = example(spec, inputs, idx)
    labels, names = norm_stats.labels_for(spec)
    hist = norm_stats.histograms(x, y, labels, len(names))
    stats = norm_stats.label_stats(x, y, labels, len(names))
    return (charts.histograms(hist, names), text.stats_table(names, stats),
            norm_stats.set_summary(spec, y))


@st.cache_resource(max_entries=32, show_spinner=False)
def running_figure(c: int, h: int, w: int, inputs: Inputs, eps: float):
    return charts.running_stats(running(c, h, w, inputs, eps))


@st.cache_resource(max_entries=32, show_spinner=False)
def noise_figure(c: int, h: int, w: int, groups: int, dist: InputDist):
    return charts.noise_vs_batch(noise(c, h, w, groups, dist))


def explain_error(exc: ValueError, advice: str) -> None:
    """torch's train-mode refusal, with the reason and `advice` (norm_text.single_value_fix)."""
    msg = str(exc)
    if "Expected more than 1" in msg:
        st.error(f"torch says: *{msg}*. Here a statistics set holds a single value: its "
                 "variance is 0 and x − μ = 0, so every output would be β and no gradient could "
                 f"flow; torch refuses instead. {advice}", icon=":material/error:")
    else:
        st.error(f"That setting can't be used: {msg}", icon=":material/error:")


# ---- sections -----------------------------------------------------------------------------------
def relevant(spec: NormSpec, inputs: Inputs) -> Inputs:
    """`inputs` without the warm-up settings when the layer does not use running statistics,
    so changing them does not recompute (or re-cache) the worked example."""
    return inputs if spec.uses_running_stats else replace(inputs, steps=0, batch=0)


def axes(spec: NormSpec, inputs: Inputs, idx, layout: str) -> None:
    """The cube picture, the formula and the worked example."""
    inputs = relevant(spec, inputs)
    we, _, _ = example(spec, inputs, idx)
    st.plotly_chart(cube_figure(spec, inputs, idx, layout), theme="streamlit", key="norm_cube")
    where = f"x[{', '.join(map(str, idx))}]"
    shared = (f"Element {where} is normalised on its own: nothing else is highlighted."
              if we.members == 1 else f"Element {where} shares its statistics with the "
              f"**{we.members}** highlighted elements (itself included).")
    st.markdown(f"**{spec.layer}** normalises {norm_axes.describe(spec)}. {shared}")
    st.latex(text.formula(spec))
    if we.probe_agrees:
        these = "on this input alone" if we.members == 1 else f"on exactly these {we.members} inputs"
        st.success(f"Checked against the real layer: autograd through nn.{spec.layer} finds that "
                   f"output y[{', '.join(map(str, idx))}] depends {these}.",
                   icon=":material/check_circle:")
    else:
        st.error("The real layer's dependencies differ from the rule: please report this.")
    if we.members == 1 and not spec.uses_running_stats:
        erased = ("x / RMS(x) = ±1, so the output is ±γ: only the sign of the input survives"
                  if spec.layer == "RMSNorm" else "x − μ = 0 and the output is just β: this "
                  "layer setting erases the input")
        st.warning(f"Each statistics set has a single element, so {erased}. Normalise over more "
                   "elements.")
    st.markdown(text.example_table(we, spec))
    if spec.layer == "InstanceNorm2d" and spec.uses_running_stats and spec.momentum is None:
        st.warning("InstanceNorm2d with momentum=None never updates its running statistics "
                   "(torch passes momentum 0.0, unlike BatchNorm's cumulative average): eval "
                   "mode uses the initial running_mean 0 and running_var 1.",
                   icon=":material/warning:")
    if spec.layer in norm_axes.RUNNING and not spec.training and not spec.track_running_stats:
        st.info("track_running_stats=False: there are no running statistics, so eval mode "
                "normalises with the batch's own statistics, exactly like train mode.")


def before_after(spec: NormSpec, inputs: Inputs, idx) -> None:
    """Histograms and per-channel (or group) statistics before and after the layer."""
    inputs = relevant(spec, inputs)
    fig, table, summ = before_after_data(spec, inputs, idx)
    st.plotly_chart(fig, theme="streamlit", key="norm_hist")
    st.markdown(table)
    if spec.uses_running_stats:
        st.markdown("In eval mode the layer subtracts its stored running_mean and divides by "
                    "√(running_var + ε): the output is only as close to mean 0, std 1 as those "
                    "buffers are to this batch's statistics (see *Train vs eval*).")
        return
    what = ("root mean square" if spec.layer == "RMSNorm" else "mean")
    lo, hi = (summ["rms_min"], summ["rms_max"]) if spec.layer == "RMSNorm" else (
        summ["mean_min"], summ["mean_max"])
    st.markdown(f"Over the layer's own **{summ['sets']}** statistics sets ({summ['size']} "
                f"elements each), the output's {what} lies in [{lo:.4g}, {hi:.4g}] and its std "
                f"in [{summ['std_min']:.4g}, {summ['std_max']:.4g}]. "
                + ("γ and β are random: each set is scaled by γ and shifted by β."
                   if spec.random_affine else "The channels above are not those sets unless "
                   "the layer normalises per channel (BatchNorm, InstanceNorm)."))


def train_eval(spec: NormSpec, inputs: Inputs) -> None:
    """BatchNorm2d's running statistics, eval mode, and the batch-of-one error."""
    n, c, h, w = inputs.shape
    st.latex(text.RUNNING_FORMULA)
    try:
        trace = running(c, h, w, inputs, spec.eps_value)
    except ValueError as exc:
        st.error(f"That setting can't be used: {exc} Here the batch is the sidebar's *Batch "
                 f"size of those steps* ({inputs.batch}).", icon=":material/error:")
        return
    st.plotly_chart(running_figure(c, h, w, inputs, spec.eps_value), theme="streamlit",
                    key="norm_running")
    ev = trace["eval"]
    mom = "None (cumulative average)" if inputs.momentum is None else f"{inputs.momentum:g}"
    st.markdown(
        f"nn.BatchNorm2d({c}, momentum={mom}) after {trace['num_batches_tracked']} training "
        f"batches of {inputs.batch}. Lines: the buffers; faint dots: each batch's own mean and "
        "unbiased variance (running_var uses the unbiased one); ticks at the right edge: the "
        "true values.\n\n"
        f"- In **eval** mode the output is (x − running_mean) / √(running_var + ε)·γ + β: "
        f"max difference from that formula {ev['eval_vs_formula']:.2g}.\n"
        f"- On the last training batch, eval and train outputs differ by up to "
        f"{ev['eval_vs_train']:.3g} (std {ev['eval_std']:.3f} vs {ev['train_std']:.3f}).\n"
        f"- In eval mode one sample alone gives the same output as inside its batch "
        f"(difference {ev['single_vs_batch']:.2g}): nothing is estimated from the batch.")
    st.markdown("**A batch of one in train mode** (run by torch just now):")
    st.markdown(text.batch_one_table(batch_one(c, h, w)))
    st.caption("BatchNorm1d on (1, C) has one value per channel: its variance is 0, every output "
               "would be β and no gradient could flow, so torch raises. BatchNorm2d on one image "
               "still has H·W values per channel (statistics of that one image), unless the "
               "image is 1×1. Eval mode uses stored statistics and GroupNorm uses each sample's "
               "own, so both are fine.")


def small_batches(spec: NormSpec, inputs: Inputs) -> None:
    """How noisy the statistics are as the batch shrinks: BatchNorm against GroupNorm."""
    n, c, h, w = inputs.shape
    groups = spec.groups if spec.layer == "GroupNorm" else (2 if c % 2 == 0 else 1)
    st.plotly_chart(noise_figure(c, h, w, groups, inputs.dist), theme="streamlit",
                    key="norm_noise")
    st.caption(f"32 random batches per size, C={c}, H={h}, W={w}, GroupNorm with G={groups}. "
               "Left: how much the statistics a layer normalises with vary between batches "
               "(BatchNorm: the channel's batch mean and std; GroupNorm: a sample's group mean "
               "and std, which do not depend on the batch at all). Right: keep one sample fixed "
               "and change only its batch-mates: BatchNorm's output for it moves, shrinking "
               "like 1/√batch, GroupNorm's does not move at all.")


def groupnorm_limits(inputs: Inputs, eps: float) -> None:
    """GroupNorm with G = 1 and G = C, against LayerNorm and InstanceNorm2d."""
    try:
        ln, inorm = equivalences(inputs.shape, inputs.dist, eps)
    except ValueError as exc:
        st.warning(f"{exc} (change the tensor size in the sidebar)", icon=":material/warning:")
        return
    st.markdown("**G = 1 is not LayerNorm([C, H, W])**: the same mean and variance per sample, "
                "but GroupNorm's γ, β have one value per channel and LayerNorm's one per "
                "element.")
    st.markdown(text.layernorm_table(ln))
    st.markdown("**G = C is InstanceNorm2d with a per-channel affine.**")
    st.markdown(text.instancenorm_table(inorm))
