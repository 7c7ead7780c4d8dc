"""Per-batch image ops on uint8 tensors: normalisation, random crop with padding, horizontal flip.

These run on a whole batch at once with tensor indexing (no PIL, no per-sample loop), so the
hot loop stays on the training device. They reproduce torchvision's RandomCrop(padding=p,
fill=0) + RandomHorizontalFlip() + ToTensor() + Normalize(mean, std), applied in that order.
"""

from __future__ import annotations

import torch


def crop_padding(size: int) -> int:
    """Padding of the random crop: 4 for 32-px images (CIFAR), 2 for MNIST-size, 1 for 8x8 digits."""
    if size >= 32:
        return 4
    return 2 if size >= 16 else 1


def channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (population) std of uint8 images (N, C, H, W), in 0..1 units."""
    if x.shape[0] == 0:
        raise ValueError("The training split is empty, so there are no images to normalise with.")
    # A 256-bin histogram per channel gives exact float64 moments without a float copy of the set
    # (all of MNIST as float32 would be 188 MB, and summing it 10x slower).
    levels = torch.arange(256, dtype=torch.float64)
    means, stds = [], []
    for c in range(x.shape[1]):
        counts = torch.bincount(x[:, c].reshape(-1), minlength=256).cpu().to(torch.float64)
        p = counts / counts.sum()
        mean = (p * levels).sum()
        means.append(mean)
        stds.append((p * (levels - mean) ** 2).sum().sqrt())
    mean, std = torch.stack(means), torch.stack(stds)
    std[std < 1e-6] = 255.0  # a constant channel: leave it at 0 after centring instead of dividing by 0
    return (mean / 255.0).float(), (std / 255.0).float()


def normalise(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, H, W) -> float32 (x / 255 - mean) / std, the same as ToTensor + Normalize."""
    scale = (1.0 / (255.0 * std)).to(x.device).view(1, -1, 1, 1)
    shift = (mean / std).to(x.device).view(1, -1, 1, 1)
    return (x.to(torch.float32) * scale).sub_(shift)


def _rand(n: int, high: int, generator: torch.Generator | None) -> torch.Tensor:
    """n random ints in [0, high) drawn from `generator` on its own device."""
    device = generator.device if generator is not None else torch.device("cpu")
    return torch.randint(0, high, (n,), generator=generator, device=device)


def random_crop_flip(
    x: torch.Tensor, padding: int, *, flip: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Random crop of each image from its zero-padded copy, and a random horizontal flip.

    One gather does both: row offsets pick the crop, and a flipped image just reads its
    columns in reverse order, so no second copy of the batch is made.
    """
    b, c, h, w = x.shape
    if b == 0:
        return x
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))  # fill 0 = black
    dy = _rand(b, 2 * padding + 1, generator).to(x.device)
    dx = _rand(b, 2 * padding + 1, generator).to(x.device)
    rows = dy[:, None] + torch.arange(h, device=x.device)  # (B, H)
    cols = torch.arange(w, device=x.device).expand(b, w)  # (B, W)
    if flip:
        mirrored = _rand(b, 2, generator).to(x.device).bool()
        cols = torch.where(mirrored[:, None], cols.flip(-1), cols)
    cols = dx[:, None] + cols
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    chan = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, chan, rows[:, None, :, None], cols[:, None, None, :]]
