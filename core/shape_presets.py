"""Ready-made stacks for the shape tracer: classic networks and a few instructive mistakes.

Each preset is an input shape and a stack in the tracer's compact form. `broken_at` is the
(0-based) layer where the stack stops, None when it runs through (a test checks both).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShapePreset:
    """A named starting stack."""

    title: str
    input_shape: tuple[int, ...]
    stack: str
    blurb: str
    broken_at: int | None = None


SHAPE_PRESETS: dict[str, ShapePreset] = {p.title: p for p in (
    ShapePreset(
        "MNIST CNN (pytorch/examples)", (64, 1, 28, 28),
        "conv:32:3|relu|conv:64:3|relu|maxpool:2|dropout:0.25|flatten|linear:128:in=9216|relu"
        "|dropout:0.5|linear:10",
        "The network of pytorch/examples mnist/main.py: 28×28 → 26 → 24 → 12, so Flatten "
        "gives 64·12·12 = 9216 features."),
    ShapePreset(
        "LeNet-5 (32×32)", (1, 1, 32, 32),
        "conv:6:5|tanh|avgpool:2|conv:16:5|tanh|avgpool:2|flatten|linear:120:in=400|tanh"
        "|linear:84|tanh|linear:10",
        "LeCun et al. 1998 on 32×32 inputs: 32 → 28 → 14 → 10 → 5, and 16·5·5 = 400."),
    ShapePreset(
        "VGG-style blocks (CIFAR 32×32)", (8, 3, 32, 32),
        "conv:32:3:1:1|bn|relu|conv:32:3:1:1|bn|relu|maxpool:2|conv:64:3:1:1|bn|relu"
        "|conv:64:3:1:1|bn|relu|maxpool:2|adaptavg:1|flatten|linear:10",
        "3×3 convolutions with padding 1 keep the size; each 2×2 max pool halves it. A global "
        "average pool makes the head independent of the image size."),
    ShapePreset(
        "U-Net-style encoder/decoder (Upsample)", (2, 1, 64, 64),
        "conv:16:3:1:1|relu|maxpool:2|conv:32:3:1:1|relu|maxpool:2|conv:64:3:1:1|relu"
        "|upsample:2:bilinear|conv:32:3:1:1|relu|upsample:2:bilinear|conv:16:3:1:1|relu"
        "|conv:1:1",
        "Down by pooling, back up by upsampling to a 64×64 mask (the skip connections of a real "
        "U-Net need a custom module, so only the main path is traced)."),
    ShapePreset(
        "1-D signal CNN (Conv1d)", (4, 1, 1000),
        "conv1d:16:9:2:4|bn1d|relu|maxpool1d:2|conv1d:32:5:1:2|bn1d|relu|adaptavg1d:1|flatten"
        "|linear:5",
        "Convolutions over a length-1000 signal, e.g. audio or a sensor trace."),
    ShapePreset(
        "MLP on flattened MNIST", (64, 1, 28, 28),
        "flatten|linear:256|relu|dropout:0.2|linear:10",
        "No convolutions: each 28×28 image becomes 784 numbers."),
    ShapePreset(
        "Broken: LeNet-5 fed 28×28 MNIST", (1, 1, 28, 28),
        "conv:6:5|tanh|avgpool:2|conv:16:5|tanh|avgpool:2|flatten|linear:120:in=400|tanh"
        "|linear:84|tanh|linear:10",
        "LeNet-5's Linear(400, 120) assumes 32×32 inputs; 28×28 digits give 16·4·4 = 256.",
        broken_at=7),
    ShapePreset(
        "Broken: grayscale conv fed RGB", (8, 3, 32, 32),
        "conv:32:3:1:1:in=1|relu|maxpool:2|flatten|linear:10",
        "A first convolution written for 1-channel images, given 3-channel ones.", broken_at=0),
    ShapePreset(
        "Broken: pooled to nothing", (1, 3, 16, 16),
        "conv:16:3:1:1|relu|maxpool:2|conv:32:3:1:1|relu|maxpool:2|conv:64:3:1:1|relu"
        "|maxpool:2|maxpool:2|maxpool:2|flatten|linear:10",
        "Each 2×2 pool halves 16×16: 8, 4, 2, 1, and the fifth has nothing left to pool.",
        broken_at=10),
)}
DEFAULT_PRESET = "MNIST CNN (pytorch/examples)"
