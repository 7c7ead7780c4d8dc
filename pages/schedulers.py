"""LR schedulers: every torch.optim.lr_scheduler curve, stepped for real, composed and compared."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.lr_params import COMPOSITE, KINDS, PER_BATCH
from ui import lr_compare, lr_panels, lr_widgets, state
from ui.lr_charts import Series, lr_curves, plateau_chart
from ui.lr_text import LATEX, SUMMARY
from ui.page import code_expander, page_setup

page_setup()
st.title("Learning-rate schedulers")
st.caption("Each curve comes from creating the real `torch.optim.lr_scheduler` on a real "
           "optimizer and stepping it as a training loop does: the LR shown is the one each "
           "`optimizer.step()` uses. Add curves to the comparison, hover for exact values.")


def schedule_spec(kind: str, every: str) -> dict[str, Any]:
    """The spec dict of the chosen scheduler from its controls (ValueError if malformed)."""
    spec: dict[str, Any] = {"kind": kind,
                            "params": lr_widgets.scheduler_params(kind, every)}
    if kind in COMPOSITE:
        spec["children"], milestones = lr_widgets.children_controls(kind, every)
        if kind == "SequentialLR":
            spec["params"]["milestones"] = milestones
    return spec


left, right = st.columns([1, 2], gap="large")
spec: dict[str, Any] | None = None
with left:
    kind = state.selectbox("Scheduler", KINDS, "OneCycleLR", key="lr_kind")
    st.caption(SUMMARY[kind])
    params_box = st.container()
    with st.expander("Training loop", expanded=True, icon=":material/loop:"):
        run = lr_widgets.run_controls(kind)
    every = run["step_every"]
    if every == "auto":
        every = "batch" if kind in PER_BATCH else "epoch"
    with params_box:
        try:
            spec = schedule_spec(kind, every)
        except ValueError as exc:
            st.error(f"{exc}", icon=":material/error:")
    if kind == "ReduceLROnPlateau":
        with st.expander("Simulated validation metric", expanded=True,
                         icon=":material/monitoring:"):
            try:
                metric = lr_widgets.metric_controls()
                if spec is not None:
                    spec["metric"] = metric
            except ValueError as exc:
                spec = None
                st.error(f"{exc}", icon=":material/error:")

with right:
    curve = None
    if spec is not None:
        try:
            curve = lr_panels.get_curve(spec, run)
        except ValueError as exc:
            st.error(f"These settings can't be drawn: {exc}", icon=":material/error:")
    c1, c2, c3 = st.columns([2, 2, 3])
    with c1:
        xunit = state.radio("x axis", ["epochs", "batches"], "epochs", key="lr_xunit",
                            horizontal=True)
    with c2:
        logy = state.toggle("log-scale LR", False, key="lr_logy")
    series = ([Series("current", curve)] if curve else [])
    series += lr_compare.compared_series(lr_panels.get_curve)
    if series:
        st.plotly_chart(lr_curves(series, xunit=xunit, logy=logy), theme="streamlit",
                        key="lr_chart")
        with c3:
            st.download_button("CSV of all curves", lambda: lr_compare.curves_csv(series),
                               file_name="lr_schedules.csv", mime="text/csv", key="lr_csv",
                               icon=":material/download:")
    if curve is not None:
        lr_panels.show_notes(curve.notes)
    if curve is not None and curve.plateau:
        st.subheader("Why the LR changed", divider="gray")
        name = "val_accuracy" if spec["params"]["mode"] == "max" else "val_loss"
        st.plotly_chart(plateau_chart(curve.plateau, metric_name=name, logy=logy),
                        theme="streamlit", key="lr_plateau_chart")
        only = state.toggle("Only the cuts (off: every epoch, as a table)", True,
                            key="lr_plateau_only")
        lr_panels.plateau_log(curve.plateau, only)
    st.latex(LATEX[kind])
    with st.container(border=True):
        st.markdown("**Compare**")
        lr_compare.compare_controls(spec if curve else None, run)
    if curve is not None:
        lr_panels.handoff(spec, run)
        code_expander(lr_panels.code(spec, run))
