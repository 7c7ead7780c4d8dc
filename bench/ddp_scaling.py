"""Training samples/s of 1 process vs 2 DDP processes (gloo, CPU) at the same global batch.

    python bench/ddp_scaling.py                      # MNIST MLP if /work/shared/data has it
    python bench/ddp_scaling.py --model cnn --repeats 5

Each setting runs `--repeats` times, interleaved (the machine is noisy), and reports the median
of the BatchEnded samples/s after the first epoch (warm-up). Settings: 1 process x 1 thread
(the reference), 1 process x 2 threads, 2 processes x 1 thread (the same 2 cores). On a 2-core
CPU expect little speedup: DDP adds a gradient all-reduce per step. On GPUs (one process per
GPU) this is the figure to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MNIST = Path("/work/shared/data")


def worker(cfg_json: str) -> None:
    """One run (under torchrun or alone); rank 0 prints `RESULT {...}`."""
    from core import distributed
    from core.config import TrainConfig
    from core.history import History
    from core.trainer import Trainer

    distributed.init_from_env("cpu")
    try:
        history = History()
        result = Trainer(TrainConfig.from_dict(json.loads(cfg_json)), [history]).run()
        if distributed.env_rank() == 0:
            steps = history.snapshot()["steps"]  # one entry per BatchEnded event
            rates = [r for r, e in zip(steps["samples_per_s"], steps["epoch"], strict=True)
                     if e > 1] or steps["samples_per_s"]
            print("RESULT " + json.dumps({"samples_per_s": statistics.median(rates),
                                          "reason": result.reason, "message": result.message,
                                          "val_acc": result.final.get("val_acc")}))
        distributed.shutdown(wait_for_all=True)
    finally:
        distributed.shutdown()


def launch(procs: int, cfg: dict) -> dict:
    env = {**os.environ, "TORCH_PLAYGROUND_OFFLINE": "1", "OMP_NUM_THREADS": str(cfg["threads"])}
    env.pop("WORLD_SIZE", None)
    head = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
             f"--nproc_per_node={procs}"] if procs > 1 else [sys.executable])
    proc = subprocess.run([*head, str(Path(__file__)), "--worker", json.dumps(cfg)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=1800)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"run failed ({procs} process(es)):\n{proc.stderr[-3000:]}")
    return json.loads(line.removeprefix("RESULT "))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", metavar="CONFIG_JSON", help=argparse.SUPPRESS)
    p.add_argument("--dataset", default="mnist" if (MNIST / "MNIST/raw").is_dir() else "digits")
    p.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    p.add_argument("--global-batch", type=int, default=256, help="Samples per optimizer step.")
    p.add_argument("--subset", type=int, default=20000, help="Training samples (0 = all).")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    if a.worker:
        worker(a.worker)
        return
    base = {"dataset": a.dataset, "data_root": str(MNIST), "model": a.model, "width": 256,
            "depth": 2, "optimizer": "sgd", "lr": 0.05, "epochs": a.epochs, "subset": a.subset,
            "device": "cpu", "log_every": 10, "amp": "off", "val_split": 0.1}
    settings = {"1 process x 1 thread": (1, {**base, "batch_size": a.global_batch,
                                              "threads": 1}),
                "1 process x 2 threads": (1, {**base, "batch_size": a.global_batch,
                                               "threads": 2}),
                "2 processes x 1 thread": (2, {**base, "batch_size": a.global_batch // 2,
                                                "threads": 1})}
    rates: dict[str, list[float]] = {name: [] for name in settings}
    for i in range(a.repeats):
        for name, (procs, cfg) in settings.items():
            r = launch(procs, cfg)
            rates[name].append(r["samples_per_s"])
            print(f"repeat {i + 1}: {name:24s} {r['samples_per_s']:10.0f} samples/s "
                  f"(val_acc {r['val_acc']})", flush=True)
    print(f"\n{a.dataset} {a.model}, global batch {a.global_batch}, {a.repeats} repeats "
          f"(median samples/s, training steps only):")
    one = statistics.median(rates["1 process x 1 thread"])
    for name, values in rates.items():
        med = statistics.median(values)
        print(f"  {name:24s} {med:10.0f}   x{med / one:.2f}")


if __name__ == "__main__":
    main()
