"""The model zoo: `build_model(cfg, input_shape, num_outputs)` sizes a network to the data.

MODELS maps each name of config.MODELS to its builder. Every builder takes the per-sample
input shape ((features,) or (channels, height, width)) and the number of outputs (classes, or
regression targets: a regression model is the same network with num_outputs targets) and
returns an nn.Module giving (N, num_outputs) raw outputs (logits for classification).
Activations come from core.activations.build_activation. See each module for the design:
mlp.py, cnn.py (cnn and lenet5), resnet.py; summary.py has model_summary.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from core.config import TrainConfig
from core.models.cnn import build_cnn, build_lenet5
from core.models.fits import fit_problems
from core.models.mlp import build_mlp
from core.models.resnet import build_resnet
from core.models.summary import LayerInfo, count_params, model_summary
from core.validate import ConfigError

__all__ = ["MODELS", "MAX_PARAMS", "LayerInfo", "build_model", "check_model_fits",
           "count_params", "model_summary"]

MODELS: dict[str, Callable[[TrainConfig, tuple[int, ...], int], nn.Module]] = {
    "mlp": build_mlp,
    "cnn": build_cnn,
    "lenet5": build_lenet5,
    "resnet": build_resnet,
}
# Weights + gradients + Adam's two moments take 16 bytes per parameter: 100 M is 1.6 GB, the
# most a shared 2-core CPU box can hold (and far beyond what it could train).
MAX_PARAMS = 100_000_000


def _shape(input_shape: tuple[int, ...]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise ValueError(f"A sample must be (features,) or (channels, height, width) with "
                         f"sizes >= 1, got shape {tuple(input_shape)}")
    return shape


def _meta_params(cfg: TrainConfig, shape: tuple[int, ...], num_outputs: int) -> int:
    """Build on the meta device (shapes only: no memory, no RNG use) and count parameters.

    No forward pass here: the first meta forward in a process imports torch's meta kernels
    (about 2 s); fit_problems has checked the shapes already.
    """
    with torch.device("meta"):
        return count_params(MODELS[cfg.model](cfg, shape, num_outputs))


def check_model_fits(cfg: TrainConfig, input_shape: tuple[int, ...], num_outputs: int) -> None:
    """Raise ConfigError (a ValueError naming the fields) if cfg.model cannot be built here."""
    shape = _shape(input_shape)
    if int(num_outputs) < 1:
        raise ValueError(f"A model needs at least one output, got num_outputs={num_outputs}")
    problems = fit_problems(cfg, shape)
    if cfg.model == "mlp" and cfg.norm == "group" and cfg.width % cfg.norm_groups:
        # validate.py refuses this config already; repeated for a cfg that skipped it
        problems.append((("norm_groups", "width"), f"norm_groups={cfg.norm_groups} must "
                         f"divide width={cfg.width} for GroupNorm"))
    if problems:
        raise ConfigError(problems)
    n = _meta_params(cfg, shape, int(num_outputs))
    if n > MAX_PARAMS:
        if cfg.model in ("mlp", "resnet"):
            fields, fix = ("width", "depth"), "lower width or depth"
        else:  # their size follows the image: the first Linear sees every pixel of the maps
            fields, fix = ("image_size", "model"), ("use a smaller image_size or another model "
                                                    "(cnn with norm='batch' pools twice)")
        raise ConfigError([(fields, f"model={cfg.model!r} would have {n:,} parameters "
                            f"({n * 16 / 1e9:.1f} GB with gradients and Adam's state); the "
                            f"limit is {MAX_PARAMS:,}: {fix}")])


def build_model(cfg: TrainConfig, input_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
    """The network cfg.model, sized for samples of `input_shape` and `num_outputs` outputs."""
    shape = _shape(input_shape)
    check_model_fits(cfg, shape, num_outputs)
    return MODELS[cfg.model](cfg, shape, int(num_outputs))
