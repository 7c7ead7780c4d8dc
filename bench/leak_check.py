"""No leaks: ten training runs one after another leave RSS within 100 MB of run 2's level.

    python bench/leak_check.py [--runs 10] [--data_root DIR] [--subset 4000]

Runs go through the training page's own machinery, in this process: ui.train_session's
SessionRuns and RunRegistry start each ui.train_run.LiveRun (Trainer + History + Probe) on its
worker thread, exactly as the page's button does, and the script waits for it to finish. RSS
(resident memory, from /proc) is read after each run and a gc.collect(). The session keeps its
last KEEP_RUNS finished runs (weights and downloads) on purpose, so memory may rise until that
window is full, then must stay flat. Workload: MNIST with the compact BatchNorm CNN on a
subset (the data set is loaded afresh each run), or the digits set when MNIST is absent.

This is the session module in-process; bench/leak_check_server.py measures the same through a
`streamlit run` server driven by a browser (runs started from pages/training.py).
"""

from __future__ import annotations

import argparse
import gc
import time

from bench_common import DEFAULT_DATA_ROOT, has_mnist, machine

from core.config import TrainConfig  # noqa: E402
from ui.train_session import KEEP_RUNS, RunRegistry, SessionRuns, wait_finished  # noqa: E402

GOAL_MB = 100.0


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def workload(root: str, subset: int) -> TrainConfig:
    if has_mnist(root):
        return TrainConfig(dataset="mnist", data_root=root, model="cnn", norm="batch",
                           optimizer="adamw", lr=3e-3, batch_size=128, epochs=1,
                           subset=subset, val_split=0.1, channels_last=True, log_every=5)
    return TrainConfig(dataset="digits", model="cnn", norm="batch", epochs=3, batch_size=64,
                       log_every=5)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=10, help="runs one after another")
    p.add_argument("--data_root", default=DEFAULT_DATA_ROOT, help="folder holding MNIST/raw")
    p.add_argument("--subset", type=int, default=4000, help="MNIST training images per run")
    a = p.parse_args()
    cfg = workload(a.data_root, a.subset)
    print(f"machine: {machine()}")
    print(f"workload: {cfg.dataset} {cfg.model} norm={cfg.norm}, {cfg.epochs} epoch(s), "
          f"subset {cfg.subset or 'all'}; the session keeps {KEEP_RUNS} finished runs")
    session = SessionRuns(RunRegistry(cap=1))
    gc.collect()
    start = rss_mb()
    print(f"before run 1: RSS {start:7.1f} MB")
    after: list[float] = []
    for i in range(1, a.runs + 1):
        t0 = time.perf_counter()
        run = session.start(cfg)
        if run is None:
            raise SystemExit(f"run {i} did not start: {session.notice}")
        if not wait_finished(run, timeout=600):
            raise SystemExit(f"run {i} did not finish in 10 minutes")
        run.thread.join(10)
        if run.reason != "completed":
            raise SystemExit(f"run {i} ended '{run.reason}': {run.message}")
        gc.collect()
        after.append(rss_mb())
        print(f"after run {i:2d}: RSS {after[-1]:7.1f} MB  ({time.perf_counter() - t0:5.1f} s, "
              f"{run.message.strip()[:60]})", flush=True)
    if len(after) < 2:
        return
    base, worst = after[1], max(after[1:])
    growth = after[-1] - base
    ok = worst - base <= GOAL_MB
    print(f"RSS after run 2: {base:.1f} MB; after run {len(after)}: {after[-1]:.1f} MB "
          f"(growth {growth:+.1f} MB, highest {worst - base:+.1f} MB above run 2)")
    print(f"goal: within {GOAL_MB:.0f} MB of run 2: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
