"""GroupNorm's two limits, shown numerically from the real layers.

- G = 1 normalises like LayerNorm over (C, H, W), but GroupNorm's gamma/beta have shape (C,)
  and LayerNorm's (C, H, W): a per-element LayerNorm affine cannot be copied into GroupNorm.
- G = C normalises like InstanceNorm2d; with InstanceNorm2d(affine=True), or affine=False plus a
  per-channel gamma/beta, the outputs agree.
"""

from __future__ import annotations

import torch
from torch import nn

from core.norm_axes import randomize_affine


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def _shape(p: torch.Tensor | None) -> tuple[int, ...]:
    return () if p is None else tuple(p.shape)


def groupnorm_vs_layernorm(x: torch.Tensor, eps: float = 1e-5, seed: int = 0) -> dict:
    """GroupNorm(1, C) against LayerNorm([C, H, W]) on x: shapes, parameters, output gaps."""
    if x.dim() != 4:
        raise ValueError(f"Expected an (N, C, H, W) tensor, got shape {tuple(x.shape)}.")
    if x.numel() < 2:
        raise ValueError("A tensor of one element has no variance to normalise by.")
    _, c, h, w = x.shape
    gn, ln = nn.GroupNorm(1, c, eps=eps), nn.LayerNorm([c, h, w], eps=eps)
    with torch.no_grad():
        fresh = _max_diff(gn(x), ln(x))  # both start at gamma = 1, beta = 0
        randomize_affine(gn, seed)  # per-channel gamma/beta...
        ln.weight.copy_(gn.weight[:, None, None].expand(c, h, w))  # ...copied per element
        ln.bias.copy_(gn.bias[:, None, None].expand(c, h, w))
        copied = _max_diff(gn(x), ln(x))
        randomize_affine(ln, seed + 1)  # now gamma/beta differ within a channel
        target = ln(x)
        residual = _best_per_channel_fit(nn.functional.group_norm(x, 1, eps=eps), target)
    return {
        "gn_weight_shape": _shape(gn.weight), "ln_weight_shape": _shape(ln.weight),
        "gn_params": sum(p.numel() for p in gn.parameters()),
        "ln_params": sum(p.numel() for p in ln.parameters()),
        "diff_fresh": fresh, "diff_copied": copied, "fit_residual_rms": residual,
        "target_rms": float(target.pow(2).mean().sqrt()),
    }


def _best_per_channel_fit(x_hat: torch.Tensor, target: torch.Tensor) -> float:
    """RMS error of the best per-channel a_c * x_hat + b_c (any GroupNorm affine) to target."""
    errors = []
    for ch in range(x_hat.shape[1]):
        u, t = x_hat[:, ch].reshape(-1, 1).double(), target[:, ch].reshape(-1, 1).double()
        design = torch.cat([u, torch.ones_like(u)], dim=1)
        coef = torch.linalg.lstsq(design, t).solution
        errors.append((design @ coef - t).pow(2).mean())
    return float(torch.stack(errors).mean().sqrt())


def groupnorm_vs_instancenorm(x: torch.Tensor, eps: float = 1e-5, seed: int = 0) -> dict:
    """GroupNorm(C, C) against InstanceNorm2d with and without affine on x."""
    if x.dim() != 4:
        raise ValueError(f"Expected an (N, C, H, W) tensor, got shape {tuple(x.shape)}.")
    if x.shape[2] * x.shape[3] < 2:
        raise ValueError("InstanceNorm2d and GroupNorm(C, C) normalise each channel of each "
                         "sample over its H·W pixels: use H·W > 1.")
    c = x.shape[1]
    gn = nn.GroupNorm(c, c, eps=eps)
    inst = nn.InstanceNorm2d(c, eps=eps, affine=True)
    plain = nn.InstanceNorm2d(c, eps=eps)  # torch's default: affine=False
    tracked = nn.InstanceNorm2d(c, eps=eps, affine=True, track_running_stats=True)
    with torch.no_grad():
        randomize_affine(gn, seed)
        for layer in (inst, tracked):
            layer.weight.copy_(gn.weight)
            layer.bias.copy_(gn.bias)
        ref = gn(x)
        by_hand = plain(x) * gn.weight[:, None, None] + gn.bias[:, None, None]
        tracked(x)  # one train-mode call fills its running statistics...
        tracked.eval()  # ...which eval mode then uses instead of each sample's own
        return {
            "gn_weight_shape": _shape(gn.weight), "in_weight_shape": _shape(inst.weight),
            "plain_weight_shape": _shape(plain.weight),
            "diff_affine": _max_diff(ref, inst(x)), "diff_plain_plus_affine": _max_diff(
                ref, by_hand),
            "diff_plain_no_affine": _max_diff(ref, plain(x)),
            "diff_tracked_eval": _max_diff(ref, tracked(x)),
        }
