"""Several processes, one run: torch.distributed under PyTorch's launcher, `torchrun`.

torchrun starts one process per GPU (or per CPU share) and gives each the env vars RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. `init_from_env` turns them into a process
group (nccl on CUDA, gloo on CPU); the trainer then wraps its model in DDP, gives each rank its
shard of every batch and sums its metrics over the ranks with `sum_over_ranks`.

Failure modes this module turns into messages instead of hangs: a rank that dies or stalls (the
process group's timeout, TORCH_PLAYGROUND_DDP_TIMEOUT seconds), ranks started with different
configs or data (`check_same_run`), and a missing torchrun variable.
"""

from __future__ import annotations

import json
import os
import shlex
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from core.config import TrainConfig
from core.device import mps_available

TIMEOUT_ENV = "TORCH_PLAYGROUND_DDP_TIMEOUT"
# Long enough for a slow first epoch's validation, short enough that a dead rank is noticed.
DEFAULT_TIMEOUT_S = 300.0
FILE_DATASETS = ("mnist", "fashion_mnist", "cifar10", "csv", "image_folder")
TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class RanksDisagree(ValueError):
    """Every rank raises this alike (e.g. different configs): only rank 0 needs to print it."""


# ---- who am I ---------------------------------------------------------------------------------
def is_active() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_active() else 0


def world_size() -> int:
    return dist.get_world_size() if is_active() else 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def env_rank() -> int:
    """This process's rank as torchrun set it (0 when not launched by torchrun)."""
    return int(os.environ.get("RANK", "0") or 0)


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def timeout_s() -> float:
    """Seconds a collective waits for the other ranks before the job fails."""
    text = os.environ.get(TIMEOUT_ENV, "")
    try:
        value = float(text) if text else DEFAULT_TIMEOUT_S
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={text!r} must be a number of seconds.") from None
    if value <= 0:
        raise ValueError(f"{TIMEOUT_ENV} must be > 0 seconds, got {value}.")
    return value


def backend_for(device: str) -> str:
    """nccl when this run trains on CUDA GPUs, gloo otherwise (CPU)."""
    name = (device or "auto").strip().lower()
    uses_cuda = name.startswith("cuda") or (name == "auto" and torch.cuda.is_available())
    return "nccl" if uses_cuda and dist.is_nccl_available() else "gloo"


# ---- start and end ----------------------------------------------------------------------------
def init_from_env(device: str = "auto") -> str | None:
    """Join the process group torchrun set up; return its backend, or None in one process."""
    if not launched_by_torchrun() or is_active():
        return None
    missing = [v for v in TORCHRUN_VARS if not os.environ.get(v)]
    if missing:
        raise ValueError(f"WORLD_SIZE > 1 but {', '.join(missing)} not set: start several "
                         "processes with torchrun (see docs/distributed.md).")
    if not dist.is_available():
        raise ValueError("This PyTorch build has no torch.distributed: train in one process.")
    name = (device or "auto").strip().lower()
    if name == "mps" or (name == "auto" and not torch.cuda.is_available()
                         and mps_available()):
        raise ValueError("Distributed training does not support Apple's mps device: use "
                         "device=cpu (gloo) or CUDA GPUs (nccl).")
    backend = backend_for(device)
    if backend == "nccl":
        count = torch.cuda.device_count()
        if local_rank() >= count:
            raise ValueError(f"LOCAL_RANK={local_rank()} but this machine has {count} CUDA "
                             f"GPU(s): use --nproc_per_node={count} or fewer.")
        torch.cuda.set_device(local_rank())  # before init, so nccl binds the right GPU
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s()))
    return backend


def shutdown(wait_for_all: bool = False) -> None:
    """Leave the process group (safe to call when there is none, or after a failure).

    wait_for_all (after a run that went well): meet the other ranks first, so no rank exits
    while another (rank 0, writing files) still holds connections to it; a rank that exited
    early aborted now and then here ("terminate called without an active exception").
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        if wait_for_all and is_active():
            dist.barrier()
    finally:
        try:
            dist.destroy_process_group()
        except Exception:  # noqa: BLE001 - a broken group has nothing left to clean up
            pass


def rank_device(device: torch.device) -> torch.device:
    """Under DDP each process trains on its own GPU: cuda:LOCAL_RANK."""
    if is_active() and device.type == "cuda":
        return torch.device("cuda", local_rank())
    return device


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """DistributedDataParallel around `model`: it broadcasts rank 0's weights now and averages
    gradients in backward. Checkpoints keep using the unwrapped `model`."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    return DDP(model, device_ids=[device.index] if device.type == "cuda" else None)


# ---- agreeing across ranks --------------------------------------------------------------------
def sum_over_ranks(*values: float | int | bool, device: torch.device | None = None,
                   ) -> list[float]:
    """Element-wise sums over every rank (one all_reduce); the values themselves in one process.

    Means are taken from summed totals and counts (not averaged means), so a rank with fewer
    samples weighs less, exactly as in one process.
    """
    if not is_active():
        return [float(v) for v in values]
    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def agree(*values: float | None, device: torch.device | None = None) -> list[float | None]:
    """The mean over ranks of values each rank computed alike (e.g. validation loss): the result
    is bitwise equal on every rank, so decisions taken from it (early stopping, ReduceLROnPlateau,
    divergence) cannot differ between ranks and leave one waiting. None stays None."""
    present = [v for v in values if v is not None]
    if not is_active() or not present:
        return list(values)
    sums = iter(sum_over_ranks(*present, device=device))
    n = world_size()
    return [None if v is None else next(sums) / n for v in values]


