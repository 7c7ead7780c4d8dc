"""Deterministic train / val / test splits and the two ways a bundle is assembled.

Rules (the same for every set):
- test: the official test split where one exists, else `test_split` of all rows held out.
- val: `val_split` of the remaining training rows.
- subset > 0: the training split keeps exactly `subset` rows; validation shrinks with it so the
  train:val ratio stays (1 - val_split):val_split, as if the set only had that many rows.
- all from one torch.Generator seeded with `data_seed`; statistics from the training split only.
"""

from __future__ import annotations

from typing import Any

import torch

from core.data.augment import channel_stats
from core.data.bundle import DataBundle, Split


def split_indices(
    n: int, cfg: Any, *, has_official_test: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Row indices (train, val, test) of an n-row set; test is None for an official test split."""
    if not 0.0 <= cfg.val_split < 1.0 or not 0.0 <= cfg.test_split < 1.0:
        raise ValueError("val_split and test_split must each be in [0, 1).")
    gen = torch.Generator().manual_seed(int(cfg.data_seed))
    perm = torch.randperm(n, generator=gen)
    test = None
    if not has_official_test:
        n_test = round(cfg.test_split * n)
        test, perm = perm[:n_test], perm[n_test:]
    n_val = round(cfg.val_split * len(perm))
    val, train = perm[:n_val], perm[n_val:]
    if cfg.subset and cfg.subset < len(train):
        train = train[: cfg.subset]
        if cfg.val_split > 0:
            keep = max(1, round(cfg.subset * cfg.val_split / (1.0 - cfg.val_split)))
            val = val[:keep]
    if len(train) == 0:
        raise ValueError(
            f"Only {n} rows: nothing is left for training after holding out "
            f"val_split={cfg.val_split} and test_split={cfg.test_split}. Use more data or smaller splits.")
    return train, val, test


def standardise(train: torch.Tensor, *others: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Centre and scale columns with the TRAINING split's mean and std (a constant column stays 0)."""
    mean = train.mean(dim=0)
    std = train.std(dim=0, unbiased=False) if len(train) > 1 else torch.ones_like(mean)
    std = torch.where(std < 1e-8, torch.ones_like(std), std)
    return tuple((t - mean) / std for t in (train, *others)) + (mean, std)


def feature_bundle(
    name: str, x: torch.Tensor, y: torch.Tensor, cfg: Any, device: torch.device | str, *,
    task: str, class_names: list[str], standardise_targets: bool = False,
) -> DataBundle:
    """Split float features (N, F), standardise them with train stats, and put them on `device`."""
    x = x.to(torch.float32)
    tr, va, te = split_indices(len(y), cfg, has_official_test=False)
    te = te if te is not None and len(te) > 0 else None
    xs = standardise(x[tr], x[va], *([x[te]] if te is not None else []))
    ys = [y[tr], y[va]] + ([y[te]] if te is not None else [])
    t_mean = t_std = None
    if task == "regression" and standardise_targets:
        *ys, t_mean, t_std = standardise(*ys)
    test = Split(xs[2], ys[2]) if te is not None else None
    num = len(class_names) if task == "classification" else int(y.shape[1])
    return DataBundle(
        name=name, task=task, input_shape=(int(x.shape[1]),), num_classes=num,
        class_names=class_names, train=Split(xs[0], ys[0]), val=Split(xs[1], ys[1]),
        test=test, mean=None, std=None, is_image=False, augment=False,
        target_mean=t_mean, target_std=t_std,
    ).to(device)


def image_bundle(
    name: str, x: torch.Tensor, y: torch.Tensor, cfg: Any, device: torch.device | str, *,
    class_names: list[str], test: tuple[torch.Tensor, torch.Tensor] | None = None,
    hflip: bool = True, notes: list[str] | None = None,
) -> DataBundle:
    """Split uint8 images (N, C, H, W) and compute per-channel stats on the training split.

    `test` is the official test split if the set has one; otherwise one is held out.
    """
    if x.dtype != torch.uint8 or x.dim() != 4:
        raise ValueError(f"Expected uint8 images (N, C, H, W), got {x.dtype} {tuple(x.shape)}.")
    y = y.to(torch.int64)
    tr, va, te = split_indices(len(y), cfg, has_official_test=test is not None)
    if test is not None:
        test_split = Split(test[0], test[1].to(torch.int64))
    else:
        test_split = Split(x[te], y[te]) if te is not None and len(te) > 0 else None
    train = Split(x[tr].contiguous(), y[tr])
    mean, std = channel_stats(train.x)
    return DataBundle(
        name=name, task="classification", input_shape=tuple(int(s) for s in x.shape[1:]),
        num_classes=len(class_names), class_names=list(class_names), train=train,
        val=Split(x[va].contiguous(), y[va]), test=test_split, mean=mean, std=std,
        is_image=True, augment=bool(cfg.augment), hflip=hflip, notes=list(notes or []),
    ).to(device)
