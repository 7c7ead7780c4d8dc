"""`python -m core.train`: flags from the config's fields, files that load back, clean errors."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.cli_args import build_parser, config_from_args
from core.config import TrainConfig
from core.export import load_checkpoint, load_weights
from core.models import build_model
from core.presets import PRESETS
from core.train import main
from tests.engine_helpers import one_torch_thread  # noqa: F401 (autouse)

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--dataset", "spiral", "--n-samples", "200", "--epochs", "2", "--batch-size", "32",
        "--no-progress", "--threads", "1"]


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TORCH_PLAYGROUND_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "core.train", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_help_lists_every_field():
    proc = cli("--help")
    assert proc.returncode == 0
    for f in dataclasses.fields(TrainConfig):
        assert f"--{f.name.replace('_', '-')}" in proc.stdout, f.name
    assert "--no-augment" in proc.stdout and "N,N,..." in proc.stdout
    assert "Learning rate" in proc.stdout and "(default: 0.01)" in proc.stdout


def test_end_to_end_writes_files_that_load_back(tmp_path):
    out = tmp_path / "run"
    proc = cli(*TINY, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith("test accuracy: ")
    names = {"model.pt", "model.safetensors", "checkpoint.pt", "metrics.csv", "config.json"}
    assert names <= {p.name for p in out.iterdir()}
    cfg = TrainConfig.from_dict(json.loads((out / "config.json").read_text()))
    assert cfg.epochs == 2 and cfg.n_samples == 200
    for name in ("model.pt", "model.safetensors", "checkpoint.pt"):
        load_weights(build_model(cfg, (2,), 3), (out / name).read_bytes(), name)
    assert load_checkpoint((out / "checkpoint.pt").read_bytes())["config"] == cfg
    assert len((out / "metrics.csv").read_text().splitlines()) == 3


def test_precedence_defaults_preset_file_flags(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"lr": 0.05, "epochs": 7, "width": 16}))
    ns = build_parser().parse_args(["--preset", "spiral-mlp", "--config", str(path),
                                    "--epochs", "3", "--milestones", "2,4", "--augment"])
    cfg = config_from_args(ns)
    assert (cfg.lr, cfg.epochs, cfg.width) == (0.05, 3, 16)  # file over preset, flag over file
    assert cfg.depth == PRESETS["spiral-mlp"]["depth"]
    assert cfg.milestones == (2, 4) and cfg.augment is True
    ns = build_parser().parse_args(["--batch_size", "8", "--no-augment"])  # both spellings
    assert config_from_args(ns).batch_size == 8 and not config_from_args(ns).augment


def test_every_preset_is_a_valid_config():
    for name, fields in PRESETS.items():
        assert TrainConfig.from_dict(fields), name


@pytest.mark.parametrize("argv, words", [
    (["--lr", "-1"], ["lr"]),
    (["--dataset", "regression"], ["loss", "regression"]),
    (["--model", "cnn"], ["model", "image"]),
])
def test_bad_values_exit_non_zero_with_one_line(capsys, argv, words):
    assert main([*TINY, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert "Traceback" not in err
    for w in words:
        assert w in err


def test_bad_config_files_are_one_line_errors(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"learning_rate": 1}')
    assert main(["--config", str(bad)]) == 2
    assert "learning_rate" in capsys.readouterr().err
    bad.write_text("{not json")
    assert main(["--config", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "missing.json")]) == 2


def test_a_failed_run_is_a_one_line_error(tmp_path, capsys):
    assert main(["--dataset", "mnist", "--data-root", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1


def test_diverged_exit_code_and_resume(tmp_path, capsys):
    assert main([*TINY, "--optimizer", "sgd", "--lr", "1000", "--log-every", "1"]) == 1
    assert "learning rate" in capsys.readouterr().err
    out = tmp_path / "a"
    assert main([*TINY, "--out", str(out)]) == 0
    assert main(["--resume", str(out / "checkpoint.pt"), "--epochs", "3", "--no-progress",
                 "--out", str(tmp_path / "b")]) == 0
    ck = load_checkpoint((tmp_path / "b" / "checkpoint.pt").read_bytes())
    assert ck["epoch"] == 3 and ck["history"]["epochs"]["epoch"] == [1, 2, 3]


def test_progress_bar_and_script_flag(capsys):
    assert main(["--dataset", "spiral", "--n-samples", "100", "--epochs", "1"]) == 0
    err = capsys.readouterr().err
    assert "step" in err and "loss" in err  # tqdm's bar on stderr
    assert main(["--preset", "moons-sgd", "--script"]) == 0
    script = capsys.readouterr().out
    assert "torch.optim.SGD" in script
    compile(script, "x.py", "exec")
    assert torch.get_num_threads() >= 1
