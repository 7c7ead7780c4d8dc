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
    # MNIST from data_root (torchvision layout): the compact BatchNorm CNN, 2 epochs.
    "mnist-cnn-fast": {"dataset": "mnist", "model": "cnn", "norm": "batch", "optimizer": "adamw",
                       "lr": 3e-3, "weight_decay": 0.01, "batch_size": 128, "epochs": 2,
                       "scheduler": "onecycle", "channels_last": True, "amp": "auto",
                       "val_split": 0.1, "log_every": 50},
    # Aims at >= 99 % MNIST test accuracy in < 10 s on a 2-core CPU: one epoch over every
    # training image of the compact BatchNorm CNN at 16/32 channels (2.3x faster steps than
    # 32/64), OneCycle, label smoothing. Measured figures: docs/speed.md (bench/mnist99.py).
    "mnist-99": {"dataset": "mnist", "model": "cnn", "norm": "batch", "cnn_channels": 16,
                 "dropout": 0.1, "optimizer": "adamw", "lr": 2e-2, "weight_decay": 0.01,
                 "batch_size": 128, "epochs": 1, "scheduler": "onecycle",
                 "label_smoothing": 0.1, "channels_last": True, "amp": "auto",
                 "val_split": 0.0, "log_every": 100},
}
