"""Drop-in faster versions of two layers, for the CNNs' training step on the CPU.

Both are subclasses of the torch layer they replace, with the same arguments, no parameters or
buffers (state_dicts are unchanged) and the same results in eval mode:

- Dropout: nn.Dropout draws its mask with bernoulli_, which on the CPU costs one generator call
  per element. On the classic MNIST CNN's 64x64x12x12 maps that was 4.6 ms of a 20 ms bf16
  step (2 threads, torch 2.14; bench/fast_path.py). Here the mask comes from random bytes, 8 per
  generator call (0.2 ms): keep an element when its byte is below (1-p)*256, which is exact when
  p is a multiple of 1/256 (0.25 and 0.5, the example's rates), or, for any other p, when its
  32-bit word is below (1-p)*2^32 (finer than torch.rand's 24 bits). Kept values are scaled by
  1/(1-p) as nn.Dropout does; the draws come from torch's default generator, so a seed repeats.
- Flatten: a channels_last feature map flattens by a copy, and its gradient comes back in
  the default (NCHW) layout; MaxPool2d's backward then converts both that gradient and its
  saved input to channels_last, 2.9 ms of that step. Handing the gradient back as channels_last
  (0.1 ms) avoids both copies.
"""

from __future__ import annotations

import torch
from torch import nn

_MIN_INT64 = -(2 ** 63)


def _random_bytes(count: int, device: torch.device) -> torch.Tensor:
    """count uniform random bytes (uint8) from torch's default generator for `device`."""
    words = torch.empty((count + 7) // 8, dtype=torch.int64, device=device)
    return words.random_(_MIN_INT64, None).view(torch.uint8)[:count]


def keep_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """A bool mask shaped and strided like the dense tensor x: True with probability 1 - p."""
    keep = 1.0 - p
    if (keep * 256).is_integer():
        flat = _random_bytes(x.numel(), x.device) < int(keep * 256)
    else:  # 32-bit words, compared as signed: below keep*2^32 - 2^31
        words = _random_bytes(4 * x.numel(), x.device).view(torch.int32)
        flat = words < round(keep * 2 ** 32) - 2 ** 31
    # x's strides are a permutation of contiguous ones (checked by the caller), so the flat
    # buffer laid out with them gives a mask in x's own memory format.
    return flat.as_strided(x.shape, x.stride())


def _dense(x: torch.Tensor) -> bool:
    return x.is_contiguous() or (x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last))


class Dropout(nn.Dropout):
    """nn.Dropout with a mask drawn 8 elements per generator call (see the module docstring)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p in (0.0, 1.0) or self.inplace or not _dense(x) \
                or x.device.type != "cpu":
            return super().forward(x)  # the cases where bernoulli_ is fine or required
        noise = keep_mask(x, self.p).to(x.dtype).mul_(1.0 / (1.0 - self.p))
        return x * noise


def _channels_last_grad(grad: torch.Tensor) -> torch.Tensor:
    return grad.contiguous(memory_format=torch.channels_last)


class Flatten(nn.Flatten):
    """nn.Flatten whose gradient keeps a channels_last input's layout (see the docstring)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.requires_grad and x.dim() == 4 and not x.is_contiguous() \
                and x.is_contiguous(memory_format=torch.channels_last):
            x = x.view_as(x)  # a new autograd node, so the hook is this call's alone
            x.register_hook(_channels_last_grad)
        return super().forward(x)
