"""The "Effect on training" tab: settings, a Run button, cached results, overlaid curves."""

from __future__ import annotations

import streamlit as st

from core.norm_experiment import ACTIVATIONS, OPTIMIZERS, Experiment, run_experiment
from ui import norm_charts as charts
from ui import state

LRS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
DONE = "norm_exp_done"  # the settings whose result this session asked for


@st.cache_data(max_entries=16, show_spinner=False)
def cached_run(exp: Experiment) -> dict[str, dict]:
    """Four short training runs; cached by the settings, so a rerun redraws at once."""
    return run_experiment(exp)


def _settings() -> Experiment:
    cols = st.columns(7)
    with cols[0]:
        depth = state.slider("Hidden layers", 2, 16, 12, key="norm_exp_depth")
    with cols[1]:
        act = state.selectbox("Activation", ACTIVATIONS, "tanh", key="norm_exp_act")
    with cols[2]:
        opt = state.selectbox("Optimizer", OPTIMIZERS, "sgd", key="norm_exp_opt",
                              help="SGD with momentum 0.9, or Adam.")
    with cols[3]:
        lr = state.select_slider("Learning rate", LRS, 0.01, key="norm_exp_lr")
    with cols[4]:
        batch = state.select_slider("Batch size", (8, 16, 32, 64, 128), 32,
                                    key="norm_exp_batch",
                                    help="Small batches make BatchNorm's statistics noisy.")
    with cols[5]:
        epochs = state.slider("Epochs", 3, 20, 15, key="norm_exp_epochs")
    with cols[6]:
        seed = state.number("Seed", 0, key="norm_exp_seed", min_value=0, max_value=9999, step=1,
                            help="Weights, data split and batch order: one run proves little, so "
                            "try a few.")
    return Experiment(depth=depth, activation=act, optimizer=opt, lr=float(lr), epochs=epochs,
                      batch_size=int(batch), seed=int(seed))


def experiment() -> None:
    """Render the tab; training only starts on the button."""
    st.markdown("The same MLP (width 32, Linear → norm → activation per hidden layer) on the "
                "3-class spiral (600 points), trained with `core.trainer.train` four times: once "
                "per normalisation, same data and same seed. Largest settings: about 7 s.")
    try:
        exp = _settings()
    except ValueError as exc:
        st.error(f"That setting can't be used: {exc}", icon=":material/error:")
        return
    if st.button("Run experiment", key="norm_exp_run", icon=":material/play_arrow:",
                 type="primary"):
        st.session_state[DONE] = exp
    if st.session_state.get(DONE) != exp:
        st.info("Press **Run experiment** to train the four networks (a few seconds).")
        return
    with st.spinner("Training four networks..."):
        results = cached_run(exp)
    curves = {name: r for name, r in results.items() if r["step"]}
    st.plotly_chart(charts.training_curves(curves), theme="streamlit", key="norm_exp_chart")
    lines = ["| run | final train loss | final val accuracy | seconds | ended |",
             "|---|---|---|---|---|"]
    lines += [f"| {name} | {_fmt(r['final_train_loss'])} | {_fmt(r['final_val_acc'])} | "
              f"{r['elapsed']:.2f} | {r['reason']} |" for name, r in results.items()]
    st.markdown("\n".join(lines))
    for name, r in results.items():
        if r["reason"] not in ("completed", "early_stopped"):
            st.warning(f"{name}: {r['reason']}. {r['message']}")
    st.caption("Deep nets without normalisation often sit at the chance loss ln 3 ≈ 1.10: the "
               "signal shrinks layer by layer. Try batch size 8: four times as many steps at the "
               "same learning rate, and noisier batch statistics for BatchNorm. Every run gets "
               "bumpier and which normaliser ends best changes with the seed, so compare a few "
               "seeds before drawing a conclusion.")


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"
