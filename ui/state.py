"""Widgets whose values live in the URL, so a link reproduces the view.

Each wrapper seeds the widget's session-state value once (URL first, then the value the user
left when visiting another page, then the default), renders the real Streamlit widget by key,
and writes non-default values back to `st.query_params`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

_KEEP = "_kept_"  # Streamlit drops a widget's state when its page is left; we keep a copy.
_WROTE = "_wrote_"  # (text this session last put in the URL for a key or None, when)
ECHO_S = 1.0  # a rerun may still carry the URL from before our last write for this long


def parse(raw: str, default: Any) -> Any:
    """Parse a query-string value into the type of `default` (ValueError if it doesn't fit)."""
    if isinstance(default, bool):
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ValueError(raw)
        return raw.lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        number = float(raw)
        if not number.is_integer():
            raise ValueError(raw)
        return int(number)
    if isinstance(default, float):
        number = float(raw)
        if not math.isfinite(number):
            raise ValueError(raw)
        return number
    if isinstance(default, (list, tuple)):
        sample = default[0] if len(default) else ""
        items = [parse(p, sample) for p in raw.split(",") if p != ""]
        return type(default)(items)
    return raw


def fmt(value: Any) -> str:
    """The query-string form of a widget value."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ",".join(fmt(v) for v in value)
    return str(value)


def seed(key: str, default: Any, valid: Callable[[Any], bool] | None = None) -> None:
    """Give widget `key` its first value: URL, else the kept value, else the default. Later,
    a URL that no longer says what this session wrote there means the browser went Back or
    Forward: the widget takes the URL's value (the default when the key is gone). Not while
    the widget itself just changed, nor within ECHO_S of our last write: quick slider presses
    send reruns before the browser has shown the URL of the previous one.
    """
    raw = st.query_params.get(key)
    if key in st.session_state:
        wrote, when = st.session_state.get(_WROTE + key, (raw, 0.0))
        moved = not _same(st.session_state[key], st.session_state.get(_KEEP + key,
                                                                       st.session_state[key]))
        if raw == wrote or moved or time.monotonic() - when < ECHO_S:
            return
        value = default
    else:
        value = st.session_state.get(_KEEP + key, default)
    if raw is not None:
        try:
            candidate = parse(raw, default)
            if valid is not None and not valid(candidate):
                raise ValueError(raw)
            value = candidate
        except (ValueError, TypeError):
            # a mangled link falls back rather than breaking the page, and says so
            st.toast(f"This link's `{key}={raw[:40]}` doesn't fit that setting, so its "
                     f"default ({fmt(default)[:40]}) is shown.", icon=":material/link_off:")
    st.session_state[key] = value


def sync(key: str, value: Any, default: Any) -> Any:
    """Mirror `value` into the URL (omitted when it equals the default) and keep a copy."""
    st.session_state[_KEEP + key] = value
    if _same(value, default):
        if key in st.query_params:
            del st.query_params[key]
        wrote = None
    else:
        if st.query_params.get(key) != fmt(value):
            st.query_params[key] = fmt(value)
        wrote = fmt(value)
    if st.session_state.get(_WROTE + key, (None,))[0] != wrote:  # the time of a change
        st.session_state[_WROTE + key] = (wrote, time.monotonic())
    return value


def unlink(key: str) -> None:
    """Take `key` out of the URL on purpose (seed must not read that as Back/Forward)."""
    if key in st.query_params:
        del st.query_params[key]
    st.session_state[_WROTE + key] = (None, time.monotonic())


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _bound(widget: Callable[..., Any], key: str, default: Any,
           valid: Callable[[Any], bool] | None, *args: Any, **kwargs: Any) -> Any:
    seed(key, default, valid)
    if valid is not None and not valid(st.session_state[key]):
        st.session_state[key] = default  # e.g. options changed since the value was kept
    value = widget(*args, key=key, **kwargs)
    return sync(key, value, default)


def slider(label: str, min_value: Any, max_value: Any, default: Any, *, key: str,
           **kw: Any) -> Any:
    """st.slider bound to the URL; a single value or a (low, high) range."""
    def valid(v: Any) -> bool:
        values = v if isinstance(v, (list, tuple)) else (v,)
        shape = default if isinstance(default, (list, tuple)) else (default,)
        return (len(values) == len(shape) and list(values) == sorted(values)  # a (low, high)
                and all(min_value <= x <= max_value for x in values))
    return _bound(st.slider, key, default, valid, label, min_value, max_value, **kw)


def select_slider(label: str, options: Sequence[Any], default: Any, *, key: str,
                  **kw: Any) -> Any:
    """st.select_slider bound to the URL."""
    return _bound(st.select_slider, key, default, lambda v: v in options, label,
                  options=list(options), **kw)


def selectbox(label: str, options: Sequence[Any], default: Any, *, key: str, **kw: Any) -> Any:
    """st.selectbox bound to the URL."""
    return _bound(st.selectbox, key, default, lambda v: v in options, label, list(options), **kw)


def radio(label: str, options: Sequence[Any], default: Any, *, key: str, **kw: Any) -> Any:
    """st.radio bound to the URL."""
    return _bound(st.radio, key, default, lambda v: v in options, label, list(options), **kw)


def multiselect(label: str, options: Sequence[Any], default: Sequence[Any], *, key: str,
                **kw: Any) -> list[Any]:
    """st.multiselect bound to the URL (comma-separated)."""
    def valid(v: Any) -> bool:
        return all(x in options for x in v)
    return _bound(st.multiselect, key, list(default), valid, label, list(options), **kw)


def number(label: str, default: Any, *, key: str, min_value: Any = None,
           max_value: Any = None, **kw: Any) -> Any:
    """st.number_input bound to the URL."""
    def valid(v: Any) -> bool:
        return (min_value is None or v >= min_value) and (max_value is None or v <= max_value)
    return _bound(st.number_input, key, default, valid, label, min_value=min_value,
                  max_value=max_value, **kw)


def checkbox(label: str, default: bool, *, key: str, **kw: Any) -> bool:
    """st.checkbox bound to the URL."""
    return _bound(st.checkbox, key, default, None, label, **kw)


def toggle(label: str, default: bool, *, key: str, **kw: Any) -> bool:
    """st.toggle bound to the URL."""
    return _bound(st.toggle, key, default, None, label, **kw)


def pills(label: str, options: Sequence[str], default: Sequence[str], *, key: str,
          **kw: Any) -> list[str]:
    """st.segmented_control (several choices at once) bound to the URL (comma-separated)."""
    def valid(v: Any) -> bool:
        return all(x in options for x in v)
    return _bound(st.segmented_control, key, list(default), valid, label, list(options),
                  selection_mode="multi", **kw) or []


def kept(key: str, allowed: Sequence[Any]) -> None:
    """Give a session-only widget (not in the URL) back its value after a visit to another
    page: Streamlit drops a widget's state when its page is left. Call before the widget,
    and `keep(key)` after it."""
    if key not in st.session_state and _KEEP + key in st.session_state:
        st.session_state[key] = [v for v in st.session_state[_KEEP + key] or () if v in allowed]


def keep(key: str) -> None:
    st.session_state[_KEEP + key] = st.session_state.get(key)


def text(label: str, default: str, *, key: str, **kw: Any) -> str:
    """st.text_input bound to the URL."""
    return _bound(st.text_input, key, default, None, label, **kw)


def tabs(labels: Sequence[str], *, key: str) -> list[Any]:
    """st.tabs bound to the URL (?key=label); a link naming no tab gets the same toast as any
    other value that doesn't fit (once), and the first tab opens."""
    raw = st.query_params.get(key)
    if raw is not None and raw not in labels and not st.session_state.get(f"_told_{key}_{raw}"):
        st.session_state[f"_told_{key}_{raw}"] = True
        st.toast(f"This link's `{key}={raw[:40]}` names no tab here, so the first tab "
                 f"({labels[0]}) is shown.", icon=":material/link_off:")
    return st.tabs(list(labels), key=key, bind="query-params")
