"""No leaks, at the server level: ten runs started from the training page in a real
`streamlit run app.py`, driven by headless Chromium, leave the server's RSS within 100 MB of
where the second run left it.

    python bench/leak_check_server.py [--runs 10] [--epochs 100] [--n_samples 5000]

Each run: press Start on the training page (spiral set, the page's defaults but for the
epochs), wait until the Weights (.pt) download appears (the run finished and the page reran),
then read the server process's VmRSS from /proc. The session keeps its last 5 runs on purpose
(overlay, downloads), so memory may rise until that window is full, then must stay flat.
bench/leak_check.py measures the same through the session module in-process.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import open_page, wait_idle  # noqa: E402
from tests.conftest import CHROMIUM, start_server, stop_server  # noqa: E402

GOAL_MB = 100.0
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def one_run(page, number: int, timeout_s: float) -> float:
    """Start run `number` and wait for its status line to say it completed."""
    t0 = time.perf_counter()
    page.get_by_role("button", name="Start", exact=True).click()
    # The finished run's status caption itself: a page-wide text match also hit a container
    # holding the live "run N: training" line and an earlier run's "completed after" message,
    # so some runs were "done" in 0.8 s and their RSS was read mid-run.
    done = page.get_by_test_id("stCaptionContainer").filter(
        has_text=re.compile(rf"run {number}: .*completed after"))
    done.first.wait_for(timeout=timeout_s * 1000)
    wait_idle(page)
    return time.perf_counter() - t0


def main() -> None:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--epochs", type=int, default=100, help="epochs of each spiral run")
    p.add_argument("--n_samples", type=int, default=5000, help="points in the spiral set")
    a = p.parse_args()
    proc, base = start_server()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            open_page(page, base, "training", train_epochs=str(a.epochs),
                      train_n_samples=str(a.n_samples))
            print(f"server pid {proc.pid}: RSS {rss_mb(proc.pid):7.1f} MB with the page open")
            after: list[float] = []
            for i in range(1, a.runs + 1):
                took = one_run(page, i, 600)
                time.sleep(1.0)  # let the worker thread exit and the registry reap it
                after.append(rss_mb(proc.pid))
                print(f"after run {i:2d}: RSS {after[-1]:7.1f} MB ({took:5.1f} s)", flush=True)
            browser.close()
    finally:
        stop_server(proc)
    base_mb, worst = after[1], max(after[1:])
    print(f"RSS after run 2: {base_mb:.1f} MB; after run {len(after)}: {after[-1]:.1f} MB "
          f"(highest {worst - base_mb:+.1f} MB above run 2)")
    print(f"goal: within {GOAL_MB:.0f} MB of run 2: "
          f"{'met' if worst - base_mb <= GOAL_MB else 'NOT met'}")


if __name__ == "__main__":
    main()
