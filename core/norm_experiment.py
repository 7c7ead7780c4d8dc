"""The same deep MLP with no normalisation, BatchNorm, LayerNorm and GroupNorm, trained briefly
through the core engine (core.trainer.train), one History per run.

Every run shares one data split and one seed, so the only difference is cfg.norm.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import TrainConfig
from core.data import load_data
from core.history import History
from core.trainer import train

NORMS = ("none", "batch", "layer", "group")
ACTIVATIONS = ("tanh", "relu", "sigmoid", "gelu")
OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class Experiment:
    """What the page lets a learner vary; everything else is a fixed small setting."""

    depth: int = 12
    width: int = 32
    activation: str = "tanh"
    optimizer: str = "sgd"
    lr: float = 0.01
    epochs: int = 15
    batch_size: int = 32
    groups: int = 4
    seed: int = 0
    n_samples: int = 600

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}.")
        if not 1 <= self.depth <= 32:
            raise ValueError(f"depth must be between 1 and 32, got {self.depth}.")
        if not 1 <= self.epochs <= 50:
            raise ValueError(f"epochs must be between 1 and 50 (this is a quick demo), got "
                             f"{self.epochs}.")
        if self.width % self.groups:
            raise ValueError(f"GroupNorm's {self.groups} groups must divide the width "
                             f"{self.width}.")


def label(norm: str, exp: Experiment) -> str:
    """How a run is named on the chart."""
    return {"none": "no normalization", "batch": "BatchNorm1d", "layer": "LayerNorm",
            "group": f"GroupNorm({exp.groups})"}[norm]


def config(exp: Experiment, norm: str) -> TrainConfig:
    """The TrainConfig of one run: the 3-class spiral, an MLP of exp.depth hidden layers."""
    return TrainConfig(
        dataset="spiral", n_samples=exp.n_samples, val_split=0.2, test_split=0.0,
        data_seed=exp.seed, model="mlp", depth=exp.depth, width=exp.width,
        activation=exp.activation, norm=norm, norm_groups=exp.groups, optimizer=exp.optimizer,
        lr=exp.lr, epochs=exp.epochs, batch_size=exp.batch_size, seed=exp.seed, log_every=2,
        device="cpu",
        # A tiny MLP gains nothing from intra-op threads, and on a busy 2-core machine their
        # synchronisation made each run about 10x slower (measured): use one.
        threads=1)


def run_experiment(exp: Experiment, norms: tuple[str, ...] = NORMS) -> dict[str, dict]:
    """Train one run per norm; per run its curves (plain lists) and how it ended."""
    data = load_data(config(exp, "none"), "cpu")
    out: dict[str, dict] = {}
    for norm in norms:
        history = History()
        result = train(config(exp, norm), callbacks=[history], data=data)
        snap = history.snapshot()
        steps, epochs = snap["steps"], snap["epochs"]
        out[label(norm, exp)] = {
            "norm": norm, "reason": result.reason, "message": result.message,
            "step": steps["step"], "loss": steps["loss"], "epoch_step": epochs["step"],
            "train_loss": epochs["train_loss"], "val_loss": epochs["val_loss"],
            "val_acc": epochs["val_acc"], "elapsed": result.elapsed,
            "final_val_acc": result.final.get("val_acc"),
            "final_train_loss": result.final.get("train_loss"),
        }
    return out
