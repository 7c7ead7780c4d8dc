"""Inputs and statistics for the normalisation page, all from running the real layers.

- `make_input`: channel c ~ N(shift * c, (1 + spread * c)^2), plus +-size outliers.
- `label_stats` / `histograms`: per channel (or group) before and after the layer.
- `running_stats_trace`: BatchNorm2d's running_mean / running_var over training steps.
- `batch_one_cases`: the train-mode error on one value per channel, reproduced from torch.
- `batch_noise`: how much batch statistics and a fixed sample's output wobble as batches shrink.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.norm_axes import NormSpec, set_ids


@dataclass(frozen=True)
class InputDist:
    """The distribution of the input tensor, per channel c."""

    shift: float = 1.0  # channel c has mean shift * c
    spread: float = 0.5  # ... and standard deviation 1 + spread * c
    outlier_frac: float = 0.0  # each element gets an outlier with this probability
    outlier_size: float = 10.0  # ... of +size or -size
    seed: int = 0

    def __post_init__(self) -> None:
        if self.spread < 0:
            raise ValueError(f"spread must be >= 0 (a standard deviation), got {self.spread}.")
        if not 0 <= self.outlier_frac <= 1:
            raise ValueError(f"The outlier fraction must be in [0, 1], got {self.outlier_frac}.")


def make_input(n: int, c: int, h: int, w: int, dist: InputDist = InputDist()) -> torch.Tensor:
    """An (n, c, h, w) float32 tensor drawn from `dist` (same seed, same tensor)."""
    g = torch.Generator().manual_seed(dist.seed)
    ch = torch.arange(c).view(1, c, 1, 1)
    x = torch.randn(n, c, h, w, generator=g) * (1 + dist.spread * ch) + dist.shift * ch
    hit = torch.rand(n, c, h, w, generator=g) < dist.outlier_frac
    sign = torch.randint(0, 2, (n, c, h, w), generator=g) * 2 - 1
    return x + hit * sign * dist.outlier_size


def population_stats(c: int, dist: InputDist) -> tuple[list[float], list[float]]:
    """The true per-channel mean and variance of `dist` (outliers add p * size^2)."""
    means = [dist.shift * k for k in range(c)]
    variances = [(1 + dist.spread * k) ** 2 + dist.outlier_frac * dist.outlier_size ** 2
                 for k in range(c)]
    return means, variances


def labels_for(spec: NormSpec) -> tuple[torch.Tensor, list[str]]:
    """Per-element labels for the histograms: the group for GroupNorm, else the channel."""
    ch = torch.arange(spec.c).view(1, -1, 1, 1).expand(spec.shape)
    if spec.layer == "GroupNorm":
        size = spec.c // spec.groups
        return ch // size, [f"group {g} (ch {g * size}-{g * size + size - 1})"
                            for g in range(spec.groups)]
    return ch, [f"channel {k}" for k in range(spec.c)]


def label_stats(x: torch.Tensor, y: torch.Tensor, labels: torch.Tensor, k: int) -> dict:
    """Mean and (biased) std of x and y for each label 0..k-1, as lists."""
    out: dict[str, list[float]] = {"mean_in": [], "std_in": [], "mean_out": [], "std_out": []}
    for i in range(k):
        sel = labels == i
        for name, t in (("in", x[sel]), ("out", y[sel])):
            out[f"mean_{name}"].append(float(t.mean()))
            out[f"std_{name}"].append(float(t.std(unbiased=False)))
    return out


def histograms(x: torch.Tensor, y: torch.Tensor, labels: torch.Tensor, k: int,
               bins: int = 30) -> dict:
    """Shared-bin histograms (torch.histogram) of x and of y for each label."""
    out: dict = {}
    for name, t in (("in", x.detach()), ("out", y.detach())):
        lo, hi = float(t.min()), float(t.max())
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5  # a constant tensor still gets one visible bar
        edges = torch.linspace(lo, hi, bins + 1)
        out[f"edges_{name}"] = edges.tolist()
        out[f"counts_{name}"] = [torch.histogram(t[labels == i].float(), edges).hist.tolist()
                                 for i in range(k)]
    return out


def set_summary(spec: NormSpec, y: torch.Tensor) -> dict:
    """Over all statistics sets of the output: the spread of their means and stds."""
    ids = set_ids(spec).flatten()
    yf = y.detach().flatten().double()
    k = int(ids.max()) + 1
    count = torch.bincount(ids, minlength=k).double()
    mean = torch.zeros(k, dtype=torch.float64).index_add_(0, ids, yf) / count
    sq = torch.zeros(k, dtype=torch.float64).index_add_(0, ids, yf ** 2) / count
    std = (sq - mean ** 2).clamp_min(0).sqrt()
    return {"sets": k, "size": int(count[0]), "mean_min": float(mean.min()),
            "mean_max": float(mean.max()), "std_min": float(std.min()),
            "std_max": float(std.max()), "rms_min": float(sq.sqrt().min()),
            "rms_max": float(sq.sqrt().max())}


# ---- BatchNorm in train and eval mode --------------------------------------------------------
def warm_batches(c: int, h: int, w: int, batch: int, steps: int, dist: InputDist
                 ) -> list[torch.Tensor]:
    """The `steps` training batches that fill the running statistics (seed + 1: not x)."""
    return list(make_input(batch * steps, c, h, w, _reseed(dist, 1)).split(batch))


def running_stats_trace(c: int, h: int, w: int, batch: int, steps: int,
                        momentum: float | None, dist: InputDist, eps: float = 1e-5) -> dict:
    """BatchNorm2d(c) fed `steps` fresh batches in train mode; its buffers after every step.

    Row 0 is the fresh layer (running_mean = 0, running_var = 1). The update is
    r <- (1 - m) r + m * s with the batch mean, and the *unbiased* batch variance for
    running_var; momentum=None averages all batches so far.
    """
    if batch * h * w < 2:
        raise ValueError("BatchNorm needs more than one value per channel in train mode: use a "
                         "batch of 2 or more, or H*W > 1.")
    if not 1 <= steps <= 1000:
        raise ValueError(f"steps must be between 1 and 1000, got {steps}.")
    bn = nn.BatchNorm2d(c, eps=eps, momentum=momentum)
    data = warm_batches(c, h, w, batch, steps, dist)
    keys = ("running_mean", "running_var", "batch_mean", "batch_var", "batch_var_unbiased")
    out: dict[str, list] = {k: [] for k in keys}
    out["running_mean"].append(bn.running_mean.tolist())
    out["running_var"].append(bn.running_var.tolist())
    with torch.no_grad():
        for xb in data:
            bn(xb)
            out["running_mean"].append(bn.running_mean.tolist())
            out["running_var"].append(bn.running_var.tolist())
            out["batch_mean"].append(xb.mean((0, 2, 3)).tolist())
            out["batch_var"].append(xb.var((0, 2, 3), unbiased=False).tolist())
            out["batch_var_unbiased"].append(xb.var((0, 2, 3), unbiased=True).tolist())
        out["pop_mean"], out["pop_var"] = population_stats(c, dist)
        out["eval"] = _eval_check(bn, data[-1], eps)
    out["num_batches_tracked"] = int(bn.num_batches_tracked)
    return out


def _eval_check(bn: nn.BatchNorm2d, xb: torch.Tensor, eps: float) -> dict:
    """Eval mode normalises with the running buffers; train mode with the batch's own stats."""
    rm, rv = bn.running_mean[None, :, None, None], bn.running_var[None, :, None, None]
    bn.eval()
    y_eval = bn(xb)
    by_hand = (xb - rm) / torch.sqrt(rv + eps) * bn.weight[:, None, None] + bn.bias[:, None, None]
    one = bn(xb[:1])  # eval mode takes a single sample: nothing is estimated from the batch
    bn.train()
    saved = (bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone())
    y_train = bn(xb)
    bn.running_mean.copy_(saved[0])
    bn.running_var.copy_(saved[1])
    bn.num_batches_tracked.copy_(saved[2])
    return {"eval_vs_formula": float((y_eval - by_hand).abs().max()),
            "eval_vs_train": float((y_eval - y_train).abs().max()),
            "single_vs_batch": float((one - y_eval[:1]).abs().max()),
            "train_std": float(y_train.std(unbiased=False)),
            "eval_std": float(y_eval.std(unbiased=False))}


