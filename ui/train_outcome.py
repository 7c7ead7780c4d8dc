"""How a run ended, in words: what happened and what to try. Earlier runs are untouched."""

from __future__ import annotations

import streamlit as st

from ui.train_run import OOM_HINT, LiveRun

MISSING_HINT = ("Put the files where the message says (or pick digits, a small real image set "
                "that is always here), then press Start again.")


def _md(text: str) -> str:
    """Keep the message's line breaks (file lists) in Markdown."""
    return text.replace("\n", "  \n")


def final_line(final: dict) -> str:
    parts = []
    for split in ("train", "val", "test"):
        loss, acc = final.get(f"{split}_loss"), final.get(f"{split}_acc")
        if loss is None:
            continue
        parts.append(f"{split} loss {loss:.4f}" + ("" if acc is None else
                                                  f", accuracy {100 * acc:.1f}%"))
    return "; ".join(parts)


def outcome(run: LiveRun | None) -> None:
    """The message for the session's newest run, once it has ended."""
    if run is None or run.active or not run.reason:
        return
    finished = run.history.snapshot(max_points=1)["finished"] or {}
    metrics = final_line(finished.get("final") or {})
    msg = _md(run.message)
    if run.reason in ("completed", "early_stopped"):
        st.success(f"{msg}  \n{metrics}", icon=":material/check_circle:")
    elif run.reason == "stopped":
        st.info(f"{msg}  \n{metrics}", icon=":material/stop_circle:")
    elif run.reason == "diverged":
        st.error(f"**The run diverged.** {msg}", icon=":material/warning:")
    elif run.oom:
        st.error(f"**Out of memory.** {OOM_HINT}  \n\nDetail: {msg}", icon=":material/memory:")
    elif run.missing_data:
        st.error(f"**The dataset is missing.** {msg}  \n\n{MISSING_HINT}",
                 icon=":material/folder_off:")
    else:
        st.error(f"**The run failed.** {msg}", icon=":material/error:")
