"""Convolution arithmetic: output sizes of conv, transposed conv, pooling and upsampling, each
computed by the formula and by the real layer, with the kernel sliding over the padded input."""

import streamlit as st

from ui.page import page_setup

page_setup()

from ui import state  # noqa: E402
from ui.conv_image_tab import render_real_image  # noqa: E402
from ui.conv_layer_tabs import render_groups, render_output_size  # noqa: E402
from ui.conv_pool_tabs import render_pooling, render_upsampling  # noqa: E402
from ui.conv_tconv_tab import render_transposed  # noqa: E402


def render_layer_stack() -> None:
    """Whole networks: each layer's output shape, parameters and receptive field."""
    from ui.conv_tracer import render_tracer

    render_tracer()


TABS = {
    "Output size": render_output_size,
    "Transposed conv": render_transposed,
    "Pooling": render_pooling,
    "Upsampling": render_upsampling,
    "Groups & cost": render_groups,
    "Real image": render_real_image,
    "Layer stack": render_layer_stack,
}

st.title("Convolution arithmetic")
st.markdown(
    "How big is the output of a convolution, a pooling or an upsampling layer? Each tab works "
    "it out twice: with the formula, your numbers substituted step by step, and by running the "
    "real PyTorch layer on a dummy tensor. A setting PyTorch refuses gets the rule it breaks "
    "and the nearest values that work."
)
# bind="query-params": the open tab lives in the URL (?conv_tab=...), and only it runs.
tabs = state.tabs(list(TABS), key="conv_tab")
for tab, render in zip(tabs, TABS.values(), strict=True):
    if tab.open:
        with tab:
            render()
