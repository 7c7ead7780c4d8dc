"""Named starting configs: `python -m core.train --preset NAME` and the training page's picker.

Each preset is a dict of TrainConfig fields that differ from the defaults (a test builds every
one). mnist-cnn-fast is a first guess; the speed benchmark issue tunes it.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # 3 spiral arms: > 95 % validation accuracy in about a second on a 2-core CPU.
    "spiral-mlp": {"dataset": "spiral", "model": "mlp", "depth": 3, "width": 64,
                   "optimizer": "adam", "lr": 0.01, "batch_size": 32, "epochs": 30},
    # scikit-learn's 8x8 digits: > 95 % test accuracy in a few seconds.
    "digits-mlp": {"dataset": "digits", "model": "mlp", "depth": 2, "width": 128,
                   "optimizer": "adam", "lr": 3e-3, "batch_size": 32, "epochs": 20},
    "moons-sgd": {"dataset": "moons", "model": "mlp", "depth": 2, "width": 32,
                  "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "epochs": 30,
                  "batch_size": 32},
    "regression-mlp": {"dataset": "regression", "model": "mlp", "depth": 2, "width": 64,
                       "activation": "tanh", "loss": "mse", "optimizer": "adam", "lr": 0.01,
                       "batch_size": 32, "epochs": 60},
    # MNIST from data_root (torchvision layout); to be tuned by the speed benchmark.
    "mnist-cnn-fast": {"dataset": "mnist", "model": "cnn", "optimizer": "adamw", "lr": 3e-3,
                       "weight_decay": 0.01, "batch_size": 128, "epochs": 2,
                       "scheduler": "onecycle", "channels_last": True, "amp": "auto",
                       "val_split": 0.1, "log_every": 50},
}
