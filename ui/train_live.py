"""The training page's live part: a fragment that redraws from History / Probe snapshots.

While this session's run is active the fragment reruns itself every second (`run_every`); the
rest of the page is not rerun. When the run ends, the fragment asks for one full rerun, so the
Start button, the result message and the downloads update. Nothing here touches the trainer
except its stop/pause flags.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import train_charts as charts
from ui.train_session import LiveRun, SessionRuns, session_runs

TICK_S = 1.0
MAX_POINTS = 2000  # per live trace: enough for a smooth curve, cheap to send every second
VIEWS = ("Curves", "Model view", "Confusion matrix", "Layers")
DEFAULT_VIEWS = ("Curves", "Model view")


def view_controls(runs: SessionRuns) -> None:
    """What to draw, and which earlier runs to overlay (outside the fragment: a change reruns
    the page once instead of adding work to every tick)."""
    c1, c2 = st.columns([3, 2])
    with c1:
        st.segmented_control("Show", VIEWS, default=list(DEFAULT_VIEWS), selection_mode="multi",
                             key="train_views")
    earlier = [r.label for r in runs.finished() if r is not runs.current]
    with c2:
        st.multiselect("Overlay earlier runs", earlier, key="train_overlay",
                       disabled=not earlier, placeholder="none yet" if not earlier else
                       "choose runs", help="This session keeps its last 5 runs.")


def live_panel() -> None:
    """The fragment: ticking while a run is active, static otherwise."""
    live = session_runs().active is not None
    st.fragment(run_every=TICK_S if live else None)(_live_body)(live)


def _live_body(live: bool) -> None:
    runs = session_runs()
    run = runs.current
    if run is None:
        st.info("Press **Start** to train with the settings on the left. Curves, the decision "
                "boundary and the rest appear here as the network learns.",
                icon=":material/play_circle:")
        return
    if run.active:
        run_buttons(run)
    snap = run.history.snapshot(max_points=MAX_POINTS)
    status(run, snap)
    draw(run, snap, runs)
    if live and not run.active:
        st.rerun(scope="app")  # the run just ended: refresh buttons, messages, downloads


def run_buttons(run: LiveRun) -> None:
    c1, c2, _ = st.columns([1, 1, 3])
    with c1:
        st.button("Stop", key="train_stop", icon=":material/stop:", on_click=run.stop,
                  help="Stops after the current step; the weights stay consistent.")
    with c2:
        if run.paused:
            st.button("Resume", key="train_resume", icon=":material/play_arrow:",
                      on_click=run.resume)
        else:
            st.button("Pause", key="train_pause", icon=":material/pause:", on_click=run.pause)


def status(run: LiveRun, snap: dict[str, Any]) -> None:
    started = snap["started"]
    steps = snap["steps"]
    progress = steps["step"][-1] / started["total_steps"] if started and steps["step"] else 0.0
    if run.active or not snap["finished"]:
        progress = min(progress, 1.0)
        state = "paused" if run.paused else "training"
        st.progress(progress, text=f"**{run.label}**: {state}. {charts.progress_text(snap)}")
    else:
        st.caption(f"**{run.label}**: {charts.progress_text(snap)}")
    if started:
        st.caption(f"Device used: **{started['device']}** · {started['params']:,} parameters · "
                   f"{started['train_size']:,} training samples · AMP {started['amp']} · "
                   f"{started['optimizer_impl']} optimizer kernels")


def _chosen(key: str, default: tuple[str, ...]) -> list[str]:
    value = st.session_state.get(key)
    return list(default) if value is None else list(value)


def overlay_runs(run: LiveRun, snap: dict[str, Any], runs: SessionRuns) -> list[dict]:
    picked = set(_chosen("train_overlay", ()))
    out = [{"label": r.label, "snapshot": r.history.snapshot(max_points=MAX_POINTS)}
           for r in runs.finished() if r.label in picked and r is not run]
    return [*out, {"label": run.label, "snapshot": snap}]


def draw(run: LiveRun, snap: dict[str, Any], runs: SessionRuns) -> None:
    views = _chosen("train_views", DEFAULT_VIEWS)
    if "Curves" in views:
        series = overlay_runs(run, snap, runs)
        c1, c2 = st.columns(2)
        c1.plotly_chart(charts.curves_figure(series, metric="loss"), key="train_loss_chart")
        c2.plotly_chart(charts.curves_figure(series, metric="acc"), key="train_acc_chart")
        c3, c4 = st.columns(2)
        c3.plotly_chart(charts.lr_gradnorm_figure(series), key="train_lr_chart")
        c4.plotly_chart(charts.throughput_figure(snap), key="train_speed_chart")
    probe = run.views() or {}
    if probe.get("error"):
        st.warning(probe["error"], icon=":material/visibility_off:")
    if "Model view" in views:
        model_view(probe)
    if "Confusion matrix" in views and probe.get("confusion"):
        st.plotly_chart(charts.confusion_figure(probe["confusion"]), key="train_confusion")
    if "Layers" in views and probe.get("layers"):
        layers_view(probe["layers"])


def model_view(probe: dict[str, Any]) -> None:
    if probe.get("boundary"):
        st.plotly_chart(charts.boundary_figure(probe["boundary"]), key="train_boundary")
    elif probe.get("curve"):
        st.plotly_chart(charts.curve_figure(probe["curve"]), key="train_curve")
    elif probe.get("images"):
        st.plotly_chart(charts.image_grid_figure(probe["images"]), key="train_images")


def layers_view(layers: dict[str, Any]) -> None:
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.layer_stats_figure(layers, "grad_norm"), key="train_layer_stats")
    c2.plotly_chart(charts.layer_histogram_figure(layers, "weight"), key="train_layer_hist")
