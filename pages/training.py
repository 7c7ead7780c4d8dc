"""Training: train a real PyTorch network in the browser, watch it learn, take the weights home."""

from __future__ import annotations

import streamlit as st

from core.config import TrainConfig
from core.device import resolve_device
from core.export import standalone_script
from ui import state, train_downloads, train_form, train_live, train_outcome
from ui.page import code_expander, page_setup
from ui.train_session import SessionRuns, session_runs

page_setup()

st.title("Training")
st.caption("Pick a dataset and a network, press **Start**, and watch the loss fall and the "
           "decision boundary take shape. The run uses the same engine as "
           "`python -m core.train`; it keeps going while you visit other pages.")


def start_area(runs: SessionRuns, cfg: TrainConfig | None, problem: str | None) -> None:
    """Start button (a callback, so it is disabled in the same rerun), and why it can't
    start: bad settings, a busy server."""
    if problem:
        st.error(f"These settings can't be trained: {problem}", icon=":material/error:")
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Start", key="train_start", type="primary", icon=":material/play_arrow:",
                  disabled=cfg is None or runs.active is not None,
                  on_click=runs.start_from_button, args=(cfg,))
        if cfg is not None:
            st.caption(f"device={cfg.device} → trains on **{device_type(cfg.device)}**")
    if runs.notice and runs.active is None:
        st.warning(runs.notice, icon=":material/hourglass_top:")


def device_type(name: str) -> str:
    try:
        return resolve_device(name).type
    except ValueError:
        return "an unavailable device"


def torchrun_expander(cfg: TrainConfig | None) -> None:
    with st.expander("Run it on several GPUs/machines", icon=":material/lan:"):
        try:
            from core.distributed import torchrun_command
        except ImportError:
            st.info("Multi-GPU training (torchrun) is not available in this version yet.")
            return
        if cfg is None:
            st.info("Fix the settings first: the command is made from them.")
            return
        c1, c2 = st.columns(2)
        with c1:
            nproc = state.number("Processes per machine (GPUs)", 2, key="train_nproc",
                                 min_value=1, max_value=64, step=1)
        with c2:
            nnodes = state.number("Machines", 1, key="train_nnodes", min_value=1, max_value=64,
                                  step=1)
        try:
            st.code(torchrun_command(cfg, int(nproc), int(nnodes)), language="bash")
        except ValueError as exc:
            st.error(str(exc))


runs = session_runs()
left, right = st.columns([1, 2], gap="large")
with left:
    cfg, problem = train_form.config_form()
with right:
    start_area(runs, cfg, problem)
    train_outcome.outcome(runs.current)
    train_live.view_controls(runs)
    train_live.live_panel()
    with st.container(border=True):
        st.markdown("**Take it home**")
        train_downloads.downloads(runs)
        with st.expander("Upload weights or a checkpoint", icon=":material/upload:"):
            train_downloads.uploads(runs, cfg)
    st.latex(r"\theta_{t+1} = \theta_t - \eta_t\, \mathrm{update}\Big(\nabla_\theta \tfrac{1}{B}"
             r"\textstyle\sum_{i=1}^{B} \ell\big(f_\theta(x_i), y_i\big)\Big)")
    st.caption("Each optimizer step: the mean loss of a batch of B samples, its gradient by "
               "backpropagation, and the optimizer's update (SGD: the gradient itself; Adam: "
               "the gradient scaled by running moments), times the learning rate.")
    if cfg is not None:
        code_expander(standalone_script(cfg), title="PyTorch code (standalone script)")
    torchrun_expander(cfg)
