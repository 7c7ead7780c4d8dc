"""Convolutional classics: the pytorch/examples MNIST CNN (and a compact normalised variant),
and LeNet-5.

cnn, norm='none': exactly `Net` from pytorch/examples mnist/main.py (1,199,882 parameters on
28x28 MNIST): conv(in,32,3) ReLU conv(32,64,3) ReLU maxpool2 dropout flatten Linear(->128) ReLU
dropout Linear(->classes). It returns logits; the example's log_softmax + nll_loss equals our
cross_entropy on logits.

cnn, norm='batch' / 'layer' / 'group': the compact normalised CNN (the fast MNIST presets'
model). Each conv is padded (3x3, padding 1) and followed by a 2x2 max pool, its norm layer and
ReLU, so the maps shrink 28 -> 14 -> 7 and the first Linear takes 64*7*7 = 3,136 inputs instead
of 9,216: 3x fewer parameters (421,738 with BatchNorm) and 3x fewer multiply-adds in the second
conv (it runs on 14x14 instead of 24x24). The convs drop their bias, which a norm layer right
after would cancel. Pooling before the norm and ReLU (max-pool commutes with ReLU, and with a
norm's per-channel scale when it is positive) runs them on 4x fewer values: a training step got
1.3x faster on this project's 2-core CPU; the norm's statistics are those of the pooled maps.

Dropout: cfg.dropout > 0 sets both dropout layers to cfg.dropout; cfg.dropout == 0 (the
default) keeps the example's 0.25 (after the convs) and 0.5 (after the hidden Linear).

The Dropout and Flatten layers are core.models.fast_layers' subclasses of torch's: the same
results and state_dict, a 1.5x faster bf16 channels_last training step on this project's CPU
(a cheaper dropout mask, and a channels_last gradient out of Flatten).

cfg.cnn_channels (default 32, the example's) sets the first conv's channels; the second has
twice as many. The mnist-99 preset uses 16: its bf16 channels_last step is 2.3x faster than with
32 on this project's 2-core CPU (8.4 vs 19.1 ms at batch 128), and one epoch still reaches 99.1 %.

cfg.activation, width and depth do not apply: the CNN uses ReLU as in the example.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from core.activations import build_activation
from core.config import TrainConfig
from core.models.blocks import norm_2d
from core.models.fast_layers import Dropout, Flatten

CLASSIC_DROPOUT = (0.25, 0.5)  # pytorch/examples mnist: after the pool, after fc1


class CNN(nn.Sequential):
    """The two-convolution CNN; a named nn.Sequential (conv1, act1, ..., fc2)."""

    supports_checkpointing = False  # too shallow for checkpointing to save anything


def cnn_feature_side(side: int, compact: bool) -> int:
    """Height (or width) of the last feature map: classic 3x3 convs unpadded then one pool;
    compact padded convs each followed by a pool."""
    return side // 4 if compact else (side - 4) // 2


def build_cnn(cfg: TrainConfig, input_shape: tuple[int, ...], num_outputs: int) -> CNN:
    """The classic CNN (norm='none') or the compact normalised one (any other norm)."""
    c, h, w = input_shape
    compact = cfg.norm != "none"
    p1, p2 = (cfg.dropout, cfg.dropout) if cfg.dropout > 0 else CLASSIC_DROPOUT
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    k = cfg.cnn_channels
    for i, (cin, cout) in enumerate(((c, k), (k, 2 * k)), start=1):
        if compact:
            layers[f"conv{i}"] = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
            layers[f"pool{i}"] = nn.MaxPool2d(2)
            layers[f"norm{i}"] = norm_2d(cfg.norm, cout, cfg.norm_groups)
            layers[f"act{i}"] = build_activation("relu")
        else:
            layers[f"conv{i}"] = nn.Conv2d(cin, cout, 3)
            layers[f"act{i}"] = build_activation("relu")
    if not compact:
        layers["pool"] = nn.MaxPool2d(2)
    fh, fw = cnn_feature_side(h, compact), cnn_feature_side(w, compact)
    layers["drop1"] = Dropout(p1)
    layers["flatten"] = Flatten()  # reshape, not view: fine on channels_last maps
    layers["fc1"] = nn.Linear(2 * k * fh * fw, 128)
    layers["act3"] = build_activation("relu")
    layers["drop2"] = Dropout(p2)
    layers["fc2"] = nn.Linear(128, num_outputs)
    return CNN(layers)


class LeNet5(nn.Sequential):
    """LeNet-5 (LeCun et al. 1998); a named nn.Sequential (conv1, act1, pool1, ..., fc3)."""

    supports_checkpointing = False


def lenet_padding(side: int) -> int:
    """Pad the first conv by 2 on a side shorter than 32 pixels: the paper padded its 28x28
    digits to 32x32, so 28x28 inputs give the paper's 28 -> 14 -> 10 -> 5 maps."""
    return 2 if side < 32 else 0


def lenet_feature_side(side: int) -> int:
    """Side of LeNet-5's last feature map (<= 0 means the image is too small)."""
    after_pool1 = (side + 2 * lenet_padding(side) - 4) // 2
    return (after_pool1 - 4) // 2


def build_lenet5(cfg: TrainConfig, input_shape: tuple[int, ...], num_outputs: int) -> LeNet5:
    """LeNet-5 as it is usually rebuilt: tanh, 2x2 average pooling (the paper's subsampling),
    a fully connected C3 (not the paper's sparse table) and a linear output instead of RBFs.

    Activation: always tanh, as in the paper (cfg.activation is the MLP's). cfg.dropout > 0
    adds dropout after the two hidden Linear layers (120 and 84 units).
    """
    c, h, w = input_shape
    pad = (lenet_padding(h), lenet_padding(w))
    layers: OrderedDict[str, nn.Module] = OrderedDict(
        conv1=nn.Conv2d(c, 6, 5, padding=pad), act1=build_activation("tanh"),
        pool1=nn.AvgPool2d(2),
        conv2=nn.Conv2d(6, 16, 5), act2=build_activation("tanh"), pool2=nn.AvgPool2d(2),
        flatten=Flatten())
    in_features = 16 * lenet_feature_side(h) * lenet_feature_side(w)
    for i, (fin, fout) in enumerate(((in_features, 120), (120, 84)), start=1):
        layers[f"fc{i}"] = nn.Linear(fin, fout)
        layers[f"act{i + 2}"] = build_activation("tanh")
        if cfg.dropout > 0:
            layers[f"drop{i}"] = Dropout(cfg.dropout)
    layers["fc3"] = nn.Linear(84, num_outputs)
    return LeNet5(layers)
