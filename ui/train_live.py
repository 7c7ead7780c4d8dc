"""The training page's live part: a fragment that redraws from History / Probe snapshots.

While this session's run is active the fragment reruns itself every second (`run_every`); the
rest of the page is not rerun. When the run ends, the fragment asks for one full rerun, so the
Start button, the result message and the downloads update. Nothing here touches the trainer
except its stop/pause flags.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from ui import state
from ui import train_charts as charts
from ui.train_charts_layers import LAYER_KINDS
from ui.train_run import LiveRun
from ui.train_session import SessionRuns, session_runs

TICK_S = 1.0
MAX_POINTS = 600  # per live trace: smooth at chart width; the browser redraws it every second
# Training points under a live boundary / regression curve. Each is an SVG node that headless
# Chromium redrew every second: 800 points cost 0.31 CPU-s/s on this 2-core machine, 300 cost
# 0.24 (a chart with no points 0.15). All of the probe's points return when the run ends.
LIVE_POINTS = 300
VIEWS = ("Curves", "LR and speed", "Model view", "Confusion matrix", "Layers")
DEFAULT_VIEWS = ("Curves", "Model view")
# The probe views each choice draws: only those are read each tick
PROBE_VIEWS = {"Model view": ("boundary", "curve", "images"), "Confusion matrix": ("confusion",),
               "Layers": ("layers",)}
FIGURES_KEY = "_train_figures"  # chart name -> (data key, figure)
TICK_LOG = os.environ.get("TORCH_PLAYGROUND_TICK_LOG", "")  # a file: the bench times ticks


def view_controls(runs: SessionRuns) -> None:
    """What to draw, and which earlier runs to overlay (outside the fragment: a change reruns
    the page once instead of adding work to every tick)."""
    # in the URL and kept across pages, like every other control
    state.pills("Show", VIEWS, DEFAULT_VIEWS, key="train_views",
                help="Each chart shown is drawn anew every second while a run trains: "
                     "**Pause** to zoom in or hover. On a small machine with the browser on it, "
                     "fewer charts leave more CPU to the run.")
    earlier = [r.label for r in runs.finished() if r is not runs.current]
    if earlier:  # runs belong to this session: kept across pages, but not put in links
        state.kept("train_overlay", earlier)
        st.multiselect("Overlay earlier runs on the curves", earlier, key="train_overlay",
                       help="This session keeps its last 5 runs.")
        state.keep("train_overlay")


def live_panel() -> None:
    """The fragment: ticking while a run is active, static otherwise."""
    live = session_runs().active is not None
    st.fragment(run_every=TICK_S if live else None)(_live_body)(live)


def _live_body(live: bool) -> None:
    if not TICK_LOG:
        return _draw_live(live)
    cpu, wall = time.thread_time(), time.perf_counter()
    try:
        return _draw_live(live)
    finally:  # bench/page_overhead.py: this thread's CPU and wall seconds per tick
        with open(TICK_LOG, "a") as log:
            log.write(f"{time.thread_time() - cpu:.6f} {time.perf_counter() - wall:.6f}\n")


def _draw_live(live: bool) -> None:
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
    with st.container(horizontal=True):
        st.button("Stop", key="train_stop", icon=":material/stop:", on_click=run.stop,
                  help="Stops after the current step; the weights stay consistent.")
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


def _has_accuracy(snap: dict[str, Any]) -> bool:
    """False for regression (no accuracy), once the first numbers are in."""
    values = snap["steps"]["acc"] + snap["epochs"]["val_acc"] + snap["epochs"]["train_acc"]
    return not values or any(v is not None for v in values)


def chart(name: str, data_key: Any, build: Callable[[], Any]) -> None:
    """st.plotly_chart of build(), rebuilt only when data_key changes: a tick whose numbers
    did not move costs a dict lookup instead of a figure build (the training thread shares
    the interpreter with this script thread), and the browser nothing.

    A changed figure is a new chart to the browser: Streamlit 1.67 hashes the figure's JSON
    into the element id, so the old chart is torn down and Plotly.newPlot draws the new one
    (3 fresh plot elements a second with the default views; layout.datarevision cannot
    help). Zoom and hover on a live chart therefore last until the next change. Streamlit PR
    #16052 (open in 2026-07) would give keyed charts a stable id and apply a changed figure in
    place; set layout.uirevision then to keep the user's zoom."""
    memo = st.session_state.setdefault(FIGURES_KEY, {})
    hit = memo.get(name)
    if hit is None or hit[0] != data_key:
        memo[name] = hit = (data_key, build())
    st.plotly_chart(hit[1], key=name)


