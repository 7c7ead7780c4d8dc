"""Small generated sets: 2-D classification toys and a 1-D regression curve.

Written with numpy rather than scikit-learn's make_moons/make_circles (tests check they agree)
because importing sklearn alone takes over a second.

Each generator is a pure function of (n, noise, seed, ...) returning numpy arrays, so pages can
draw the raw points; `load_synthetic` splits them and standardises with training statistics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from core.data.bundle import DataBundle
from core.data.splits import feature_bundle


def _per_class(n: int, k: int) -> list[int]:
    """Split n points over k classes as evenly as possible."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def moons(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, laid out like scikit-learn's make_moons."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n - n_out)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], 1)])
    y = np.repeat([0, 1], [n_out, n - n_out])
    return x + rng.normal(0.0, noise, x.shape), y


def circles(n: int, noise: float, seed: int, factor: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius `factor` inside one of radius 1, like scikit-learn's make_circles."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n - n_out, endpoint=False)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        factor * np.stack([np.cos(t_in), np.sin(t_in)], 1)])
    y = np.repeat([0, 1], [n_out, n - n_out])
    return x + rng.normal(0.0, noise, x.shape), y


def spiral(n: int, noise: float, seed: int, arms: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """CS231n's spiral: `arms` arms, one class each; noise jitters the angle (radians)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for j, m in enumerate(_per_class(n, arms)):
        r = np.linspace(0.0, 1.0, m)
        # Each arm turns through 4 radians; arms start 2*pi/arms apart.
        t = np.linspace(0.0, 4.0, m) + j * 2 * np.pi / arms + rng.normal(0.0, noise, m)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(m, j))
    return np.concatenate(xs), np.concatenate(ys)


def xor(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in [-1, 1]^2, class 1 where x*y > 0; noise moves points after labelling."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return x + rng.normal(0.0, noise, size=x.shape), y


def blobs(n: int, noise: float, seed: int, centers: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs centred evenly on a circle of radius 3; their std is 5 * noise."""
    rng = np.random.default_rng(seed)
    std = max(5.0 * noise, 0.05)
    xs, ys = [], []
    for j, m in enumerate(_per_class(n, centers)):
        angle = 2 * np.pi * j / centers
        centre = 3.0 * np.array([np.cos(angle), np.sin(angle)])
        xs.append(centre + rng.normal(0.0, std, size=(m, 2)))
        ys.append(np.full(m, j))
    return np.concatenate(xs), np.concatenate(ys)


def regression(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """y = sin(3x) + noise * N(0, 1) for x uniform in [-1.5, 1.5]; shapes (n, 1) and (n, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, size=(n, 1))
    return x, np.sin(3.0 * x) + noise * rng.normal(size=(n, 1))


def generate(cfg: Any) -> tuple[np.ndarray, np.ndarray]:
    """The raw (unsplit, unstandardised) points of the synthetic set `cfg.dataset`."""
    n, noise, seed = int(cfg.n_samples), float(cfg.noise), int(cfg.data_seed)
    if n < 2:
        raise ValueError(f"n_samples must be at least 2, got {n}.")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}.")
    name = cfg.dataset
    if name == "spiral":
        if cfg.spiral_arms < 2:
            raise ValueError(f"A spiral needs at least 2 arms, got {cfg.spiral_arms}.")
        return spiral(n, noise, seed, int(cfg.spiral_arms))
    if name == "blobs":
        if cfg.blob_centers < 2:
            raise ValueError(f"Blobs need at least 2 centers, got {cfg.blob_centers}.")
        return blobs(n, noise, seed, int(cfg.blob_centers))
    makers = {"moons": moons, "circles": circles, "xor": xor, "regression": regression}
    if name not in makers:
        raise ValueError(f"{name!r} is not a synthetic data set.")
    return makers[name](n, noise, seed)


def num_classes(cfg: Any) -> int:
    """Classes of a synthetic classification set."""
    return {"spiral": cfg.spiral_arms, "blobs": cfg.blob_centers}.get(cfg.dataset, 2)


def load_synthetic(cfg: Any, device: torch.device | str = "cpu") -> DataBundle:
    """Generate, split and standardise a synthetic set."""
    x, y = generate(cfg)
    if cfg.dataset == "regression":
        return feature_bundle("regression", torch.from_numpy(x), torch.from_numpy(y).float(),
                              cfg, device, task="regression", class_names=["y"])
    k = num_classes(cfg)
    return feature_bundle(cfg.dataset, torch.from_numpy(x), torch.from_numpy(y).long(), cfg,
                          device, task="classification", class_names=[f"class {i}" for i in range(k)])
