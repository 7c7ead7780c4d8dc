"""DataBundle: a whole data set held as tensors on the training device, batched by indexing.

Why no DataLoader: every set here fits in memory, and slicing a device tensor with a random
permutation is many times faster than collating samples one by one in worker processes
(on a 2-core CPU there are no spare cores for workers anyway).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from core.data.augment import crop_padding, normalise, random_crop_flip

SPLITS = ("train", "val", "test")


class DatasetMissingError(ValueError):
    """A data set's files are not on disk (the message says which files go where)."""


@dataclass
class Split:
    """One split: inputs `x` and targets `y`, row i of each belonging together."""

    x: torch.Tensor  # float32 (N, F) features, or uint8 (N, C, H, W) images
    y: torch.Tensor  # int64 (N,) class ids, or float32 (N, T) regression targets

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def to(self, device: torch.device | str) -> Split:
        return Split(self.x.to(device), self.y.to(device))


@dataclass
class DataBundle:
    """A loaded data set: its splits, what one sample looks like, and how to batch it."""

    name: str
    task: str  # "classification" | "regression"
    input_shape: tuple[int, ...]
    num_classes: int  # classification: classes; regression: number of targets
    class_names: list[str]
    train: Split
    val: Split
    test: Split | None
    mean: torch.Tensor | None  # per-channel image stats from the training split (0..1 units)
    std: torch.Tensor | None
    is_image: bool
    augment: bool
    # Extensions beyond the shared interface (all defaulted, so positional use is unchanged):
    hflip: bool = True  # mirror images when augmenting (off for digits: a mirrored 2 is no 2)
    target_mean: torch.Tensor | None = None  # regression targets were standardised with these
    target_std: torch.Tensor | None = None
    notes: list[str] = field(default_factory=list)  # things the learner should know (skipped files)

    # ---- per-batch preparation ----------------------------------------------------------------
    def prepare(
        self, x: torch.Tensor, *, train: bool, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """uint8 images -> normalised float32 (+ random crop and flip when training with augment)."""
        if x.dtype != torch.uint8:
            return x  # features were standardised once at load time
        if self.mean is None or self.std is None:
            raise ValueError("This image set has no normalisation statistics.")
        if train and self.augment:
            pad = crop_padding(x.shape[-1])
            x = random_crop_flip(x, pad, flip=self.hflip, generator=generator)
        return normalise(x, self.mean, self.std)

    def split(self, name: str) -> Split:
        """The split called `name` ("train", "val" or "test")."""
        if name not in SPLITS:
            raise ValueError(f"Unknown split {name!r}: use one of {', '.join(SPLITS)}.")
        s = getattr(self, name)
        if s is None:
            raise ValueError(f"The {self.name} data set has no test split (test_split was 0).")
        return s

    def _order(
        self, n: int, shuffle: bool, generator: torch.Generator | None,
        rank: int, world_size: int, drop_last: bool,
    ) -> torch.Tensor | None:
        """Row order of this rank, like DistributedSampler; None means plain 0..n-1."""
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank must be in 0..world_size-1, got rank={rank}, world_size={world_size}.")
        if not shuffle and world_size == 1:
            return None
        device = generator.device if generator is not None else torch.device("cpu")
        order = (torch.randperm(n, generator=generator, device=device) if shuffle
                 else torch.arange(n, device=device))
        if world_size == 1:
            return order
        # Every rank must take the same number of steps (or DDP's all-reduce waits forever):
        # drop the tail, or wrap around to pad, exactly as DistributedSampler does.
        if drop_last:
            order = order[: n - n % world_size]
        elif n % world_size and n > 0:
            pad = world_size - n % world_size
            order = torch.cat([order, order.repeat(math.ceil(pad / n))[:pad]])
        return order[rank::world_size]

    def batches(
        self, split: str, batch_size: int, *, shuffle: bool,
        generator: torch.Generator | None = None, train: bool = False,
        rank: int = 0, world_size: int = 1, drop_last: bool = False,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield prepared (x, y) batches of one split, sliced from the device-resident tensors.

        With world_size > 1 each rank gets a disjoint, strided part of the same (shuffled)
        order; give every rank a generator with the same seed so they agree on it.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        s = self.split(split)
        n = len(s)
        order = self._order(n, shuffle, generator, rank, world_size, drop_last)
        if order is not None:
            order = order.to(s.x.device)  # one copy per epoch, then index on the device
        total = n if order is None else int(order.shape[0])
        stop = total - total % batch_size if drop_last else total
        for start in range(0, stop, batch_size):
            if order is None:  # plain slices are views: no copy at all
                xb, yb = s.x[start:start + batch_size], s.y[start:start + batch_size]
            else:
                rows = order[start:start + batch_size]
                xb, yb = s.x[rows], s.y[rows]
            yield self.prepare(xb, train=train, generator=generator), yb

    def num_batches(
        self, split: str, batch_size: int, *, world_size: int = 1, drop_last: bool = False
    ) -> int:
        """How many batches `batches` yields per epoch on each rank."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        n = len(self.split(split))
        per_rank = n // world_size if drop_last else math.ceil(n / world_size)
        return per_rank // batch_size if drop_last else math.ceil(per_rank / batch_size)

    # ---- moving and describing ----------------------------------------------------------------
    def to(self, device: torch.device | str) -> DataBundle:
        """A copy with every tensor on `device`."""
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device)

        return dataclasses.replace(
            self, train=self.train.to(device), val=self.val.to(device),
            test=None if self.test is None else self.test.to(device),
            mean=move(self.mean), std=move(self.std),
            target_mean=move(self.target_mean), target_std=move(self.target_std),
            notes=list(self.notes),
        )

    @property
    def device(self) -> torch.device:
        return self.train.x.device

    def describe(self) -> dict:
        """Plain numbers and strings about the set, for the UI and the CLI."""
        d = {
            "name": self.name, "task": self.task, "input_shape": list(self.input_shape),
            "num_classes": self.num_classes, "class_names": list(self.class_names),
            "train": len(self.train), "val": len(self.val),
            "test": 0 if self.test is None else len(self.test),
            "is_image": self.is_image, "augment": self.augment and self.is_image,
            "notes": list(self.notes),
        }
        if self.mean is not None and self.std is not None:
            d["mean"] = [round(float(v), 4) for v in self.mean]
            d["std"] = [round(float(v), 4) for v in self.std]
        if self.task == "classification":
            d["class_counts"] = torch.bincount(
                self.train.y.cpu(), minlength=self.num_classes).tolist()
        return d
