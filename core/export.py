"""Everything a run can be saved as, as bytes (for st.download_button and files), and loading back.

Loading never runs code: .pt files go through torch.load(weights_only=True), which refuses any
pickle that would call a function; .safetensors cannot hold code at all.
"""

from __future__ import annotations

import io
import json
import pickle
from typing import Any

import torch
from torch import nn

from core.config import TrainConfig

CHECKPOINT_FORMAT = "torch-playground-checkpoint"
CHECKPOINT_VERSION = 1


def _state_dict_cpu(model: nn.Module) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU copies (safetensors refuses views that share memory)."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}


def weights_pt_bytes(model: nn.Module) -> bytes:
    """model.state_dict() saved with torch.save."""
    buf = io.BytesIO()
    torch.save(_state_dict_cpu(model), buf)
    return buf.getvalue()


def weights_safetensors_bytes(model: nn.Module, metadata: dict[str, str] | None = None) -> bytes:
    """model.state_dict() in the safetensors format (tensors only, no code)."""
    from safetensors.torch import save

    return save(_state_dict_cpu(model), metadata=metadata)


def checkpoint_bytes(model: nn.Module, optimizer: torch.optim.Optimizer | None, scheduler: Any,
                     cfg: TrainConfig, epoch: int, history: Any, rng: dict[str, Any] | None,
                     **extra: Any) -> bytes:
    """Weights, optimizer and scheduler state, config (a plain dict), history and RNG states."""
    ck = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
          "torch_version": str(torch.__version__), "config": cfg.to_dict(), "epoch": int(epoch),
          "model": _state_dict_cpu(model),
          "optimizer": None if optimizer is None else optimizer.state_dict(),
          "scheduler": None if scheduler is None else scheduler.state_dict(),
          "history": None if history is None else history.state_dict(),
          "rng": rng, **extra}
    buf = io.BytesIO()
    torch.save(ck, buf)
    return buf.getvalue()


def metrics_csv_bytes(history: Any, kind: str = "epochs") -> bytes:
    """The per-epoch (or per-step) metrics as CSV."""
    return history.to_csv(kind).encode("utf-8")


def config_json_bytes(cfg: TrainConfig) -> bytes:
    """The config as pretty JSON (what `python -m core.train --config` reads)."""
    return (json.dumps(cfg.to_dict(), indent=2) + "\n").encode("utf-8")


def standalone_script(cfg: TrainConfig, data: Any = None) -> str:
    """A plain PyTorch script that reproduces the run without this app (pass the loaded
    DataBundle if there is one: for csv and image folders it saves loading the files again)."""
    from core.script import render_script

    facts = None if data is None else (data.task, tuple(data.input_shape), data.num_classes)
    return render_script(cfg, facts)


# ---- loading -----------------------------------------------------------------------------------
def _torch_load(data: bytes, what: str) -> Any:
    """torch.load(weights_only=True) with errors a learner can read."""
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch's message opens with advice to retry with weights_only=False: never repeat
        # that; keep the line naming the refused global ("unsupported GLOBAL posix.system"
        # or "Unsupported global: GLOBAL io.open", worded differently per case).
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        found = next((ln for ln in lines if "global" in ln.lower()), None)
        if found is None:  # not a function call: just not a torch file
            detail = next((ln for ln in lines if "weights_only" not in ln
                           and not ln.startswith("Weights only load failed")), "")
            raise ValueError(f"This is not a PyTorch {what} file that torch.load can read "
                             f"({detail[:200]}).") from None
        detail = found.removeprefix("WeightsUnpickler error:").strip()
        raise ValueError(
            f"Refused to load this {what}: it contains Python objects or code, not just tensors "
            "(loading it fully could run any program). Only plain state_dicts are accepted. "
            f"Detail: {detail[:240]}") from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise ValueError(f"This is not a PyTorch {what} file that torch.load can read "
                         f"({type(e).__name__}: {str(e).splitlines()[0][:200]}).") from None


def fit_state_dict(model: nn.Module, state: Any) -> None:
    """Raise ValueError naming missing / unexpected keys and mismatched shapes, if any."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("The file holds no state_dict (a mapping of names to tensors).")
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and state[k].shape != own[k].shape]

    def listed(items: list[str]) -> str:
        return ", ".join(items[:6]) + (f" and {len(items) - 6} more" if len(items) > 6 else "")

    parts = []
    if missing:
        parts.append(f"missing keys: {listed(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {listed(unexpected)}")
    if shapes:
        parts.append(f"shape mismatches: {listed(shapes)}")
    if parts:
        raise ValueError("These weights do not fit this model (were they saved from another "
                         "architecture or config?): " + "; ".join(parts) + ".")


def read_state_dict(data: bytes, filename: str = "model.pt") -> dict[str, torch.Tensor]:
    """A state_dict from .pt/.pth (or a checkpoint) or .safetensors bytes."""
    name = filename.lower()
    if name.endswith(".safetensors"):
        from safetensors import SafetensorError
        from safetensors.torch import load

        try:
            return load(data)
        except (SafetensorError, ValueError, RuntimeError) as e:
            raise ValueError(f"{filename} is not a valid safetensors file ({e}).") from None
    if not name.endswith((".pt", ".pth", ".bin", ".ckpt")):
        raise ValueError(f"{filename}: use a .pt / .pth file (torch.save of a state_dict) or "
                         "a .safetensors file.")
    obj = _torch_load(data, "weights")
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        obj = obj["model"]  # a full checkpoint also carries the weights
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    return obj


def load_weights(model: nn.Module, data: bytes, filename: str = "model.pt") -> nn.Module:
    """Load weights into `model` after checking that every key and shape fits."""
    state = read_state_dict(data, filename)
    fit_state_dict(model, state)
    model.load_state_dict(state)
    return model


def load_checkpoint(data: bytes) -> dict[str, Any]:
    """A checkpoint saved by checkpoint_bytes, with 'config' rebuilt as a TrainConfig.

    A config whose device is missing here (saved on a GPU) is moved to device='auto' (and
    amp='auto' if it was fp16), noted in 'notes'.
    """
    ck = _torch_load(data, "checkpoint")
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise ValueError("This file is not a torch-playground checkpoint (it has no config "
                         "and training state; a plain state_dict loads with load_weights).")
    if ck.get("version", 0) > CHECKPOINT_VERSION:
        raise ValueError(f"This checkpoint has format version {ck['version']}; this app reads "
                         f"up to {CHECKPOINT_VERSION}.")
    notes: list[str] = []
    cfg_dict = dict(ck["config"])
    from core.device import resolve_device

    try:
        resolve_device(cfg_dict.get("device", "auto"))
    except ValueError:
        notes.append(f"It was trained on device={cfg_dict['device']!r}, not available here: "
                     "using device='auto'.")
        cfg_dict["device"] = "auto"
        if cfg_dict.get("amp") == "fp16":
            cfg_dict["amp"] = "auto"
    ck["config"] = TrainConfig.from_dict(cfg_dict)
    ck["notes"] = notes
    return ck
