"""Which elements of an (N, C, H, W) tensor share a normalisation layer's statistics.

Every answer is derived twice: from the layer's rule (`set_ids`) and from the real torch layer
(`probe_mask`: autograd of one output element through the real module). The worked example puts
the hand-computed mu, sigma^2 and output next to the real layer's kernel statistics and output.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

LAYERS = ("BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm2d", "RMSNorm")
SHAPES = ("C,H,W", "H,W", "W", "C (channels last)")  # LayerNorm / RMSNorm normalized_shape
BN1D_VIEWS = ("features", "sequence")  # BatchNorm1d on x.flatten(1) or on x.flatten(2)
RUNNING = ("BatchNorm1d", "BatchNorm2d", "InstanceNorm2d")  # layers with running statistics
AFFINE_PARAM = {"LayerNorm": "elementwise_affine", "RMSNorm": "elementwise_affine"}
MAX_SIZE = 8  # per axis: keeps the picture readable and every rerun fast


@dataclass(frozen=True)
class NormSpec:
    """One normalisation layer applied to one (N, C, H, W) tensor."""

    layer: str = "BatchNorm2d"
    n: int = 4
    c: int = 6
    h: int = 4
    w: int = 4
    normalized: str = "C,H,W"  # LayerNorm / RMSNorm: which trailing axes
    groups: int = 2  # GroupNorm
    bn1d_view: str = "features"  # BatchNorm1d
    eps: float | None = 1e-5  # None: RMSNorm's default, torch.finfo(dtype).eps
    momentum: float | None = 0.1  # None: cumulative average
    affine: bool = True
    track_running_stats: bool = True
    training: bool = True
    random_affine: bool = False  # gamma ~ U(0.5, 1.5), beta ~ N(0, 0.5^2) instead of 1 and 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.layer not in LAYERS:
            raise ValueError(f"Unknown layer {self.layer!r}; choose one of {', '.join(LAYERS)}.")
        for name in ("n", "c", "h", "w"):
            size = getattr(self, name)
            if not 1 <= size <= MAX_SIZE:
                raise ValueError(f"{name.upper()} must be between 1 and {MAX_SIZE}, got {size}.")
        if self.normalized not in SHAPES:
            raise ValueError(f"normalized_shape must be one of {', '.join(SHAPES)}.")
        if self.bn1d_view not in BN1D_VIEWS:
            raise ValueError(f"BatchNorm1d view must be one of {', '.join(BN1D_VIEWS)}.")
        if self.layer == "GroupNorm" and (self.groups < 1 or self.c % self.groups):
            raise ValueError(f"GroupNorm needs the number of groups to divide the channels: "
                             f"{self.groups} does not divide C = {self.c}.")
        if self.eps is not None and not self.eps >= 0:
            raise ValueError(f"eps must be >= 0, got {self.eps}.")
        if self.momentum is not None and not 0 <= self.momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1] or None, got {self.momentum}.")

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.n, self.c, self.h, self.w)

    @property
    def uses_running_stats(self) -> bool:
        """Eval mode with stored statistics: each element is normalised on its own."""
        return self.layer in RUNNING and not self.training and self.track_running_stats

    @property
    def eps_value(self) -> float:
        """The eps the layer really adds (RMSNorm's None means the dtype's epsilon)."""
        return torch.finfo(torch.float32).eps if self.eps is None else self.eps


# ---- the layer and the view of x it sees -----------------------------------------------------
def normalized_shape(spec: NormSpec) -> list[int]:
    """LayerNorm / RMSNorm normalized_shape for the chosen trailing axes."""
    return {"C,H,W": [spec.c, spec.h, spec.w], "H,W": [spec.h, spec.w], "W": [spec.w],
            "C (channels last)": [spec.c]}[spec.normalized]


def build_layer(spec: NormSpec) -> nn.Module:
    """The real torch layer for `spec`, gamma/beta randomised when asked."""
    kind, eps = spec.layer, spec.eps_value
    if kind in ("BatchNorm1d", "BatchNorm2d", "InstanceNorm2d"):
        feats = spec.c * spec.h * spec.w if kind == "BatchNorm1d" and spec.bn1d_view == "features" \
            else spec.c
        layer = getattr(nn, kind)(feats, eps=eps, momentum=spec.momentum, affine=spec.affine,
                                  track_running_stats=spec.track_running_stats)
    elif kind == "LayerNorm":
        layer = nn.LayerNorm(normalized_shape(spec), eps=eps, elementwise_affine=spec.affine)
    elif kind == "RMSNorm":
        layer = nn.RMSNorm(normalized_shape(spec), eps=spec.eps, elementwise_affine=spec.affine)
    else:
        layer = nn.GroupNorm(spec.groups, spec.c, eps=eps, affine=spec.affine)
    if spec.random_affine:
        randomize_affine(layer, spec.seed)
    return layer.train(spec.training)


def randomize_affine(layer: nn.Module, seed: int) -> None:
    """gamma ~ U(0.5, 1.5), beta ~ N(0, 0.5^2): what a trained layer might hold."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if getattr(layer, "weight", None) is not None:
            layer.weight.uniform_(0.5, 1.5, generator=g)
        if getattr(layer, "bias", None) is not None:
            layer.bias.normal_(0.0, 0.5, generator=g)