def draw(run: LiveRun, snap: dict[str, Any], runs: SessionRuns) -> None:
    views = _chosen("train_views", DEFAULT_VIEWS)
    series = overlay_runs(run, snap, runs)
    versions = tuple((s["label"], s["snapshot"]["version"]) for s in series)
    if "Curves" in views:
        c1, c2 = st.columns(2) if _has_accuracy(snap) else (st.container(), None)
        with c1:
            chart("train_loss_chart", versions, lambda: charts.curves_figure(series, "loss"))
        if c2 is not None:
            with c2:
                chart("train_acc_chart", versions, lambda: charts.curves_figure(series, "acc"))
    if "LR and speed" in views:
        c3, c4 = st.columns([2, 1])  # the LR / gradient-norm figure has two panels
        with c3:
            chart("train_lr_chart", versions, lambda: charts.lr_gradnorm_figure(series))
        with c4:
            chart("train_speed_chart", versions[-1], lambda: charts.throughput_figure(snap))
    probe = run.views(only={v for view in views for v in PROBE_VIEWS.get(view, ())}) or {}
    if probe.get("error"):
        st.warning(probe["error"], icon=":material/visibility_off:")
    if "Model view" in views:
        model_view(probe, run)
    if "Confusion matrix" in views and probe.get("confusion"):
        chart("train_confusion", view_key(run, probe["confusion"]),
              lambda: charts.confusion_figure(probe["confusion"]))
    if "Layers" in views and probe.get("layers"):
        layers_view(probe["layers"], view_key(run, probe["layers"]))


def view_key(run: LiveRun, view: dict[str, Any]) -> tuple:
    """What identifies one published probe view: the probe replaces a view with a new dict
    stamped with its step; the run's end adds a final one (best weights restored)."""
    return run.number, run.active, view.get("step"), view.get("epoch")


def model_view(probe: dict[str, Any], run: LiveRun) -> None:
    points = {"max_points": LIVE_POINTS if run.active else None}
    for view, name, build, kw in (("boundary", "train_boundary", charts.boundary_figure, points),
                                  ("curve", "train_curve", charts.curve_figure, points),
                                  ("images", "train_images", charts.image_grid_figure, {})):
        if probe.get(view):
            chart(name, view_key(run, probe[view]),
                  lambda: build(probe[view], **kw))  # noqa: B023 - called right here
            return


def layers_view(layers: dict[str, Any], key: Any) -> None:
    """The statistic over time, then the histograms, each the page's full width: side by
    side, eight legend entries and a 3-column grid of panels did not fit a laptop."""
    c1, c2 = st.columns(2)
    kind = c1.selectbox("Per-layer statistic over time", list(LAYER_KINDS),
                        format_func=lambda k: LAYER_KINDS[k][0],
                        index=list(LAYER_KINDS).index("grad_norm"), key="train_layer_kind")
    which = c2.segmented_control("Histograms of", ["weight", "grad"], default="weight",
                                 key="train_layer_which") or "weight"
    chart("train_layer_stats", (key, kind), lambda: charts.layer_stats_figure(layers, kind))
    chart("train_layer_hist", (key, which), lambda: charts.layer_histogram_figure(layers, which))
