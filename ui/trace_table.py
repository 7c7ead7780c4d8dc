"""The shape tracer's editable table: a stack as rows (layer type + settings text) and back."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from core.shape_layers import BY_TITLE, KINDS, Layer
from core.shape_text import parse_settings, settings_text
from core.shape_trace import Trace

ORDER, LAYER, SETTINGS, VERSION = "#", "layer", "settings", "_v"
TITLES = [k.title for k in KINDS.values()]


def stack_frame(layers: tuple[Layer, ...], version: int = 0) -> pd.DataFrame:
    """One row per layer. The hidden version column changes when the table is reset, which
    gives the editor a new identity, so the browser drops edits made to the old table."""
    return pd.DataFrame({
        ORDER: pd.Series(range(1, len(layers) + 1), dtype="float64"),
        LAYER: pd.Series([layer.kind.title for layer in layers], dtype="object"),
        SETTINGS: pd.Series([settings_text(layer) for layer in layers], dtype="object"),
        VERSION: pd.Series([version] * len(layers), dtype="int64"),
    })


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def frame_stack(frame: pd.DataFrame) -> tuple[tuple[Layer, ...], list[str]]:
    """Layers in order of the # column (blank # last), and one message per row that doesn't
    parse. Rows without a layer type are skipped: they are rows just added."""
    rows = list(frame[[ORDER, LAYER, SETTINGS]].itertuples(index=False, name=None))
    keyed = [(math.inf if _blank(o) else float(o), pos, t, s) for pos, (o, t, s) in
             enumerate(rows)]
    layers, errors = [], []
    for order, pos, title, text in sorted(keyed):
        if _blank(title):
            continue
        label = f"row {pos + 1}" if math.isinf(order) else f"row #{order:g}"
        try:
            layers.append(parse_settings(BY_TITLE.get(str(title), str(title)),
                                         "" if _blank(text) else str(text)))
        except ValueError as exc:
            errors.append(f"{label} ({title}): {exc}")
    return tuple(layers), errors


def column_config() -> dict[str, Any]:
    """Editor columns: order, a layer-type picker and a free settings text."""
    return {
        ORDER: st.column_config.NumberColumn(
            "#", help="Rows run in this order. To insert a layer between 2 and 3, add a row and "
            "give it 2.5.", width=60, format="%g"),
        LAYER: st.column_config.SelectboxColumn(
            "Layer", options=TITLES, required=True, width="medium",
            help="The torch.nn module. Its `in` size is inferred from the tensor arriving."),
        SETTINGS: st.column_config.TextColumn(
            "Settings", width="large",
            help="name=value pairs, e.g. out=32 k=3 s=1 p=1; left out = torch's default. "
            "See the settings reference below the table."),
    }


def reference_frame() -> pd.DataFrame:
    """Every layer type with its settings, for the reference expander."""
    rows = []
    for kind in KINDS.values():
        settings = "; ".join(f"{s.name}: {s.help}" for s in kind.settings) or "none"
        rows.append({"layer": kind.title, "settings": settings, "example": kind.example,
                     "URL code": kind.code})
    return pd.DataFrame(rows)


def fmt_rf(values: tuple[float, ...] | None, exact: bool = True) -> str:
    """3, 3×5, ≈7 (an estimate), or "whole input"."""
    if values is None:
        return "—"
    if any(math.isinf(v) for v in values):
        return "whole input" if all(math.isinf(v) for v in values) else "whole width"
    shown = [f"{v:.3g}" for v in values]
    text = shown[0] if len(set(shown)) == 1 else "×".join(shown)
    return text if exact and all(float(v).is_integer() for v in values) else f"≈{text}"


def result_frame(result: Trace, titles: list[str]) -> pd.DataFrame:
    """The per-layer table: module, output shape, params, mult-adds, receptive field, note."""
    start = (1.0,) * (len(result.input_shape) - 2) or None
    rows = [{"#": 0, "layer": "input", "output shape": str(result.input_shape), "params": 0,
             "mult-adds": 0, "receptive field": fmt_rf(start), "jump": fmt_rf(start),
             "note": ""}]
    for s in result.steps:
        rows.append({"#": s.index + 1, "layer": s.module, "output shape": str(s.out_shape),
                     "params": s.params, "mult-adds": s.macs,
                     "receptive field": fmt_rf(s.rf, s.rf_exact),
                     "jump": fmt_rf(s.jump, s.rf_exact), "note": s.note})
    problem = result.problem
    for i in range(len(result.steps), len(titles)):
        note = f"✗ stops here: {problem.headline}" if problem and i == problem.index else (
            "not reached")
        rows.append({"#": i + 1, "layer": titles[i], "output shape": "—", "params": None,
                     "mult-adds": None, "receptive field": "", "jump": "", "note": note})
    return pd.DataFrame(rows)