def to_layer(spec: NormSpec, x: torch.Tensor) -> torch.Tensor:
    """The view of the (N, C, H, W) tensor that the layer is called on."""
    if spec.layer == "BatchNorm1d":
        return x.flatten(1) if spec.bn1d_view == "features" else x.flatten(2)
    if spec.layer in ("LayerNorm", "RMSNorm") and spec.normalized == "C (channels last)":
        return x.permute(0, 2, 3, 1)
    return x


def from_layer(spec: NormSpec, y: torch.Tensor) -> torch.Tensor:
    """The layer's output back in (N, C, H, W)."""
    if spec.layer in ("LayerNorm", "RMSNorm") and spec.normalized == "C (channels last)":
        return y.permute(0, 3, 1, 2)
    return y.reshape(spec.shape)


def forward(spec: NormSpec, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run the real layer on x as (N, C, H, W) in, (N, C, H, W) out."""
    return from_layer(spec, layer(to_layer(spec, x)))


def warm_up(spec: NormSpec, layer: nn.Module, batches: list[torch.Tensor]) -> None:
    """Train-mode forwards that fill the running statistics, then restore the mode."""
    if spec.layer not in RUNNING or not spec.track_running_stats:
        return
    layer.train()
    with torch.no_grad():
        for b in batches:
            layer(to_layer(spec, b))
    layer.train(spec.training)


# ---- which elements share statistics ---------------------------------------------------------
def set_ids(spec: NormSpec) -> torch.Tensor:
    """For every element, the id of the statistics set it belongs to (the layer's rule)."""
    n, c, h, w = torch.meshgrid(*(torch.arange(s) for s in spec.shape), indexing="ij")
    N, C, H, W = spec.shape
    if spec.uses_running_stats:
        return torch.arange(N * C * H * W).reshape(spec.shape)  # nothing is shared
    kind, ax = spec.layer, spec.normalized
    if kind == "BatchNorm1d" and spec.bn1d_view == "features":
        return (c * H + h) * W + w
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        return c
    if kind == "InstanceNorm2d":
        return n * C + c
    if kind == "GroupNorm":
        return n * spec.groups + c // (C // spec.groups)
    return {"C,H,W": n, "H,W": n * C + c, "W": (n * C + c) * H + h,
            "C (channels last)": (n * H + h) * W + w}[ax]


def shared_mask(spec: NormSpec, idx: tuple[int, int, int, int]) -> torch.Tensor:
    """Boolean (N, C, H, W): the elements whose statistics are those of element idx."""
    check_index(spec, idx)
    ids = set_ids(spec)
    return ids == ids[idx]


def check_index(spec: NormSpec, idx: tuple[int, ...]) -> None:
    """ValueError unless idx picks one element of the tensor."""
    if len(idx) != 4 or any(not 0 <= i < s for i, s in zip(idx, spec.shape, strict=True)):
        raise ValueError(f"The element {tuple(idx)} is outside a tensor of shape {spec.shape}.")


def probe_mask(spec: NormSpec, layer: nn.Module, x: torch.Tensor,
               idx: tuple[int, int, int, int]) -> torch.Tensor:
    """Elements the real layer's output at idx depends on (autograd through the module).

    Changing any member of idx's statistics set moves the mean/variance and so the output at
    idx; other inputs do not. The element itself always counts, even when its set is so small
    that the output is constant (one element: (x - x) / sqrt(eps) = 0).
    """
    check_index(spec, idx)
    # float64 on a copy: with two elements per set and a small eps the output is ±1 to within
    # ~eps, so float32 rounds the true (tiny, nonzero) gradient to 0; the copy also keeps a
    # train-mode call from moving the real layer's running statistics.
    probe = copy.deepcopy(layer).double()
    xr = x.detach().double().requires_grad_(True)
    forward(spec, probe, xr)[idx].backward()
    mask = xr.grad != 0
    mask[idx] = True
    return mask


def param_index(spec: NormSpec, idx: tuple[int, int, int, int]) -> tuple[int, ...]:
    """Index into the layer's weight/bias (and running stats) used for element idx."""
    n, c, h, w = idx
    if spec.layer == "BatchNorm1d" and spec.bn1d_view == "features":
        return ((c * spec.h + h) * spec.w + w,)
    if spec.layer in ("LayerNorm", "RMSNorm"):
        return {"C,H,W": (c, h, w), "H,W": (h, w), "W": (w,),
                "C (channels last)": (c,)}[spec.normalized]
    return (c,)


def describe(spec: NormSpec) -> str:
    """One sentence: over which axes the statistics are taken."""
    if spec.uses_running_stats:
        return ("with its stored running_mean and running_var (eval mode): every element on its "
                "own, so no element shares a batch statistic")
    return {
        "BatchNorm1d": "over the batch N only, separately for every feature (c, h, w)"
        if spec.bn1d_view == "features" else "over N and the length L = H*W, per channel",
        "BatchNorm2d": "over N, H and W, separately for every channel",
        "InstanceNorm2d": "over H and W, separately for every sample and channel",
        "GroupNorm": f"over H, W and the {spec.c // spec.groups} channel(s) of a group, "
                     "separately for every sample",
    }.get(spec.layer) or {
        "C,H,W": "over C, H and W, separately for every sample",
        "H,W": "over H and W, separately for every sample and channel",
        "W": "over W, separately for every sample, channel and row",
        "C (channels last)": "over the channels C, separately for every sample and pixel",
    }[spec.normalized]
