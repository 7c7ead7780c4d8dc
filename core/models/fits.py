"""Which (config, input shape) pairs a model can be built for; each problem names its fields.

core/validate.py runs fit_problems whenever the dataset fixes the shape before loading, so
such a TrainConfig cannot even be made; core.models.check_model_fits runs them again on the
loaded data's real shape, then a parameter budget. Rules validate.py has on its own (MLP
GroupNorm divisibility) are not repeated here, so a message never appears twice.
"""

from __future__ import annotations

from collections.abc import Callable

from core.config import IMAGE_MODELS, TrainConfig
from core.models.cnn import CNN, LeNet5, cnn_feature_side, lenet_feature_side
from core.models.mlp import MLP
from core.models.resnet import ResNet

Problems = list[tuple[tuple[str, ...], str]]
Add = Callable[[tuple[str, ...], str], None]
CLASSES = {"mlp": MLP, "cnn": CNN, "lenet5": LeNet5, "resnet": ResNet}


def _too_small(cfg: TrainConfig) -> tuple[tuple[str, ...], str]:
    """Fields and advice for an image a model cannot shrink any further."""
    if cfg.dataset == "image_folder":  # there the learner chooses the size
        return ("model", "image_size"), " or raise image_size"
    return ("model",), ""


def _image_problems(cfg: TrainConfig, shape: tuple[int, ...], add: Add) -> None:
    _, h, w = shape
    m = cfg.model
    fields, resize = _too_small(cfg)
    if m == "cnn":
        compact = cfg.norm != "none"
        if min(cnn_feature_side(h, compact), cnn_feature_side(w, compact)) < 1:
            least = 4 if compact else 6
            add(fields, f"model='cnn' needs images of at least {least}x{least} pixels, got "
                f"{h}x{w}: use model='resnet' or 'mlp'{resize}")
        c = cfg.cnn_channels  # GroupNorm's groups must divide both convs' c and 2c channels
        if cfg.norm == "group" and c % cfg.norm_groups:
            fits = ", ".join(str(g) for g in range(1, c + 1) if c % g == 0)
            add(("norm_groups", "cnn_channels"), f"norm_groups={cfg.norm_groups} must divide the "
                f"cnn's {c} and {2 * c} channels for GroupNorm: use one of {fits}")
    elif m == "lenet5":
        if min(lenet_feature_side(h), lenet_feature_side(w)) < 1:
            add(fields, f"model='lenet5' needs images of at least 12x12 pixels (two 5x5 "
                f"convs and two 2x2 poolings shrink them), got {h}x{w}: use model='cnn', "
                f"'resnet' or 'mlp'{resize}")
        if cfg.norm != "none":
            add(("norm",), f"model='lenet5' has no normalisation layers, so norm={cfg.norm!r} "
                "would do nothing: set norm='none', or use model='cnn' for a CNN with norm "
                "layers")
    elif m == "resnet" and cfg.norm not in ("none", "batch"):
        add(("norm",), f"model='resnet' always uses BatchNorm inside its blocks, so "
            f"norm={cfg.norm!r} cannot apply: set norm to 'none' or 'batch'")


def fit_problems(cfg: TrainConfig, shape: tuple[int, ...]) -> Problems:
    """Every reason `cfg.model` cannot be built for inputs of `shape` (empty list: it can)."""
    problems: Problems = []

    def add(names: tuple[str, ...], msg: str) -> None:
        problems.append((names, msg))

    if cfg.model not in CLASSES:
        add(("model",), f"Unknown model {cfg.model!r}; choose one of: {', '.join(CLASSES)}")
        return problems
    if cfg.model in IMAGE_MODELS and len(shape) != 3:
        add(("model",), f"model={cfg.model!r} needs images (channels, height, width), but each "
            f"sample of dataset={cfg.dataset!r} is {len(shape)}-D with shape {shape}: use "
            "model='mlp'")
    elif cfg.model in IMAGE_MODELS:
        _image_problems(cfg, shape, add)
    if cfg.grad_checkpointing and not CLASSES[cfg.model].supports_checkpointing:
        add(("grad_checkpointing",), f"grad_checkpointing recomputes repeated blocks, which "
            f"only mlp and resnet have; model={cfg.model!r} has none: turn it off")
    return problems