def batch_one_cases(c: int, h: int, w: int) -> list[dict]:
    """Layers called on one sample: torch's real error (or output), and why."""
    x = make_input(1, c, h, w, InputDist(seed=1))
    cases = [
        ("BatchNorm1d, train", nn.BatchNorm1d(c).train(), x.mean((2, 3))),
        ("BatchNorm2d, train", nn.BatchNorm2d(c).train(), x),
        ("BatchNorm2d, train, 1x1 image", nn.BatchNorm2d(c).train(), x[:, :, :1, :1]),
        ("BatchNorm1d, eval", nn.BatchNorm1d(c).eval(), x.mean((2, 3))),
        ("GroupNorm(1), train", nn.GroupNorm(1, c).train(), x),
    ]
    out = []
    for name, layer, inp in cases:
        row = {"case": name, "input": tuple(inp.shape), "error": None, "out_std": None}
        try:
            with torch.no_grad():
                row["out_std"] = float(layer(inp).std(unbiased=False))
        except ValueError as exc:  # torch refuses: one value per channel has no variance
            row["error"] = str(exc)
        out.append(row)
    return out


def batch_noise(c: int, h: int, w: int, groups: int, batch_sizes: list[int], dist: InputDist,
                repeats: int = 32, eps: float = 1e-5) -> dict:
    """Spread over `repeats` random batches of the statistics BatchNorm and GroupNorm use.

    BatchNorm: momentum=1 makes running_mean / running_var the batch's own (unbiased) statistics,
    read from the real layer. GroupNorm: per-sample group mean and 1/std from torch's
    native_group_norm kernel. `jitter` is how much one fixed sample's output moves when only
    its batch-mates change.
    """
    if c % groups:
        raise ValueError(f"{groups} groups do not divide {c} channels.")
    sizes = [b for b in batch_sizes if b * h * w > 1]
    keys = ("bn_mean", "gn_mean", "bn_std", "gn_std", "bn_jitter", "gn_jitter")
    out: dict[str, list] = {k: [] for k in keys}
    fixed = make_input(1, c, h, w, _reseed(dist, 7919))
    with torch.no_grad():
        for b in sizes:
            x = make_input(repeats * b, c, h, w, _reseed(dist, b))
            mean, std = _bn_batch_stats(x, repeats, b, eps)
            out["bn_mean"].append(float(mean.std(0).mean()))
            out["bn_std"].append(float(std.std(0).mean()))
            _, g_mean, g_rstd = torch.native_group_norm(x, None, None, repeats * b, c, h * w,
                                                        groups, eps)
            out["gn_mean"].append(float(g_mean.std(0).mean()))
            out["gn_std"].append(float((g_rstd.pow(-2) - eps).sqrt().std(0).mean()))
            x[::b] = fixed  # sample 0 of every batch is the same; only its batch-mates differ
            y = nn.BatchNorm2d(repeats * c, eps=eps)(_repeats_as_channels(x, repeats, b))
            yg = nn.functional.group_norm(x, groups, eps=eps).view(repeats, b, c, h, w)[:, 0]
            if b == 1:  # no batch-mates to change: there is nothing to measure
                out["bn_jitter"].append(None)
                out["gn_jitter"].append(None)
                continue
            out["bn_jitter"].append(float(y[0].view(repeats, c, h, w).std(0).mean()))
            out["gn_jitter"].append(float(yg.std(0).mean()))
    out["batch_sizes"] = sizes
    return out


def _reseed(dist: InputDist, offset: int) -> InputDist:
    return InputDist(dist.shift, dist.spread, dist.outlier_frac, dist.outlier_size,
                     dist.seed + offset)


def _repeats_as_channels(x: torch.Tensor, repeats: int, b: int) -> torch.Tensor:
    """(repeats * b, C, H, W) -> (b, repeats * C, H, W): BatchNorm2d then keeps every repeat's
    statistics apart, so one call normalises all repeats."""
    _, c, h, w = x.shape
    return x.reshape(repeats, b, c, h, w).transpose(0, 1).reshape(b, repeats * c, h, w)


def _bn_batch_stats(x: torch.Tensor, repeats: int, b: int, eps: float
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """(repeats, C) batch means and biased stds, read from a real BatchNorm2d's buffers."""
    _, c, h, w = x.shape
    bn = nn.BatchNorm2d(repeats * c, eps=eps, momentum=1.0)
    bn(_repeats_as_channels(x, repeats, b))
    m = b * h * w  # running_var holds the unbiased variance: undo Bessel's correction
    var = bn.running_var * (m - 1) / m
    return bn.running_mean.view(repeats, c), var.sqrt().view(repeats, c)
