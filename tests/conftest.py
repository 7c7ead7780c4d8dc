"""Shared fixtures: AppTest helpers and a real-browser harness.

- `run_page(path, query=...)`: an AppTest of one page file, run once (timeout 30 s, since the
  first `import torch` alone can take longer than AppTest's default 3 s).
- `server`: `streamlit run app.py` on a free loopback port for the session (`fresh_server` for a
  test that needs a newly started one), ready once `/_stcore/health` answers.
- `page`: pytest-playwright's page, driving Debian's Chromium through `executable_path`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "docs" / "screenshots"
ARTIFACTS = ROOT / "tests" / "_artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
APPTEST_TIMEOUT = 60

os.environ.setdefault("TORCH_PLAYGROUND_OFFLINE", "1")  # no test may touch the network
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------- AppTest
@pytest.fixture(autouse=True)
def _clear_streamlit_caches() -> Iterator[None]:
    """Each test starts with empty st.cache_data / st.cache_resource."""
    yield
    if "streamlit" in sys.modules:
        import streamlit as st

        st.cache_data.clear()
        st.cache_resource.clear()


def make_app(page: str, query: dict[str, Any] | None = None):
    """An AppTest for `page` (relative to the project root), not yet run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / page), default_timeout=APPTEST_TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at


@pytest.fixture
def run_page():
    """run_page("pages/x.py", query={...}) -> AppTest after its first run, with no exception."""

    def _run(page: str, query: dict[str, Any] | None = None):
        at = make_app(page, query).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return _run


# --------------------------------------------------------------------------- server + browser
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(timeout: float = 90) -> tuple[subprocess.Popen, str]:
    """Start `streamlit run app.py` on a free port; return (process, base URL) once healthy."""
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / f"streamlit-{port}.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "TORCH_PLAYGROUND_OFFLINE": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early; see {log.name}")
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not become healthy in time")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    proc, base = start_server()
    yield base
    stop_server(proc)


@pytest.fixture
def fresh_server() -> Iterator[str]:
    proc, base = start_server()
    yield base
    stop_server(proc)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium, never a downloaded browser; flags for a closed network."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900},
            "accept_downloads": True}
