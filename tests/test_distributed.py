"""Distributed training on CPU: 2 gloo processes on loopback, started by torchrun as a user would.

Each torchrun launch costs ~10 s here (three interpreters import torch), so there are five:
equivalence with one process, a rank that dies, one that hangs, a stop asked on one rank only,
and mismatched configs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from core import distributed
from core.cli_args import build_parser, config_from_args
from core.config import TrainConfig
from core.distributed import mismatch_message, sum_over_ranks, torchrun_command
from core.export import load_checkpoint
from core.trainer import Trainer
from tests.ddp_worker import sum_worker  # light to import: spawn re-imports it per rank
from tests.engine_helpers import one_torch_thread  # noqa: F401 (autouse)

ROOT = Path(__file__).resolve().parents[1]
# Exact equivalence needs: SGD, no dropout or batch norm, a mean loss, and every rank's shard
# of every batch the same size (256 training rows = 16 micro-batches of 16 in one process).
SAME = {"dataset": "spiral", "n_samples": 320, "val_split": 0.2, "test_split": 0.0,
        "epochs": 3, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "grad_accum_steps": 2,
        "threads": 1, "log_every": 4}
LONG = ["--dataset", "spiral", "--n-samples", "4000", "--epochs", "50", "--batch-size", "8",
        "--log-every", "1", "--no-progress", "--threads", "1"]


def torchrun(*args: str, timeout_s: float = 60.0, log_dir: Path | None = None,
             ) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "TORCH_PLAYGROUND_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT), distributed.TIMEOUT_ENV: str(timeout_s)}
    env.pop("WORLD_SIZE", None)
    logs = ["--log-dir", str(log_dir), "--tee", "3"] if log_dir else []
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node=2", *logs, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    return proc, time.perf_counter() - t0


def flags(d: dict) -> list[str]:
    return [x for k, v in d.items() for x in (f"--{k.replace('_', '-')}", str(v))]


# ---- (a) two processes = one process with the same global batch -------------------------------
def test_two_ranks_match_one_process_and_only_rank_0_writes(tmp_path):
    one = Trainer(TrainConfig.from_dict({**SAME, "batch_size": 16})).run(raise_errors=True)
    assert one.history.started["global_batch"] == 32 and one.history.started["world_size"] == 1
    out, logs = tmp_path / "ddp", tmp_path / "logs"
    proc, _ = torchrun("-m", "core.train", *flags({**SAME, "batch_size": 8}), "--no-progress",
                       "--out", str(out), log_dir=logs)
    said = proc.stdout + proc.stderr
    assert proc.returncode == 0, said[-4000:]
    assert "global batch 8 x 2 (accumulation) x 2 = 32 samples per step" in said

    ddp = torch.load(out / "model.pt", weights_only=True)
    for name, w in one.model.state_dict().items():
        torch.testing.assert_close(ddp[name], w, rtol=0, atol=1e-5, msg=name)
    saved = load_checkpoint((out / "checkpoint.pt").read_bytes())
    assert saved["config"].batch_size == 8 and saved["step"] == one.steps == 24
    epochs = (out / "metrics.csv").read_text().splitlines()[1:]
    ddp_loss = [float(row.split(",")[1]) for row in epochs]
    assert ddp_loss == pytest.approx(one.history.epochs["train_loss"], abs=1e-5)

    # Only rank 0 printed and wrote: one "wrote" line, and rank 1's own logs are empty.
    assert said.count("wrote model.pt") == 1 and "[default1]" not in said
    rank1 = list(logs.rglob("1/std*.log"))
    assert len(rank1) == 2 and all(p.read_text() == "" for p in rank1)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["model.pt", "model.safetensors", "checkpoint.pt", "metrics.csv", "config.json"])


# ---- (b) a rank that dies or hangs ends the job, with a message --------------------------------
def test_a_rank_that_dies_ends_the_job_quickly():
    proc, took = torchrun("tests/ddp_worker.py", "die-at-3", *LONG)
    assert proc.returncode != 0 and took < 60
    err = proc.stderr
    assert "Root Cause" in err and "rank      : 1" in err and "exitcode  : 17" in err, err[-2000:]


def test_a_rank_that_hangs_times_out_with_a_message():
    proc, took = torchrun("tests/ddp_worker.py", "hang-at-3", *LONG, timeout_s=4)
    assert proc.returncode != 0 and took < 60, proc.stderr[-2000:]
    assert "rank 0 lost contact with another rank: no answer within the 4 s timeout" in proc.stderr


def test_a_stop_asked_on_one_rank_stops_every_rank_at_the_same_step():
    proc, took = torchrun("tests/ddp_worker.py", "stop-at-3", *LONG)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Stopped on request after step 4 (0 whole epochs)" in proc.stderr  # next log step
    assert took < 60


# ---- (c) different configs on different ranks -------------------------------------------------
def test_mismatched_configs_are_refused_by_name():
    proc, took = torchrun("tests/ddp_worker.py", "mismatch", *LONG)
    assert proc.returncode != 0 and took < 60
    assert proc.stderr.count("different configs") == 1, proc.stderr[-2000:]
    assert "rank 1: lr (0.01 on rank 0, 0.5 here)" in proc.stderr
    assert "core/" not in proc.stderr  # no traceback of ours (torchrun prints its own)


def test_mismatch_message_names_fields_ranks_and_data():
    cfg = TrainConfig().to_dict()
    same = {"config": cfg, "torch": "2", "data": {"train": 10}}
    assert mismatch_message([same, dict(same), dict(same)]) is None
    other = {"config": {**cfg, "seed": 1, "width": 8}, "torch": "2", "data": {"train": 9}}
    msg = mismatch_message([same, same, other])
    assert "rank 2: width (64 on rank 0, 8 here); seed (0 on rank 0, 1 here); data" in msg
    assert "rank 1" not in msg


# ---- (d) the command the training page shows ---------------------------------------------------
def _config_in(command: str) -> dict:
    lines = command.splitlines()
    start, end = lines.index("cat > run.json <<'EOF'"), lines.index("EOF")
    return json.loads("\n".join(lines[start + 1:end]))


@pytest.mark.parametrize("cfg", [TrainConfig(), TrainConfig(lr=0.05, batch_size=32, device="cpu"),
                                 TrainConfig(scheduler="multistep", milestones=(2, 4), epochs=6)])
def test_torchrun_command_one_machine_round_trips_the_config(cfg, tmp_path):
    cmd = torchrun_command(cfg, nproc_per_node=4)
    last = cmd.splitlines()[-1]
    assert last.startswith("torchrun --standalone --nproc_per_node=4 -m core.train --config "
                           "run.json")
    assert f"{cfg.batch_size} x 1 (accumulation) x 4 = {cfg.batch_size * 4} samples" in cmd
    (tmp_path / "run.json").write_text(json.dumps(_config_in(cmd)))
    argv = last.split(" -m core.train ")[1].replace("run.json", str(tmp_path / "run.json"))
    assert config_from_args(build_parser().parse_args(argv.split())) == cfg


def test_torchrun_command_several_machines():
    cmd = torchrun_command(TrainConfig(grad_accum_steps=2), nproc_per_node=2, nnodes=3,
                           rdzv_endpoint="10.0.0.5:29400")
    assert ("torchrun --nnodes=3 --nproc_per_node=2 --rdzv_backend=c10d "
            "--rdzv_endpoint=10.0.0.5:29400") in cmd
    assert "64 x 2 (accumulation) x 6 = 768 samples" in cmd
    assert "port 29400" in cmd and _config_in(cmd) == {"grad_accum_steps": 2}
    assert "same files" not in cmd  # spiral is made in memory
    assert "same files" in torchrun_command(TrainConfig(dataset="mnist"), nnodes=2)


@pytest.mark.parametrize("kw", [{"nproc_per_node": 0}, {"nnodes": 0},
                                {"nnodes": 2, "rdzv_endpoint": "no-port"}])
def test_torchrun_command_refuses_bad_arguments(kw):
    with pytest.raises(ValueError):
        torchrun_command(TrainConfig(), **kw)


# ---- (e) metric averaging ---------------------------------------------------------------------
def test_sum_over_ranks_pools_totals_not_means(tmp_path):
    mp.start_processes(sum_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2,
                       start_method="spawn")
    for r in (0, 1):
        got = json.loads((tmp_path / f"{r}.json").read_text())
        loss, correct, seen, stop = got["sums"]
        assert (loss, correct, seen, stop) == (13.0, 7.0, 10.0, 1.0)
        assert loss / seen == pytest.approx(1.3)  # the mean of 1.5 and 1.25 would be 1.375
        assert got["agreed"] == [0.375, None]  # the same number on both ranks
        assert got["running_mean"] == [1.0, 1.0]  # rank 0's BatchNorm statistics


def test_one_process_needs_no_group():
    assert not distributed.is_active() and distributed.world_size() == 1
    assert sum_over_ranks(2.5, 3, True) == [2.5, 3.0, 1.0]
    assert distributed.agree(0.5, None) == [0.5, None]
    assert distributed.rank_device(torch.device("cpu")) == torch.device("cpu")


def test_environment_errors_are_explained(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(ValueError, match="MASTER_ADDR"):
        distributed.init_from_env("cpu")
    monkeypatch.setenv(distributed.TIMEOUT_ENV, "soon")
    with pytest.raises(ValueError, match="number of seconds"):
        distributed.timeout_s()
    assert distributed.backend_for("cpu") == "gloo"
    monkeypatch.delenv("WORLD_SIZE")
    assert distributed.init_from_env("cpu") is None  # not under torchrun: one process
