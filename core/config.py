"""The one validated config for a training run.

The CLI flags (core/cli_args.py) and the training page's widgets are generated from these fields,
so a default is written exactly once. `to_dict` goes into every checkpoint; `from_dict` restores
it. Every field is range-checked and impossible combinations are refused by core/validate.py.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# Choices are plain tuples so the CLI, the page and the validator share one list.
DATASETS = ("moons", "circles", "spiral", "xor", "blobs", "regression", "digits",
            "mnist", "fashion_mnist", "cifar10", "csv", "image_folder")
IMAGE_DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10", "image_folder")
MODELS = ("mlp", "cnn", "lenet5", "resnet")
IMAGE_MODELS = ("cnn", "lenet5", "resnet")
ACTIVATIONS = ("relu", "leaky_relu", "prelu", "elu", "selu", "celu", "gelu", "gelu_tanh",
               "silu", "swish", "mish", "tanh", "sigmoid", "softplus", "hardswish",
               "hardsigmoid", "relu6", "hardtanh", "softsign", "logsigmoid", "tanhshrink")
NORMS = ("none", "batch", "layer", "group")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta")
SCHEDULERS = ("none", "step", "multistep", "exponential", "cosine", "cosine_warm_restarts",
              "onecycle", "cyclic", "linear", "polynomial", "plateau")
LOSSES = ("cross_entropy", "bce_with_logits", "mse", "l1", "smooth_l1")
REGRESSION_LOSSES = ("mse", "l1", "smooth_l1")
CLIP_MODES = ("none", "norm", "value")
AMP_MODES = ("auto", "off", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda", "mps")
MONITORS = ("val_loss", "val_acc", "train_loss")
CSV_TASKS = ("auto", "classification", "regression")
ANNEAL_STRATEGIES = ("cos", "linear")
CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


def _f(default: Any, help: str, group: str, **kw: Any) -> Any:
    """A field whose metadata feeds the CLI's --help, the page's tooltips and the validator."""
    return field(default=default, metadata={"help": help, "group": group, **kw})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one training run (see each field's help)."""

    # --- data -------------------------------------------------------------------------------
    dataset: str = _f("spiral", "Dataset to train on.", "data", choices=DATASETS)
    data_root: str = _f("./data", "Folder holding MNIST/FashionMNIST/CIFAR-10 in torchvision's "
                        "layout.", "data")
    n_samples: int = _f(1000, "Points in a synthetic 2-D set (10..200000).", "data")
    noise: float = _f(0.2, "Noise of a synthetic set (0..5).", "data")
    spiral_arms: int = _f(3, "Arms (= classes) of the spiral set (2..10).", "data")
    blob_centers: int = _f(4, "Gaussian blobs (= classes) (2..20).", "data")
    csv_path: str = _f("", "Path of your CSV file (dataset=csv).", "data")
    csv_label: str = _f("", "Label column of the CSV (default: the last).", "data")
    csv_task: str = _f("auto", "Treat the CSV label as classes or as a number.", "data",
                       choices=CSV_TASKS)
    image_folder: str = _f("", "Folder (or .zip) in ImageFolder layout: one sub-folder per "
                           "class (dataset=image_folder).", "data")
    image_size: int = _f(32, "Image-folder pictures are resized to this square size (8..256).",
                         "data")
    val_split: float = _f(0.2, "Fraction of the training data held out for validation [0, 0.9].",
                          "data")
    test_split: float = _f(0.2, "Fraction held out for testing (sets without an official test "
                           "split) [0, 0.9].", "data")
    subset: int = _f(0, "Use only this many training samples (0 = all).", "data")
    augment: bool = _f(False, "Image sets: a random crop of a zero-padded copy (padding 4 for "
                       "32-px images, 2 for 28-px, 1 for the 8-px digits) and a horizontal flip "
                       "(not for MNIST or digits: a mirrored digit is another shape).", "data")
    data_seed: int = _f(0, "Seed for generating and splitting the data.", "data")

    # --- model ------------------------------------------------------------------------------
    model: str = _f("mlp", "Network architecture (cnn/lenet5/resnet need an image dataset).",
                    "model", choices=MODELS)
    depth: int = _f(3, "MLP: hidden layers. ResNet: residual blocks per stage (1..64).", "model")
    width: int = _f(64, "MLP: units per hidden layer. ResNet: channels of the first stage "
                    "(1..4096).", "model")
    cnn_channels: int = _f(32, "CNN: channels of the first convolution; the second has twice "
                           "as many. 32 is the pytorch/examples Net (1..512).", "model")
    activation: str = _f("relu", "Activation of the MLP.", "model", choices=ACTIVATIONS)
    swish_beta: float = _f(1.0, "Swish: x * sigmoid(beta * x); beta = 1 is SiLU (0..10].",
                           "model")
    norm: str = _f("none", "Normalisation after each hidden layer (MLP and CNN).", "model",
                   choices=NORMS)
    norm_groups: int = _f(4, "Groups for GroupNorm (must divide the MLP width).", "model")
    dropout: float = _f(0.0, "Dropout probability [0, 1): MLP after each hidden layer, LeNet-5 "
                        "after its two hidden Linear layers, ResNet before the head. CNN: both "
                        "dropout layers, and 0 keeps the pytorch example's 0.25 and 0.5.",
                        "model")
    grad_checkpointing: bool = _f(False, "Recompute activations in backward to save memory (MLP "
                                  "and ResNet).", "model")
    channels_last: bool = _f(True, "Use the channels_last memory format for image models "
                             "(1.1-2x faster steps measured here; no effect on the MLP).",
                             "model")

    # --- optimisation -----------------------------------------------------------------------
    optimizer: str = _f("adam", "Optimizer.", "optim", choices=OPTIMIZERS)
    lr: float = _f(1e-2, "Learning rate (0..1000].", "optim")
    momentum: float = _f(0.9, "SGD and RMSprop momentum [0, 1).", "optim")
    nesterov: bool = _f(False, "SGD: Nesterov momentum (needs momentum > 0, dampening = 0).",
                        "optim")
    dampening: float = _f(0.0, "SGD: dampening for momentum [0, 1].", "optim")
    weight_decay: float = _f(0.0, "L2 penalty (decoupled for AdamW) [0, 1].", "optim")
    beta1: float = _f(0.9, "Adam/AdamW beta1 [0, 1).", "optim")
    beta2: float = _f(0.999, "Adam/AdamW beta2 [0, 1).", "optim")
    eps: float = _f(1e-8, "Optimizer epsilon, added to denominators (0, 1].", "optim")
    alpha: float = _f(0.99, "RMSprop smoothing constant [0, 1].", "optim")
    rho: float = _f(0.9, "Adadelta decay of squared gradients [0, 1].", "optim")
    loss: str = _f("cross_entropy", "Loss function. mse/l1/smooth_l1 on a classification set "
                   "compare the raw outputs with one-hot targets.", "optim", choices=LOSSES)
    label_smoothing: float = _f(0.0, "Cross-entropy label smoothing [0, 1).", "optim")
    batch_size: int = _f(64, "Samples per optimizer micro-batch (1..65536).", "optim")
    epochs: int = _f(20, "Passes over the training data (1..10000).", "optim")
    grad_accum_steps: int = _f(1, "Micro-batches whose gradients are summed before one step "
                               "(1..1024).", "optim")
    clip_mode: str = _f("none", "Gradient clipping by total norm or by value.", "optim",
                        choices=CLIP_MODES)
    clip_value: float = _f(1.0, "Clipping threshold (> 0).", "optim")

    # --- LR schedule ------------------------------------------------------------------------
    scheduler: str = _f("none", "Learning-rate scheduler. onecycle, cyclic and "
                        "cosine_warm_restarts step every batch, the others every epoch.",
                        "schedule", choices=SCHEDULERS)
    step_size: int = _f(10, "StepLR: epochs between decays.", "schedule")
    gamma: float = _f(0.5, "Step/MultiStep/Exponential decay factor, CyclicLR exp_range "
                      "factor (0, 1].", "schedule")
    milestones: tuple[int, ...] = _f((10, 15), "MultiStepLR: epochs where the LR decays "
                                     "(increasing).", "schedule")
    t_max: int = _f(0, "CosineAnnealingLR: epochs of one half-cosine (0 = all epochs).",
                    "schedule")
    eta_min: float = _f(0.0, "Cosine schedules: lowest learning rate.", "schedule")
    t_0: int = _f(5, "Warm restarts: epochs of the first cycle.", "schedule")
    t_mult: int = _f(1, "Warm restarts: cycle length multiplier.", "schedule")
    max_lr: float = _f(0.0, "OneCycle/Cyclic: peak LR (0 = lr).", "schedule")
    pct_start: float = _f(0.3, "OneCycle: fraction of steps spent warming up (0, 1).",
                          "schedule")
    anneal_strategy: str = _f("cos", "OneCycle annealing.", "schedule",
                              choices=ANNEAL_STRATEGIES)
    div_factor: float = _f(25.0, "OneCycle: initial LR = max_lr / div_factor (>= 1).",
                           "schedule")
    final_div_factor: float = _f(1e4, "OneCycle: final LR = initial / final_div_factor (>= 1).",
                                 "schedule")
    three_phase: bool = _f(False, "OneCycle: three-phase schedule.", "schedule")
    base_lr: float = _f(0.0, "CyclicLR: lowest LR (0 = lr / 10).", "schedule")
    cyclic_mode: str = _f("triangular", "CyclicLR policy.", "schedule", choices=CYCLIC_MODES)
    step_size_up: int = _f(200, "CyclicLR: batches from low to high.", "schedule")
    start_factor: float = _f(1.0 / 3, "LinearLR: starting multiplier (0, 1].", "schedule")
    end_factor: float = _f(1.0, "LinearLR: final multiplier [0, 1].", "schedule")
    total_iters: int = _f(5, "LinearLR/PolynomialLR: epochs to reach the end.", "schedule")
    power: float = _f(1.0, "PolynomialLR power (> 0).", "schedule")
    plateau_metric: str = _f("val_loss", "ReduceLROnPlateau: metric it watches.", "schedule",
                             choices=MONITORS)
    plateau_factor: float = _f(0.1, "ReduceLROnPlateau: LR multiplier on a plateau (0, 1).",
                               "schedule")
    plateau_patience: int = _f(3, "ReduceLROnPlateau: epochs without improvement before "
                               "reducing.", "schedule")
    plateau_threshold: float = _f(1e-4, "ReduceLROnPlateau: relative improvement that counts.",
                                  "schedule")
    cooldown: int = _f(0, "ReduceLROnPlateau: epochs to wait after a reduction.", "schedule")
    min_lr: float = _f(0.0, "ReduceLROnPlateau: lower bound on the LR.", "schedule")
    warmup_steps: int = _f(0, "Linear warmup over this many optimizer steps, multiplying the "
                           "schedule's LR (0 = none).", "schedule")
    warmup_start_factor: float = _f(0.1, "Warmup starts at lr * this (0, 1].", "schedule")

    # --- regularisation / stopping --------------------------------------------------------------
    early_stop_patience: int = _f(0, "Stop after this many epochs without improvement (0 = off); "
                                  "the best weights are restored at the end.", "run")
    early_stop_min_delta: float = _f(0.0, "Smallest change that counts as improvement.", "run")
    early_stop_metric: str = _f("val_loss", "Metric early stopping watches.", "run",
                                choices=MONITORS)

    # --- run --------------------------------------------------------------------------------
    amp: str = _f("auto", "Mixed precision. auto: fp16 + GradScaler on CUDA, bf16 for image "
                  "models on a CPU with native bf16, off otherwise; bf16: autocast to bfloat16.",
                  "run", choices=AMP_MODES)
    seed: int = _f(0, "Seed for weights and batch order.", "run")
    device: str = _f("auto", "Where to train: auto picks cuda, then mps, then cpu.", "run",
                     choices=DEVICES)
    threads: int = _f(0, "CPU threads for torch. 0 = automatic: 1 for a small dense model "
                      "(the default spiral MLP), else torch's default, fewer while other "
                      "processes keep cores busy.", "run")
    log_every: int = _f(20, "Report a BatchEnded event every N optimizer steps (a host sync).",
                        "run")

    def __post_init__(self) -> None:
        from core.validate import validate  # late import: validate imports this module

        validate(self)

    # ---- conversions -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field."""
        d = dataclasses.asdict(self)
        d["milestones"] = list(self.milestones)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Build from a dict (JSON, URL, checkpoint); unknown keys are refused by name."""
        if not isinstance(d, dict):
            raise ValueError(f"A config must be a JSON object / dict, got {type(d).__name__}.")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"Unknown config field(s): {', '.join(unknown)}")
        d = dict(d)
        if isinstance(d.get("milestones"), (list, tuple)):
            d["milestones"] = tuple(d["milestones"])
        return cls(**d)

    def replace(self, **changes: Any) -> TrainConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def field_names() -> tuple[str, ...]:
    """Every TrainConfig field name, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(TrainConfig))


# Fields a resumed run may change; anything else must match the checkpoint's config.
RESUMABLE_CHANGES = ("epochs", "log_every", "threads", "device", "early_stop_patience")


def check_resumable(saved: TrainConfig, cfg: TrainConfig) -> None:
    """ValueError unless cfg differs from the checkpoint's config only where a resumed run
    can: its optimizer, schedule and data were built for the saved config."""
    a, b = saved.to_dict(), cfg.to_dict()
    diff = sorted(k for k in a if a[k] != b[k] and k not in RESUMABLE_CHANGES)
    if diff:
        raise ValueError(f"A resumed run keeps the checkpoint's config: only "
                         f"{', '.join(RESUMABLE_CHANGES)} can change, not {', '.join(diff)}.")
