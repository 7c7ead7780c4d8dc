"""Shared by the bench/ scripts: where MNIST is, machine description, medians of alternated runs.

Every bench compares things side by side in one process (or one script), alternating A, B, A, B,
and reports medians: the 2-core machines this runs on are shared and noisy.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATA_ROOT = str(ROOT.parent / "shared" / "data")  # real MNIST in torchvision's layout


def has_mnist(root: str) -> bool:
    raw = Path(root) / "MNIST" / "raw"
    return all((raw / f).is_file() or (raw / f"{f}.gz").is_file()
               for f in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"))


def machine() -> str:
    """One line: CPU model, cores, torch version, GPU if any, load average."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {gpu}, "
            f"load average {load:.1f}")


def alternate(runs: dict[str, Callable[[], float]], reps: int) -> dict[str, list[float]]:
    """Call every run once per round, in rotating order, `reps` rounds; values per name."""
    names = list(runs)
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(reps):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            out[n].append(runs[n]())
    return out


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
