"""The normalisation page's controls, all URL-synced through ui/state.py (keys `norm_*`)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.norm_axes import BN1D_VIEWS, LAYERS, MAX_SIZE, RUNNING, SHAPES, NormSpec
from core.norm_stats import InputDist
from ui import state

EPS_OPTIONS = ("1e-08", "1e-06", "1e-05", "0.001", "0.1", "1")
MOMENTA = ("0.01", "0.05", "0.1", "0.3", "0.5", "1", "None")
SHAPE_LABELS = {"C,H,W": "[C, H, W]", "H,W": "[H, W]", "W": "[W]",
                "C (channels last)": "[C] on x.permute(0, 2, 3, 1)"}
VIEW_LABELS = {"features": "x.flatten(1): (N, C·H·W), as after nn.Flatten",
               "sequence": "x.flatten(2): (N, C, L = H·W), as a sequence"}


@dataclass(frozen=True)
class Inputs:
    """The sidebar's settings: tensor size, input distribution, running-statistics steps."""

    shape: tuple[int, int, int, int]
    dist: InputDist
    momentum: float | None
    steps: int
    batch: int


def _number(text: str) -> float | None:
    return None if text == "None" else float(text)


def sidebar() -> Inputs:
    """Tensor size, input distribution and the training steps behind the running statistics."""
    with st.sidebar:
        st.subheader("Input tensor (N, C, H, W)")
        n = state.slider("N: samples in the batch", 1, MAX_SIZE, 4, key="norm_n")
        c = state.slider("C: channels", 1, MAX_SIZE, 6, key="norm_c")
        h = state.slider("H: height", 1, MAX_SIZE, 4, key="norm_h")
        w = state.slider("W: width", 1, MAX_SIZE, 4, key="norm_w")
        st.caption("Channel c is drawn from N(shift·c, (1 + spread·c)²).")
        shift = state.slider("Per-channel shift", -3.0, 3.0, 1.0, step=0.25, key="norm_shift")
        spread = state.slider("Per-channel scale spread", 0.0, 2.0, 0.5, step=0.1,
                              key="norm_spread")
        frac = state.slider("Outliers: fraction of elements", 0.0, 0.2, 0.0, step=0.01,
                            key="norm_out_frac")
        size = state.slider("Outliers: size (±)", 1.0, 50.0, 10.0, step=1.0, key="norm_out_size")
        seed = state.number("Seed", 0, key="norm_seed", min_value=0, max_value=9999, step=1)
        st.subheader("Running statistics")
        momentum = state.select_slider("momentum", MOMENTA, "0.1", key="norm_momentum",
                                       help="BatchNorm's and InstanceNorm's running statistics "
                                       "(eval mode, and the Train vs eval tab). None: "
                                       "BatchNorm keeps a cumulative average of all batches; "
                                       "InstanceNorm2d never updates them (torch passes "
                                       "momentum 0.0).")
        steps = state.slider("Training steps before eval", 1, 100, 50, key="norm_steps")
        batch = state.slider("Batch size of those steps", 1, 32, 8, key="norm_rs_batch")
    return Inputs((n, c, h, w), InputDist(shift, spread, frac, size, int(seed)),
                  _number(momentum), steps, batch)


def layer_controls(inputs: Inputs) -> NormSpec:
    """Layer choice and the options that apply to it."""
    n, c, h, w = inputs.shape
    cols = st.columns([1.1, 1.6, 1.1, 1.2])
    with cols[0]:
        layer = state.selectbox("Layer", LAYERS, "BatchNorm2d", key="norm_layer")
    extra: dict = {}
    with cols[1]:
        if layer in ("LayerNorm", "RMSNorm"):
            extra["normalized"] = state.radio("normalized_shape", SHAPES, "C,H,W",
                                              key="norm_shape", format_func=SHAPE_LABELS.get)
        elif layer == "GroupNorm":
            divisors = [g for g in range(1, c + 1) if c % g == 0]
            extra["groups"] = state.select_slider("num_groups G (divides C)", divisors,
                                                  2 if c % 2 == 0 else 1, key="norm_groups")
        elif layer == "BatchNorm1d":
            extra["bn1d_view"] = state.radio("Input view", BN1D_VIEWS, "features",
                                             key="norm_bn1d_view", format_func=VIEW_LABELS.get)
        else:
            st.caption(f"{layer} takes the (N, C, H, W) tensor as it is.")
    with cols[2]:
        options = EPS_OPTIONS + (("None",) if layer == "RMSNorm" else ())
        eps = state.select_slider("eps", options, "None" if layer == "RMSNorm" else "1e-05",
                                  key="norm_eps", help="RMSNorm's default None means "
                                  "torch.finfo(x.dtype).eps (1.19e-07 for float32).")
    with cols[3]:
        affine = state.checkbox("elementwise_affine" if layer in ("LayerNorm", "RMSNorm")
                                else "affine (γ, β)", True, key="norm_affine")
        random_affine = affine and state.checkbox("Random γ, β (as if trained)", False,
                                                  key="norm_random_affine")
        track, training = True, True
        if layer in RUNNING:
            track = state.checkbox("track_running_stats", True, key="norm_track")
            training = state.radio("Mode", ("train", "eval"), "train", key="norm_mode",
                                   horizontal=True) == "train"
    if layer == "InstanceNorm2d":
        st.caption("InstanceNorm2d's own defaults are affine=False, track_running_stats=False.")
    return NormSpec(layer=layer, n=n, c=c, h=h, w=w, eps=_number(eps),
                    momentum=inputs.momentum, affine=affine, track_running_stats=track,
                    training=training, random_affine=random_affine, **extra)


def element_picker(spec: NormSpec) -> tuple[tuple[int, int, int, int], str]:
    """Which element (n, c, h, w) to follow, and how to draw the tensor."""
    cols = st.columns(5)
    idx = []
    start = (1, 2, 1, 2)  # inside the tensor, so BatchNorm's slab is not just the front face
    for col, axis, size, first in zip(cols[:4], "nchw", spec.shape, start, strict=True):
        with col:
            idx.append(int(state.number(f"{axis}", min(first, size - 1), key=f"norm_pick_{axis}",
                                        min_value=0, max_value=size - 1, step=1)))
    with cols[4]:
        layout = state.radio("Picture", ("samples", "paper"), "samples", key="norm_layout",
                             format_func={"samples": "one block per sample",
                                          "paper": "N × C × (H·W) block"}.get)
    return tuple(idx), layout
