"""Data sets for the training engine, held in memory as tensors on the training device.

    bundle = load_data(cfg, device)                  # a DataBundle
    for x, y in bundle.batches("train", 64, shuffle=True, generator=g, train=True):
        ...                                           # x normalised float32, y class ids / targets

Why it is fast: every set fits in memory, so it is stored once on the device (images as uint8,
4x smaller than float) and each batch is an index into it. Normalisation, random crop and flip
run per batch as tensor ops; there is no DataLoader and no per-sample PIL transform.

Sets (`LOADERS`, keyed like config.DATASETS):
- moons, circles, spiral, xor, blobs: 2-D points (synthetic.py); regression: y = sin(3x) + noise.
- digits: scikit-learn's 1,797 8x8 digits, bundled, offline (vision.py).
- mnist, fashion_mnist, cifar10: torchvision's files under data_root (vision.py).
- csv: your CSV file (tabular.py); image_folder: your folder or .zip of images (folder.py).
Splits (splits.py): official test split where there is one, else test_split held out; val_split
of the rest for validation; statistics from the training split only; all seeded by data_seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from core.data.bundle import DataBundle, DatasetMissingError, Split
from core.data.folder import load_image_folder
from core.data.synthetic import load_synthetic
from core.data.tabular import load_csv
from core.data.vision import OFFLINE_ENV, load_digits, load_torchvision

__all__ = ["DataBundle", "DatasetMissingError", "LOADERS", "OFFLINE_ENV", "Split", "load_data"]

LOADERS: dict[str, Callable[[Any, torch.device | str], DataBundle]] = {
    "moons": load_synthetic,
    "circles": load_synthetic,
    "spiral": load_synthetic,
    "xor": load_synthetic,
    "blobs": load_synthetic,
    "regression": load_synthetic,
    "digits": load_digits,
    "mnist": load_torchvision,
    "fashion_mnist": load_torchvision,
    "cifar10": load_torchvision,
    "csv": load_csv,
    "image_folder": load_image_folder,
}


def load_data(cfg: Any, device: torch.device | str = "cpu") -> DataBundle:
    """Load, split and place on `device` the data set `cfg.dataset` (a TrainConfig)."""
    if cfg.dataset not in LOADERS:
        raise ValueError(f"Unknown dataset {cfg.dataset!r}: choose one of {', '.join(LOADERS)}.")
    return LOADERS[cfg.dataset](cfg, device)
