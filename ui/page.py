"""Page chrome shared by every page: set-up, the "PyTorch code" expander, friendly errors."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

_frozen = False


def page_setup() -> None:
    """Call first in every page script.

    On a freshly started server, Streamlit sees the `pages/` folder and runs a deep-linked page
    directly in its legacy directory mode, so app.py's `st.navigation` (titles, icons, home) is
    skipped. We leave that mode and rerun: the rerun goes through app.py and resolves the same URL.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
    freeze_imports()


def freeze_imports() -> None:
    """Move everything imported so far (torch, plotly...) out of the GC's reach, once.

    Collections then skip those long-lived objects, which keeps reruns and fragment ticks short
    while a training thread runs (measured in bench/page_overhead.py).
    """
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True


def code_expander(code: str, *, title: str = "PyTorch code", expanded: bool = False) -> None:
    """A runnable snippet for the current settings."""
    with st.expander(title, expanded=expanded, icon=":material/code:"):
        st.code(code, language="python")


@contextlib.contextmanager
def friendly_errors(what: str = "That setting") -> Iterator[None]:
    """Turn a ValueError from core into a message instead of a traceback."""
    try:
        yield
    except ValueError as exc:
        st.error(f"{what} can't be used: {exc}", icon=":material/error:")
