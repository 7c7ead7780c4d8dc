"""Pieces of the LR scheduler page below the chart: notes, the plateau log, the hand-off.

`get_curve` is the cached entry to core: curves are keyed by the spec and run settings
(as JSON text), so moving a control back and forth, or redrawing comparisons, costs nothing.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from core.lr_code import pytorch_code
from core.lr_curves import Curve, record_curve
from core.lr_handoff import handoff_notes, link_params, to_train_params
from core.lr_notes import Note
from core.plateau_sim import PlateauStep


@st.cache_data(max_entries=256, show_spinner=False)
def _curve(spec_json: str, run_json: str) -> Curve:
    return record_curve(json.loads(spec_json), json.loads(run_json))


def get_curve(spec: dict[str, Any], run: dict[str, Any]) -> Curve:
    """The recorded curve for a spec and run (cached; ValueError for bad settings)."""
    return _curve(json.dumps(spec, sort_keys=True), json.dumps(run, sort_keys=True))


@st.cache_data(max_entries=256, show_spinner=False)
def _code(spec_json: str, run_json: str) -> str:
    return pytorch_code(json.loads(spec_json), json.loads(run_json))


def code(spec: dict[str, Any], run: dict[str, Any]) -> str:
    """The runnable snippet for the current settings (cached like the curve)."""
    return _code(json.dumps(spec, sort_keys=True), json.dumps(run, sort_keys=True))


@st.cache_data(max_entries=256, show_spinner=False)
def _handoff(spec_json: str, run_json: str) -> tuple[dict[str, str] | None, list[str], str]:
    """(query params, notes, '') or (None, [], why not): a refusal is cached too."""
    spec, run = json.loads(spec_json), json.loads(run_json)
    try:
        return to_train_params(spec, run), handoff_notes(spec, run), ""
    except ValueError as exc:
        return None, [], str(exc)


def show_notes(notes: list[Note]) -> None:
    """torch's warnings (explained) as warnings; the page's own remarks as info boxes."""
    for n in notes:
        if n.source == "torch":
            st.warning(f"**{n.title}.** {n.text}", icon=":material/warning:")
            if n.raw:
                st.caption(f"torch said: {n.raw}")
        else:
            st.info(f"**{n.title}.** {n.text}", icon=":material/lightbulb:")


def plateau_log(steps: list[PlateauStep], only_changes: bool) -> None:
    """Epoch-by-epoch decisions of ReduceLROnPlateau, read from its own counters."""
    if only_changes:
        cuts = [s for s in steps if s.event in ("reduced", "floor")]
        if not cuts:
            st.caption("No reduction happened: the metric kept improving by more than the "
                       "threshold, or patience was never exceeded.")
        st.markdown("\n".join(f"- **After epoch {s.epoch}**: {s.why}." for s in cuts))
        return
    rows = [{"epoch": s.epoch, "metric": s.metric, "best": s.best, "bad epochs": s.num_bad_epochs,
             "cooldown": s.cooldown_counter, "lr next epoch": s.lr, "event": s.event,
             "why": s.why} for s in steps]
    st.dataframe(rows, hide_index=True, width="stretch", height=min(38 + 35 * len(rows), 320),
                 column_config={"why": st.column_config.TextColumn(width="large")})


def handoff(spec: dict[str, Any], run: dict[str, Any]) -> None:
    """'Use in training': the schedule as the training page's config, or why it can't go."""
    params, notes, refused = _handoff(json.dumps(spec, sort_keys=True),
                                      json.dumps(run, sort_keys=True))
    if params is None:
        st.button("Use in training", key="lr_use_in_training", disabled=True,
                  icon=":material/model_training:")
        st.caption(f"This schedule can't be handed to the training page: {refused}.")
        return
    if st.button("Use in training", key="lr_use_in_training", type="primary",
                 icon=":material/model_training:",
                 help="Open the training page with this schedule in its configuration."):
        st.switch_page("pages/training.py", query_params=link_params(spec, run))
    fields = ", ".join(f"{k.removeprefix('train_')}={v}" for k, v in params.items())
    st.caption(f"Sets {fields}.")
    for n in notes:
        st.caption(f"Note: {n}.")
