"""Activations: every PyTorch activation, its autograd derivative, and what depth does to it."""

import pandas as pd
import streamlit as st

from ui.page import page_setup

page_setup()

from core.activation_code import functions_snippet  # noqa: E402
from core.activation_curves import regions  # noqa: E402
from core.activation_formulas import latex, output_range  # noqa: E402
from core.activation_specs import ACTIVATION_SPECS, NOT_ELEMENTWISE, label, spec  # noqa: E402
from ui import activation_sections as sections  # noqa: E402
from ui import activation_widgets as aw  # noqa: E402
from ui import state  # noqa: E402
from ui.activation_charts import Series, function_chart  # noqa: E402
from ui.norm_sections import one_thread  # noqa: E402
from ui.page import code_expander, friendly_errors  # noqa: E402

# The depth stack's small matmuls ran 9x slower (177 vs 19 ms median) on two contending torch
# threads than on one (bench/page_rerun.py); the setting is per thread, so training elsewhere
# keeps its own.
one_thread()

DEFAULT_COMPARE = ["relu", "tanh", "sigmoid", "gelu", "swish"]
THRESHOLDS = [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2]

st.title("Activations")
st.write(
    "An activation f is applied to every number of a layer's output. Each curve below is the "
    "real `torch.nn` module run on a grid of x, and f′ comes from autograd "
    "(`x.requires_grad_()`, `f(x).sum().backward()`, `x.grad`), not from a formula."
)
tabs = state.tabs(["Functions", "Depth experiment", "PReLU learns"], key="act_tab")


def functions_tab() -> None:
    top, side = st.columns([3, 1], gap="medium")
    with top:
        names = state.multiselect("Compare (overlaid)", list(ACTIVATION_SPECS), DEFAULT_COMPARE,
                                  key="act_compare", format_func=label)
    if not names:
        st.warning("Pick at least one activation to plot.", icon=":material/info:")
        return
    with side:
        focus = state.selectbox("Details for", names, "tanh" if "tanh" in names else names[0],
                                key="act_focus", format_func=label,
                                help="Shading, probe metrics, formula and kinks are for this one.")
    left, right = st.columns([1, 3], gap="medium")
    with left:
        lo, hi = state.slider("x range", -20.0, 20.0, (-6.0, 6.0), step=0.5, key="act_xrange")
        if lo >= hi:
            st.warning("Make the x range wider than a point.", icon=":material/info:")
            return
        x0 = state.slider("Probe x", lo, hi, min(max(-2.0, lo), hi), step=0.01, key="act_probe")
        threshold = state.select_slider("Shade where |f′(x)| <", THRESHOLDS, 0.05,
                                        key="act_vanish")
        params = {}
        for name in names:
            if spec(name).params:
                st.markdown(f"**{label(name)}**")
                params[name] = aw.param_controls(name)
    frozen = {n: aw.frozen(params.get(n, {})) for n in names}
    shown = False  # stays False when a setting is refused: one message, nothing half-drawn
    with right, friendly_errors("These settings"):
        curves = {n: aw.curve(n, frozen[n], lo, hi) for n in names}
        shaded = regions(curves[focus], threshold)
        kinks = {n: aw.properties(n, frozen[n]).kinks for n in names}
        series = [Series(label(n), c.x, c.y, c.dy,
                         f_breaks=tuple(k.x for k in kinks[n] if k.f_jump),
                         df_breaks=tuple(k.x for k in kinks[n] if k.is_kink))
                  for n, c in curves.items()]
        fig = function_chart(series, vanishing=shaded.vanishing, zero=shaded.zero,
                             threshold=threshold, probe_x=x0, focus=label(focus))
        st.plotly_chart(fig, theme="streamlit", key="act_chart")
        st.caption("Lines break where f or f′ jumps. At a kink f′ does not exist, yet autograd "
                   "returns a number there: one subgradient (ReLU′(0) = 0 in PyTorch).")
        details(focus, params.get(focus, {}), frozen[focus], x0, lo, hi)
        shown = True
    if shown:
        properties_table(names, frozen, x0)
        code_expander(functions_snippet(names, params, lo, hi, x0))


def details(focus: str, focus_params: dict, frozen: aw.Params, x0: float, lo: float,
            hi: float) -> None:
    """Probe metrics, formula and kinks of the focus function."""
    f0, df0 = aw.probe(focus, frozen, x0)
    props = aw.properties(focus, frozen)
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.metric(f"{label(focus)}: f({x0:g})", f"{f0:.4f}")
    c2.metric(f"f′({x0:g}) by autograd", f"{df0:.4f}")
    with c3:
        st.caption("Output range")
        st.latex(r"f(x) \in " + output_range(focus, focus_params).latex)
    st.latex(latex(focus, focus_params))
    st.caption(spec(focus).note)
    for k in props.kinks:
        if lo <= k.x <= hi:
            st.caption(":material/info: " + aw.kink_text(k))


def properties_table(names: list[str], frozen: dict[str, aw.Params], x0: float) -> None:
    """Probe values and computed properties of every compared function."""
    rows = [aw.property_row(n, aw.properties(n, frozen[n])) for n in names]
    probes = {label(n): aw.probe(n, frozen[n], x0) for n in names}
    st.subheader("Properties, measured from each module", divider="gray")
    table = pd.DataFrame(rows).set_index("activation")
    table.insert(0, f"f({x0:g})", [round(probes[i][0], 4) for i in table.index])
    table.insert(1, f"f′({x0:g})", [round(probes[i][1], 4) for i in table.index])
    narrow = {c: st.column_config.Column(width="small") for c in table.columns[:2]}
    narrow["range"] = st.column_config.Column(help="inf / sup over [-1e6, 1e6]; ( ) when not "
                                              "attained")
    st.dataframe(table, column_config=narrow, key="act_props")
    st.caption(
        "Zero-centred: the mean output for N(0, 1) inputs is within 5% of its standard deviation "
        "of 0. Sparse: f is exactly 0 for at least 1% of N(0, 1) inputs (the share is shown). "
        "C¹ smooth: f′ has no jump (checked by bisection down to 1e-9). Bounded and range: over "
        "[-1e6, 1e6] in float64. "
        "ReLU outputs are ≥ 0 (not zero-centred) and exactly 0 for half the inputs (sparse); "
        "Tanh is zero-centred but never exactly 0 except at x = 0 (not sparse). "
        f"Not elementwise, so not plotted: {', '.join(NOT_ELEMENTWISE)}."
    )


if tabs[0].open:
    with tabs[0]:
        functions_tab()
if tabs[1].open:
    with tabs[1]:
        sections.depth_tab()
if tabs[2].open:
    with tabs[2]:
        sections.prelu_tab()
