"""Take it home and bring it back: download a finished run's files; upload weights or a
checkpoint to evaluate, or a checkpoint to resume. Uploads are loaded weights-only
(core.export: torch.load(weights_only=True) or safetensors), never unpickled as code."""

from __future__ import annotations

import streamlit as st

from core.config import TrainConfig
from core.weights_eval import UploadEvaluation, evaluate_upload, read_checkpoint
from ui import train_charts as charts
from ui.train_run import LiveRun
from ui.train_session import SessionRuns

EVAL_KEY = "_train_eval"  # (uploaded file id, evaluation or message)
CHECKPOINT_KEY = "_train_upload_checkpoint"  # (uploaded file id, checkpoint dict or None)
# file key in LiveRun.downloads -> (button label, mime type, icon)
FILES = {
    "weights.pt": ("Weights (.pt)", "application/octet-stream", ":material/download:"),
    "weights.safetensors": ("Weights (.safetensors)", "application/octet-stream",
                            ":material/download:"),
    "checkpoint.pt": ("Full checkpoint (.pt)", "application/octet-stream",
                      ":material/save:"),
    "metrics.csv": ("Metrics (CSV)", "text/csv", ":material/table:"),
    "config.json": ("Config (JSON)", "application/json", ":material/settings:"),
    "train.py": ("Standalone script (.py)", "text/x-python", ":material/code:"),
}


def file_name(run: LiveRun, key: str) -> str:
    stem, dot, ext = key.partition(".")
    return f"{run.cfg.dataset}-{run.cfg.model}-run{run.number}-{stem}{dot}{ext}"


def downloads(runs: SessionRuns) -> None:
    """Buttons for one finished run (the newest by default)."""
    done = [r for r in reversed(runs.finished()) if r.downloads]
    if not done:
        return
    labels = [r.label for r in done]
    pick = st.selectbox("Download the files of", labels, key="train_download_run") \
        if len(done) > 1 else labels[0]
    run = done[labels.index(pick)] if pick in labels else done[0]
    row = st.container(horizontal=True)  # wraps; labels keep their full width
    for key, (label, mime, icon) in FILES.items():
        if key in run.downloads:
            row.download_button(label, run.downloads[key], file_name=file_name(run, key),
                                mime=mime, icon=icon, on_click="ignore", width="content",
                                key=f"train_dl_{key.replace('.', '_')}")
    if "checkpoint.pt" not in run.downloads and run is not runs.current:
        st.caption("Earlier runs keep their weights, metrics, config and script; only the "
                   "newest keeps its full checkpoint (optimizer state is large).")


def uploads(runs: SessionRuns, cfg: TrainConfig | None) -> None:
    """Evaluate uploaded weights, or resume an uploaded checkpoint."""
    up = st.file_uploader("Weights (.pt, .safetensors) or a checkpoint (.pt)",
                          type=["pt", "pth", "safetensors"], key="train_upload",
                          help="Loaded with torch.load(weights_only=True) or safetensors: "
                          "tensors only, no code.")
    if up is None:
        return
    data = up.getvalue()
    kept_ck = st.session_state.get(CHECKPOINT_KEY)
    if kept_ck is None or kept_ck[0] != up.file_id:  # read a big file once, not every rerun
        kept_ck = st.session_state[CHECKPOINT_KEY] = (up.file_id, read_checkpoint(data, up.name))
    ck = kept_ck[1]
    c1, c2 = st.columns(2)
    with c1:
        if st.button("Evaluate", key="train_evaluate", icon=":material/fact_check:",
                     disabled=cfg is None and ck is None):
            st.session_state[EVAL_KEY] = (up.file_id, run_evaluation(data, up.name, cfg))
    with c2:
        if ck is not None:
            resume_controls(runs, data, ck)
        else:
            st.caption("Plain weights are evaluated with the settings on the left. To resume "
                       "training, upload a full checkpoint.")
    kept = st.session_state.get(EVAL_KEY)
    if kept is not None and kept[0] == up.file_id:  # shown until another file is uploaded
        show_evaluation(up.name, kept[1])


def run_evaluation(data: bytes, name: str, cfg: TrainConfig | None) -> UploadEvaluation | str:
    """The evaluation, or the message saying why there is none."""
    try:
        with st.spinner("Evaluating..."):
            return evaluate_upload(data, name, cfg)
    except ValueError as exc:
        return f"Could not evaluate {name}: {exc}"


def show_evaluation(name: str, ev: UploadEvaluation | str) -> None:
    if isinstance(ev, str):
        st.error(ev, icon=":material/error:")
        return
    r = ev.result
    where = "its own config" if ev.source == "checkpoint" else "the settings on the left"
    acc = "" if r.accuracy is None else f", accuracy **{100 * r.accuracy:.2f}%**"
    st.success(f"{name} on the {r.split} split ({r.n:,} samples, {ev.cfg.dataset}, with "
               f"{where}): loss **{r.loss:.4f}**{acc}.", icon=":material/check_circle:")
    for note in ev.notes:
        st.caption(note)
    if r.confusion:
        st.plotly_chart(charts.confusion_figure(
            {"matrix": r.confusion, "class_names": r.class_names, "split": r.split, "n": r.n,
             "total": r.n, "accuracy": r.accuracy, "step": None, "epoch": None}),
            key="train_eval_confusion")


def resume_controls(runs: SessionRuns, data: bytes, ck: dict) -> None:
    done, planned = ck["epoch"], ck["config"].epochs
    epochs = st.number_input("Train until epoch", min_value=done + 1, value=max(planned, done + 1),
                             step=1, key="train_resume_epochs",
                             help=f"The checkpoint has {done} of {planned} epochs done.")
    st.button("Resume training", key="train_resume_upload", icon=":material/replay:",
              disabled=runs.active is not None, on_click=runs.start_from_button,
              args=(None,), kwargs={"resume": data, "epochs": int(epochs)})
