"""The live-view probe's cost to a run: the same run with and without core.train_probe.Probe,
interleaved (noisy shared machine): medians of the run's own clock (RunFinished.elapsed, which
stops before the probe's final update), of the whole call's wall time and of the training
thread's CPU time (less disturbed by other processes), plus the probe's own timer.

    python bench/train_probe_overhead.py [--reps 7] [--threads 1] [--skip-cnn]

Runs: the spiral MLP default (TrainConfig()), the page's spiral-mlp preset (longer: 30 epochs
of batch 32), and the classic MNIST CNN on a synthetic
MNIST-sized stand-in (random uint8 28x28 images, 10 classes, a 12,000-image validation split
like real MNIST's, so the probe's 2,000-sample cap on the confusion matrix matters).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import TrainConfig  # noqa: E402
from core.data.splits import image_bundle  # noqa: E402
from core.history import History  # noqa: E402
from core.presets import PRESETS  # noqa: E402
from core.train_probe import Probe  # noqa: E402
from core.trainer import Trainer  # noqa: E402


def mnist_standin(cfg: TrainConfig, n: int) -> object:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return image_bundle("mnist_standin", x, y, cfg, "cpu", class_names=[str(i) for i in range(10)])


def one(cfg: TrainConfig, bundle: object, probe: bool) -> tuple[float, ...]:
    cbs = [History()] + ([Probe()] if probe else [])
    trainer = Trainer(cfg, cbs, bundle)
    if probe:
        cbs[1].attach(trainer)
    t0, c0 = time.perf_counter(), time.thread_time()
    result = trainer.run()
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    assert result.reason == "completed", result.message
    if not probe:
        return result.elapsed, wall, cpu, 0.0, 0.0, 0
    snap = cbs[1].snapshot()
    assert snap["error"] is None, snap["error"]
    return result.elapsed, wall, cpu, snap["cost_s"], snap["cpu_s"], snap["updates"]


def compare(name: str, cfg: TrainConfig, bundle: object, reps: int) -> None:
    one(cfg, bundle, True)  # warm up both paths (first calls allocate and compile)
    one(cfg, bundle, False)
    rows: dict[bool, list] = {False: [], True: []}
    for i in range(reps):
        order = (False, True) if i % 2 == 0 else (True, False)  # alternate who goes first
        for p in order:
            rows[p].append(one(cfg, bundle, p))
    med = {p: [statistics.median(col) for col in zip(*rows[p], strict=True)] for p in rows}
    (e0, w0, c0, *_), (e1, w1, c1, cost, cpu, n) = med[False], med[True]
    print(f"{name} (median of {reps} pairs): run clock {e0:.3f} -> {e1:.3f} s "
          f"({100 * (e1 / e0 - 1):+.1f} %), wall {w0:.3f} -> {w1:.3f} s "
          f"({100 * (w1 / w0 - 1):+.1f} %), thread CPU {c0:.3f} -> {c1:.3f} s "
          f"({100 * (c1 / c0 - 1):+.1f} %); probe's own time {cost * 1000:.1f} ms wall = "
          f"{100 * cost / w1:.2f} % of the call, {cpu * 1000:.1f} ms CPU = "
          f"{100 * cpu / c1:.2f} % of the thread's CPU; {n:.0f} updates")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7, help="interleaved pairs per setting")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0 = default)")
    ap.add_argument("--skip-cnn", action="store_true", help="only the spiral MLP")
    ap.add_argument("--cnn-train", type=int, default=4000, help="stand-in training images")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    spiral = TrainConfig()
    compare("spiral MLP default", spiral, None, args.reps)
    compare("spiral-mlp preset", TrainConfig(**PRESETS["spiral-mlp"]), None, args.reps)
    if not args.skip_cnn:
        cfg = TrainConfig(dataset="mnist", model="cnn", epochs=1, batch_size=64, test_split=0.0)
        n_val = 12000
        bundle = mnist_standin(cfg.replace(val_split=n_val / (args.cnn_train + n_val)),
                               args.cnn_train + n_val)
        compare(f"MNIST-sized CNN ({len(bundle.train)} train, {len(bundle.val)} val)",
                cfg, bundle, max(3, args.reps // 2))


if __name__ == "__main__":
    main()
