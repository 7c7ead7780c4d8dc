"""Pieces every model shares: gradient checkpointing of a block, and normalisation layers."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


@contextlib.contextmanager
def kept_running_stats(module: nn.Module) -> Iterator[None]:
    """BatchNorm buffers inside `module` (running mean/var, num_batches_tracked) end up as they
    were before this block ran, whatever it did to them."""
    buffers = [b for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
               for b in m.buffers(recurse=False)]
    saved = [b.clone() for b in buffers]
    try:
        yield
    finally:
        with torch.no_grad():
            for b, old in zip(buffers, saved, strict=True):
                b.copy_(old)


def _recompute_contexts(block: nn.Module) -> tuple[contextlib.AbstractContextManager, ...]:
    # The first context wraps the original forward, the second the recomputation in backward.
    # Without the second, BatchNorm would update its running stats twice per step. (Turning
    # the update off instead would make batch_norm save fewer tensors in the recomputation,
    # which checkpoint refuses.)
    return contextlib.nullcontext(), kept_running_stats(block)


def run_block(block: nn.Module, x: torch.Tensor, use_checkpoint: bool) -> torch.Tensor:
    """block(x), or the same through torch.utils.checkpoint: the block's inner activations
    are dropped after the forward pass and recomputed in backward (less memory, more compute).

    Checkpointing only pays off when a backward pass will follow, so it is skipped in eval
    mode and under no_grad. Dropout draws the same mask again (preserve_rng_state=True).
    """
    if use_checkpoint and block.training and torch.is_grad_enabled():
        return checkpoint(block, x, use_reentrant=False,
                          context_fn=functools.partial(_recompute_contexts, block))
    return block(x)


def norm_1d(kind: str, features: int, groups: int) -> nn.Module | None:
    """The normalisation layer after a hidden Linear (None for norm='none')."""
    if kind == "batch":
        return nn.BatchNorm1d(features)
    if kind == "layer":
        return nn.LayerNorm(features)
    if kind == "group":
        return nn.GroupNorm(groups, features)
    return None


def norm_2d(kind: str, channels: int, groups: int) -> nn.Module | None:
    """The normalisation layer after a convolution (None for norm='none').

    'layer' on feature maps is GroupNorm with one group: it normalises each sample over all
    channels and pixels, which is what LayerNorm means for a CNN (nn.LayerNorm would need the
    spatial size fixed in advance and normalise over the last dimensions only).
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "group":
        return nn.GroupNorm(groups, channels)
    return None
