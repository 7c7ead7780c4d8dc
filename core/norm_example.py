"""The worked example for one element: mu, sigma^2, eps, gamma, beta and the output, by hand and
from the real layer.

"By hand" reduces over the element's statistics set (core.norm_axes.shared_mask). "Real" is the
module's output plus the statistics its own kernel computed (torch.native_batch_norm,
native_layer_norm, native_group_norm, _fused_rms_norm return the mean and 1/sqrt(var + eps)
they normalised with), or the running buffers in eval mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.norm_axes import (
    NormSpec,
    build_layer,
    forward,
    normalized_shape,
    param_index,
    probe_mask,
    shared_mask,
    to_layer,
    warm_up,
)


@dataclass(frozen=True)
class WorkedExample:
    """Every number of the worked example, as Python floats."""

    idx: tuple[int, int, int, int]
    members: int  # elements in the statistics set
    x: float
    mu: float | None  # None for RMSNorm, which does not subtract a mean
    var: float  # biased variance (RMSNorm: mean of squares)
    eps: float
    rstd: float  # 1 / sqrt(var + eps)
    x_hat: float
    gamma: float
    beta: float
    manual: float  # gamma * x_hat + beta
    real: float  # the layer's output at idx
    kernel_mu: float | None  # what the torch kernel normalised with
    kernel_rstd: float
    stats_from: str  # "batch" or "running"
    probe_agrees: bool  # autograd through the layer found exactly the rule's set

    @property
    def error(self) -> float:
        return abs(self.manual - self.real)


def kernel_stats(spec: NormSpec, layer: nn.Module, x: torch.Tensor,
                 idx: tuple[int, int, int, int]) -> tuple[float | None, float]:
    """(mean, 1/sqrt(var + eps)) that torch's own kernel used for element idx."""
    n, c, h, w = idx
    eps = spec.eps_value
    if spec.uses_running_stats:
        p = param_index(spec, idx)
        mean, var = layer.running_mean[p], layer.running_var[p]
        return float(mean), float(torch.rsqrt(var + eps))
    xv = to_layer(spec, x)
    if spec.layer in ("BatchNorm1d", "BatchNorm2d"):
        _, mean, rstd = torch.native_batch_norm(xv, None, None, None, None, True, 0.0, eps)
        p = param_index(spec, idx)[0]
        return float(mean[p]), float(rstd[p])
    if spec.layer == "InstanceNorm2d":  # torch runs batch norm on a (1, N*C, H, W) view
        flat = x.reshape(1, spec.n * spec.c, spec.h, spec.w)
        _, mean, rstd = torch.native_batch_norm(flat, None, None, None, None, True, 0.0, eps)
        return float(mean[n * spec.c + c]), float(rstd[n * spec.c + c])
    if spec.layer == "GroupNorm":
        _, mean, rstd = torch.native_group_norm(x, None, None, spec.n, spec.c, spec.h * spec.w,
                                                spec.groups, eps)
        g = c // (spec.c // spec.groups)
        return float(mean[n, g]), float(rstd[n, g])
    lead = _leading_index(spec, idx)
    if spec.layer == "LayerNorm":
        _, mean, rstd = torch.native_layer_norm(xv, normalized_shape(spec), None, None, eps)
        return float(mean[lead]), float(rstd[lead])
    _, rstd = torch.ops.aten._fused_rms_norm(xv, normalized_shape(spec), None, spec.eps)
    return None, float(rstd[lead])


def _leading_index(spec: NormSpec, idx: tuple[int, int, int, int]) -> tuple[int, ...]:
    """Index of idx's row in the (kept-dims) statistics of LayerNorm / RMSNorm."""
    n, c, h, w = idx
    return {"C,H,W": (n, 0, 0, 0), "H,W": (n, c, 0, 0), "W": (n, c, h, 0),
            "C (channels last)": (n, h, w, 0)}[spec.normalized]


def _affine(layer: nn.Module, spec: NormSpec, idx: tuple[int, int, int, int]
            ) -> tuple[float, float]:
    p = param_index(spec, idx)
    weight, bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
    return (1.0 if weight is None else float(weight.detach()[p]),
            0.0 if bias is None else float(bias.detach()[p]))


def worked_example(spec: NormSpec, x: torch.Tensor, idx: tuple[int, int, int, int],
                   warm_batches: list[torch.Tensor] | None = None) -> WorkedExample:
    """The numbers of the worked example for element idx of x (see WorkedExample)."""
    if tuple(x.shape) != spec.shape:
        raise ValueError(f"x has shape {tuple(x.shape)}, expected {spec.shape}.")
    layer = build_layer(spec)
    warm_up(spec, layer, warm_batches or [])
    mask = shared_mask(spec, idx)
    probe = probe_mask(spec, layer, x, idx)
    with torch.no_grad():
        k_mu, k_rstd = kernel_stats(spec, layer, x, idx)
        real = float(forward(spec, layer, x)[idx])
    eps, xi = spec.eps_value, x[idx].double()
    members = x[mask].double()
    if spec.uses_running_stats:  # the stored statistics, not this batch's
        p = param_index(spec, idx)
        mu, var = layer.running_mean[p].double(), layer.running_var[p].double()
    elif spec.layer == "RMSNorm":
        mu, var = None, (members ** 2).mean()
    else:
        mu, var = members.mean(), members.var(unbiased=False)  # biased, as in training
    rstd = torch.rsqrt(var + eps)
    x_hat = (xi if mu is None else xi - mu) * rstd
    gamma, beta = _affine(layer, spec, idx)
    return WorkedExample(
        idx=tuple(idx), members=int(mask.sum()), x=float(xi),
        mu=None if mu is None else float(mu), var=float(var), eps=eps, rstd=float(rstd),
        x_hat=float(x_hat), gamma=gamma, beta=beta, manual=float(gamma * x_hat + beta),
        real=real, kernel_mu=k_mu, kernel_rstd=k_rstd,
        stats_from="running" if spec.uses_running_stats else "batch",
        probe_agrees=bool(torch.equal(probe, mask)))
