"""Plotly sends numpy arrays as {'dtype', 'bdata' (base64), 'shape'}: decode them for asserts."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np


def decode(value: Any) -> Any:
    """A typed-array dict as a (nested) list; anything else unchanged."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = [int(n) for n in str(value.get("shape", len(flat))).split(",")]
        return flat.reshape(shape).tolist()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def decode_traces(traces: list[dict]) -> list[dict]:
    """Every trace with its arrays (x, y, customdata...) as plain lists."""
    return [{k: decode(v) for k, v in t.items()} for t in traces]
