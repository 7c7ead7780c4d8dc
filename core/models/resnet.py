"""A small ResNet for small images (He et al. 2015, section 4.2, the CIFAR-10 networks).

stem: conv3x3(in -> width) BN ReLU; then 3 stages of cfg.depth BasicBlocks with width,
2*width and 4*width channels (stages 2 and 3 halve the map with a stride-2 first block);
global average pool; dropout (only if cfg.dropout > 0); Linear. That is 6*depth + 2 weighted
layers: width=16, depth=3 is the paper's ResNet-20 (0.27 M parameters).

Where a block changes the shape, its shortcut is a 1x1 conv + BN ("option B"; the paper's
CIFAR nets zero-pad instead, which has no parameters). Convs have no bias: BN follows each.
Weights use He (kaiming) normal init as in the paper; BN starts at weight 1, bias 0.
ResNet is defined with BatchNorm and ReLU, so cfg.norm and cfg.activation do not apply.
"""

from __future__ import annotations

import torch
from torch import nn

from core.activations import build_activation
from core.config import TrainConfig
from core.models.blocks import run_block


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the input (or its 1x1 projection), then ReLU."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.act1 = build_activation("relu")
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module | None = None
        if stride != 1 or cin != cout:  # the sum needs matching shapes
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(cout))
        self.act2 = build_activation("relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.act2(out + identity)


class ResNet(nn.Module):
    """Stem, three stages of BasicBlocks, global average pool, Linear head."""

    supports_checkpointing = True

    def __init__(self, cfg: TrainConfig, in_channels: int, num_outputs: int) -> None:
        super().__init__()
        w = cfg.width
        self.stem = nn.Sequential(nn.Conv2d(in_channels, w, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(w), build_activation("relu"))
        stages, cin = [], w
        for i, cout in enumerate((w, 2 * w, 4 * w)):
            blocks = [BasicBlock(cin if b == 0 else cout, cout, 2 if i > 0 and b == 0 else 1)
                      for b in range(cfg.depth)]
            stages.append(nn.Sequential(*blocks))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.drop = nn.Dropout(cfg.dropout) if cfg.dropout > 0 else None
        self.fc = nn.Linear(4 * w, num_outputs)
        self.grad_checkpointing = cfg.grad_checkpointing
        self._init_weights()

    def _init_weights(self) -> None:
        if self.fc.weight.is_meta:  # shapes only (check_model_fits): normal_ on meta would
            return  # import torch's meta kernels, about 2 s, for values that do not exist
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            for block in stage:  # one checkpoint per block: only block inputs are kept
                x = run_block(block, x, self.grad_checkpointing)
        x = self.flatten(self.pool(x))
        if self.drop is not None:
            x = self.drop(x)
        return self.fc(x)


def build_resnet(cfg: TrainConfig, input_shape: tuple[int, ...], num_outputs: int) -> ResNet:
    """The ResNet for `cfg` on (channels, height, width) images."""
    return ResNet(cfg, input_shape[0], num_outputs)