def broadcast_buffers(model: nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank."""
    if is_active():
        for buf in model.buffers():
            dist.broadcast(buf, src=0)


def run_summary(cfg: TrainConfig, bundle: Any) -> dict[str, Any]:
    """What every rank must agree on: the config, torch's version, the data's sizes."""
    return {"config": cfg.to_dict(), "torch": torch.__version__,
            "data": {"train": len(bundle.train), "val": len(bundle.val),
                     "test": 0 if bundle.test is None else len(bundle.test),
                     "input_shape": list(bundle.input_shape),
                     "num_classes": bundle.num_classes}}


def mismatch_message(summaries: list[dict[str, Any]]) -> str | None:
    """Which ranks differ from rank 0, and in which config fields; None when all agree."""
    ref = summaries[0]
    lines = []
    for r, s in enumerate(summaries[1:], start=1):
        diff = [f"{k} ({ref['config'].get(k)!r} on rank 0, {v!r} here)"
                for k, v in s["config"].items() if ref["config"].get(k) != v]
        diff += [f"{part} ({ref[part]!r} on rank 0, {s[part]!r} here)"
                 for part in ("torch", "data") if s.get(part) != ref.get(part)]
        if diff:
            lines.append(f"rank {r}: " + "; ".join(diff))
    if not lines:
        return None
    return ("The ranks were started with different configs or data, so their training would "
            "silently diverge or hang: " + " | ".join(lines) + ". Give every rank the same "
            "--config file and flags (and the same data files on every machine).")


def check_same_run(cfg: TrainConfig, bundle: Any) -> None:
    """Raise RanksDisagree on every rank when any rank's config or data differs from rank 0's."""
    if not is_active():
        return
    summaries: list[Any] = [None] * world_size()
    dist.all_gather_object(summaries, run_summary(cfg, bundle))
    message = mismatch_message(summaries)
    if message:
        raise RanksDisagree(message)


def failure_message(error: BaseException | None) -> str | None:
    """A learner-readable line for a collective that failed because another rank died or
    stalled; None for any other error."""
    if error is None or not isinstance(error, RuntimeError):
        return None
    text = str(error)
    lowered = text.lower()
    hints = ("timed out", "timeout", "connection closed", "connection reset", "broken pipe",
             "gloo", "nccl", "socket", "peer")
    if not (isinstance(error, getattr(dist, "DistError", ())) or any(h in lowered
                                                                       for h in hints)):
        return None
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    why = (f"no answer within the {timeout_s():g} s timeout (set by {TIMEOUT_ENV})"
           if "timed out" in lowered or "timeout" in lowered else "its connection dropped")
    return (f"rank {env_rank()} lost contact with another rank: {why}. That rank crashed, was "
            "killed or hangs; torchrun's 'Root Cause' section below names it, and its own "
            f"error (if any) is printed above. torch said: {first[:300]}")


# ---- the launch command the training page shows -----------------------------------------------
def torchrun_command(cfg: TrainConfig, nproc_per_node: int = 2, nnodes: int = 1,
                     rdzv_endpoint: str = "HOST:29500") -> str:
    """Shell lines that write this run's config to run.json and start it under torchrun."""
    if not isinstance(nproc_per_node, int) or nproc_per_node < 1:
        raise ValueError(f"nproc_per_node must be a whole number >= 1, got {nproc_per_node!r}.")
    if not isinstance(nnodes, int) or nnodes < 1:
        raise ValueError(f"nnodes must be a whole number >= 1, got {nnodes!r}.")
    host, _, port = (rdzv_endpoint or "").strip().rpartition(":")
    if nnodes > 1 and not (host and port.isdigit()):
        raise ValueError(f"rdzv_endpoint must look like HOST:PORT (e.g. 10.0.0.1:29500), got "
                         f"{rdzv_endpoint!r}.")
    defaults = TrainConfig().to_dict()
    changed = {k: v for k, v in cfg.to_dict().items() if v != defaults[k]}
    procs = nproc_per_node * nnodes
    per_step = cfg.batch_size * cfg.grad_accum_steps * procs
    how = ("gloo on the CPU" if cfg.device == "cpu"
           else "one per GPU with nccl; gloo on the CPU when there is no GPU")
    lines = [
        "# From the torch-playground folder. 1. Save this run's config as run.json",
        "#    (fields not listed keep their defaults):",
        "cat > run.json <<'EOF'", json.dumps(changed, indent=2), "EOF",
        f"# 2. Train in {procs} process{'es' if procs > 1 else ''} ({how}).",
        f"#    batch_size is per process: one optimizer step sees {cfg.batch_size} x "
        f"{cfg.grad_accum_steps} (accumulation) x {procs} = {per_step} samples.",
    ]
    if nnodes == 1:
        launch = ["torchrun", "--standalone", f"--nproc_per_node={nproc_per_node}"]
    else:
        lines += [f"#    Run this same line on each of the {nnodes} machines (same run.json);",
                  f"#    {host} = the address of one of them; it must accept TCP on port {port}."]
        if cfg.dataset in FILE_DATASETS:
            lines.append("#    Each machine reads the data itself: the same files, same paths.")
        launch = ["torchrun", f"--nnodes={nnodes}", f"--nproc_per_node={nproc_per_node}",
                  "--rdzv_backend=c10d", f"--rdzv_endpoint={rdzv_endpoint}",
                  "--rdzv_id=torch-playground"]
    launch += ["-m", "core.train", "--config", "run.json", "--out", "runs/ddp"]
    lines.append(" ".join(shlex.quote(p) for p in launch))
    return "\n".join(lines)
