"""Normalization: which elements share a mean in BatchNorm, LayerNorm, GroupNorm, InstanceNorm and
RMSNorm, what the layer does with it, and what that does to training."""

import streamlit as st

from ui import norm_sections as sections
from ui import norm_text as text
from ui import state
from ui.norm_experiment import experiment
from ui.norm_widgets import element_picker, layer_controls, sidebar
from ui.page import code_expander, page_setup

page_setup()
st.title("Normalization")
st.write(
    "A normalisation layer subtracts a mean and divides by a standard deviation, then scales by "
    "γ and shifts by β. The layers differ only in **which elements share that mean**: pick a "
    "layer and an element and see its statistics set, then check the arithmetic against the "
    "real `torch.nn` layer."
)

sections.one_thread()
inputs = sidebar()
try:
    spec = layer_controls(inputs)
except ValueError as exc:
    st.error(f"That setting can't be used: {exc}", icon=":material/error:")
    st.stop()

# the open tab lives in the URL (?norm_tab=...), so a link reopens it
tabs = state.tabs(["Which elements share statistics", "Before and after", "Train vs eval",
                   "Small batches", "GroupNorm's limits", "Effect on training"], key="norm_tab")
with tabs[0]:
    idx, layout = element_picker(spec)
    try:
        sections.axes(spec, inputs, idx, layout)
        failed = False
    except ValueError as exc:
        sections.explain_error(exc, text.single_value_fix(spec, inputs.batch))
        failed = True
with tabs[1]:
    if failed:
        st.info("Fix the setting in the first tab to see the histograms.")
    else:
        sections.before_after(spec, inputs, idx)
with tabs[2]:
    sections.train_eval(spec, inputs)
with tabs[3]:
    sections.small_batches(spec, inputs)
with tabs[4]:
    sections.groupnorm_limits(inputs, spec.eps_value)
with tabs[5]:
    experiment()

code_expander(text.code(spec, inputs.dist, idx, inputs.batch, inputs.steps))
