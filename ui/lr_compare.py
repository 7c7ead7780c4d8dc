"""The comparison list (kept in session state) and the CSV of every curve on the chart.

Each entry stores the spec and run settings, not the curve: curves come from the cached
recorder, so a comparison costs nothing once drawn.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from ui.lr_charts import Series

KEY = "lr_compare_list"
MAX_ENTRIES = 8


def entries() -> list[dict[str, Any]]:
    """The saved schedules: [{'name', 'spec', 'run'}, ...]."""
    return st.session_state.setdefault(KEY, [])


def curves_csv(series: Sequence[Series]) -> str:
    """Long-format CSV: one row per curve and step, values at full precision."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["schedule", "step", "epoch", "batch", "lr", "momentum_or_beta1"])
    for s in series:
        c = s.curve
        for i, (lr, mom, ep, b) in enumerate(zip(c.lr, c.momentum, c.x_epochs,
                                                             c.x_batches, strict=True)):
            w.writerow([s.name, i, repr(ep), b, repr(lr), repr(mom)])
    return buf.getvalue()


def _default_name(spec: dict[str, Any]) -> str:
    kind = spec["kind"]
    if spec.get("children"):
        kind += "(" + "+".join(c["kind"] for c in spec["children"]) + ")"
    return f"{len(entries()) + 1}. {kind}"


def compare_controls(spec: dict[str, Any] | None, run: dict[str, Any] | None) -> None:
    """Name + add the current schedule; remove one; clear all."""
    saved = entries()
    if st.session_state.pop("_lr_cmp_added", False):
        st.session_state["lr_cmp_name"] = ""  # ready for the next name (before the widget)
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    with c1:
        name = st.text_input("Name for the comparison", key="lr_cmp_name",
                             placeholder=_default_name(spec) if spec else "",
                             max_chars=40)
    with c2:
        full = len(saved) >= MAX_ENTRIES
        if st.button("Add to comparison", key="lr_cmp_add", icon=":material/add:",
                     disabled=spec is None or full,
                     help=f"Up to {MAX_ENTRIES} schedules" if full else None):
            label = name.strip() or _default_name(spec)
            if any(e["name"] == label for e in saved):
                st.warning(f"There is already a curve named {label!r}; pick another name.")
            else:
                saved.append({"name": label, "spec": json.loads(json.dumps(spec)),
                              "run": dict(run)})
                st.session_state["_lr_cmp_added"] = True
                st.rerun()
    if saved:
        names = [e["name"] for e in saved]
        d1, d2 = st.columns([3, 2], vertical_alignment="bottom")
        with d1:
            gone = st.multiselect("Remove from the comparison", names, key="lr_cmp_remove")
        with d2:
            if st.button("Remove selected", key="lr_cmp_del", disabled=not gone):
                st.session_state[KEY] = [e for e in saved if e["name"] not in gone]
                st.session_state.pop("lr_cmp_remove", None)
                st.rerun()
            if st.button("Clear all", key="lr_cmp_clear", icon=":material/delete:"):
                st.session_state[KEY] = []
                st.session_state.pop("lr_cmp_remove", None)
                st.rerun()


def compared_series(get_curve: Callable[[dict[str, Any], dict[str, Any]], Any]) -> list[Series]:
    """The saved schedules as chart series (a broken entry is skipped with a message)."""
    out = []
    for e in entries():
        try:
            out.append(Series(e["name"], get_curve(e["spec"], e["run"])))
        except ValueError as exc:
            st.warning(f"{e['name']} can't be drawn: {exc}")
    return out
