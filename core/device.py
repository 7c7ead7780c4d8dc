"""Which device a run trains on, with learner-readable errors, and what the machine offers."""

from __future__ import annotations

import os

import torch


def cuda_available() -> bool:
    """True when PyTorch can use an NVIDIA (or ROCm) GPU."""
    return torch.cuda.is_available()


def mps_available() -> bool:
    """True on Apple silicon with a PyTorch built for Metal."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str) -> torch.device:
    """'auto' | 'cpu' | 'cuda' | 'mps' (or 'cuda:1') -> torch.device; ValueError if absent."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if cuda_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not cuda_available():
            raise ValueError(
                f"device={name!r}: PyTorch sees no CUDA GPU on this machine "
                f"(torch.cuda.is_available() is False; this torch is {torch.__version__}). "
                "Use device='auto' or 'cpu'.")
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={name!r}: only {torch.cuda.device_count()} CUDA GPU(s) "
                             f"exist (cuda:0..cuda:{torch.cuda.device_count() - 1}).")
        return dev
    if name == "mps":
        if not mps_available():
            raise ValueError("device='mps': Apple's Metal backend is not available here "
                             "(it needs a Mac with Apple silicon). Use device='auto' or 'cpu'.")
        return torch.device("mps")
    raise ValueError(f"device={name!r} is not a device: use auto, cpu, cuda or mps.")


def cpu_has_fast_bf16() -> bool:
    """True when oneDNN reports native bf16 support (AVX512-BF16 / AMX) on this CPU."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def describe_devices() -> list[dict[str, object]]:
    """One entry per device choice for the page's picker: name, available, label, detail."""
    cpu_detail = f"{os.cpu_count()} cores, torch uses {torch.get_num_threads()} threads"
    if cpu_has_fast_bf16():
        cpu_detail += ", native bf16"
    out: list[dict[str, object]] = [
        {"name": "auto", "available": True, "label": f"auto ({resolve_device('auto').type})",
         "detail": "cuda if present, then mps, then cpu"},
        {"name": "cpu", "available": True, "label": "CPU", "detail": cpu_detail},
    ]
    if cuda_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        out.append({"name": "cuda", "available": True, "label": f"CUDA: {names[0]}",
                    "detail": ", ".join(names)})
    else:
        out.append({"name": "cuda", "available": False, "label": "CUDA (not available)",
                    "detail": "no NVIDIA GPU visible to PyTorch"})
    out.append({"name": "mps", "available": mps_available(),
                "label": "Apple MPS" if mps_available() else "MPS (not available)",
                "detail": "Apple silicon GPU" if mps_available() else "needs a Mac with Apple "
                "silicon"})
    return out


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work (for honest timings); a no-op on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def amp_plan(mode: str, device: torch.device, model: str) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, use a GradScaler) for cfg.amp on `device`.

    auto: fp16 + GradScaler on CUDA; OFF on the CPU and on MPS. Measured on this project's
    2-core AVX512-BF16 CPU (torch 2.14, batch 128, MNIST, shared machine so +-30 %):
    - a 3x64 MLP step got 1.8x slower with bf16 (0.32 -> 0.57 ms: casts cost more than tiny
      matmuls);
    - the compact BatchNorm CNN (the fast-MNIST preset's model) got no faster (20.7/29.8 s fp32
      vs 24.3/27.2 s bf16 for 2 epochs of 4,000 images) and reached 80 % instead of 90 % test
      accuracy after the same steps;
    - LeNet-5, the classic CNN and ResNet-20 ran 1.4-4x faster with bf16 at similar accuracy.
    Since auto must never make a run worse, bf16 on the CPU is opt-in (amp='bf16').
    """
    if mode == "off":
        return None, False
    if mode == "fp16":
        return torch.float16, device.type == "cuda"
    if mode == "bf16":
        return torch.bfloat16, False
    # auto
    if device.type == "cuda":
        return torch.float16, True
    return None, False
