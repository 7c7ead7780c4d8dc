"""The Real image tab: a digit, a photo or an upload through F.conv2d with an editable kernel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.image_filters import (
    KERNELS,
    apply_kernel,
    digit_label,
    filter_code,
    kernel_preset,
    load_digit,
    load_photo,
    load_picture,
)
from ui import state
from ui.conv_channel_charts import feature_maps
from ui.page import code_expander, friendly_errors

SOURCE_NAMES = {"digit": "Digit (scikit-learn's bundled set)",
                "photo": "Photo (scikit-learn's sample)", "upload": "Upload a picture"}
EDITOR = "conv_img_edit"
BASE = "_conv_img_base"  # the kernel the editor starts from: a preset, or the link's numbers


@st.cache_data(max_entries=16, show_spinner=False)
def _digit(index: int) -> tuple[np.ndarray, int]:
    return load_digit(index, upscale=4), digit_label(index)


@st.cache_data(max_entries=8, show_spinner=False)
def _photo(max_side: int) -> np.ndarray:
    return load_photo(max_side)


@st.cache_data(max_entries=8, show_spinner=False)
def _upload(data: bytes, max_side: int) -> np.ndarray:
    return load_picture(data, max_side)


@st.cache_data(max_entries=32, show_spinner=False)
def _filtered(image: np.ndarray, kernel: np.ndarray, stride: int, padding: str) -> np.ndarray:
    return apply_kernel(image, kernel, stride, padding)


def _reset_kernel() -> None:
    """A new preset or size starts the editor afresh from the preset."""
    st.session_state.pop(EDITOR, None)
    st.session_state.pop(BASE, None)
    state.unlink("conv_img_k")


def _picture() -> tuple[np.ndarray | None, str]:
    source = state.radio("Picture", list(SOURCE_NAMES), "digit", key="conv_img_src",
                         format_func=SOURCE_NAMES.get)
    if source == "digit":
        index = state.number("Digit index (0–1796)", 0, key="conv_img_digit", min_value=0,
                             max_value=1796, step=1)
        image, label = _digit(int(index))
        return image, f"digit {int(index)} (a {label}), 8×8 enlarged 4× bilinearly"
    max_side = state.slider("Longest side (pixels)", 16, 512, 128, key="conv_img_max",
                            step=16, help="The picture is shrunk to this before convolving.")
    if source == "photo":
        return _photo(max_side), "scikit-learn's china.jpg, grey"
    upload = st.file_uploader("Picture file", type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
                              key="conv_img_upload")
    if upload is None:
        st.info("Choose a picture file; it stays in this browser session.")
        return None, ""
    with friendly_errors("That file"):
        return _upload(upload.getvalue(), max_side), upload.name
    return None, ""


def _kernel() -> np.ndarray:
    preset = state.selectbox("Kernel", list(KERNELS), "sobel x (vertical edges)",
                             key="conv_img_kernel", on_change=_reset_kernel)
    size = state.radio("Kernel size", [3, 5], 3, key="conv_img_ksize", horizontal=True,
                       on_change=_reset_kernel)
    if BASE not in st.session_state:
        base = kernel_preset(preset, size)
        raw = st.query_params.get("conv_img_k")
        if raw:  # a shared link carries its edited kernel
            try:
                values = np.array([float(v) for v in raw.split(",")])
                if values.size == size * size and np.all(np.isfinite(values)):
                    base = values.reshape(size, size)
            except ValueError:
                pass
        st.session_state[BASE] = base
    st.caption("Edit any weight (cells are kernel[row, col]):")
    frame = pd.DataFrame(st.session_state[BASE], columns=[str(c) for c in range(size)])
    edited = st.data_editor(frame, key=EDITOR, hide_index=False, width="stretch",
                            num_rows="fixed")
    kernel = edited.to_numpy(dtype=np.float64, na_value=np.nan)
    preset_values = kernel_preset(preset, size)
    state.sync("conv_img_k", [round(float(v), 6) for v in kernel.ravel()],
               [round(float(v), 6) for v in preset_values.ravel()])
    return kernel


def render_real_image() -> None:
    """Picture and kernel left; input, kernel and feature map right."""
    left, right = st.columns([1, 2], gap="large")
    with left:
        image, what = _picture()
        kernel = _kernel()
        cols = st.columns(2)
        with cols[0]:
            stride = state.radio("Stride", [1, 2, 3], 1, key="conv_img_stride", horizontal=True)
        with cols[1]:
            padding = state.radio("Padding", ["same", "valid"], "same", key="conv_img_pad",
                                  horizontal=True)
    with right:
        if image is not None:
            with friendly_errors("That kernel"):
                fmap = _filtered(image, kernel, int(stride), padding)
                st.plotly_chart(feature_maps(image, kernel, fmap), theme="streamlit",
                                key="conv_img_chart")
                colours = ("Feature map: red positive, blue negative, white 0" if fmap.min() < 0
                           else "Every response is ≥ 0 here, so the feature map is grey")
                st.caption(
                    f"Input: {what}. `F.conv2d` slides the kernel without flipping it "
                    "(cross-correlation), so Sobel x is positive where brightness grows to the "
                    f"right. {colours} (kernel: red positive, blue negative).")
    code_expander(filter_code(np.nan_to_num(kernel), int(stride), padding))
