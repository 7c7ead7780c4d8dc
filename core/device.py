"""Which device a run trains on, with learner-readable errors, and what the machine offers."""

from __future__ import annotations

import os
import time

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


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask; all cores where there is none,
    as on macOS)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores or 1


def idle_cores(window: float = 0.2) -> float | None:
    """How many cores other processes leave idle right now (from /proc/stat over `window` s,
    while this thread sleeps); None where /proc/stat is not readable."""
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
        return ticks[3] + ticks[4], sum(ticks)  # idle + iowait, all

    try:
        idle0, total0 = sample()
        time.sleep(window)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return usable_cores() * (idle1 - idle0) / max(total1 - total0, 1)


def cpu_threads(requested: int) -> int:
    """Intra-op threads for a run: `requested` if > 0; else torch's current count, lowered to
    the cores other processes leave idle right now, and at least 1.

    Measured on this project's shared 2-core CPU: with other jobs on the cores, a BatchNorm CNN
    step ran at 227 samples/s on 2 threads vs 1,163 on 1, and the mnist-99 run took 34 s vs 19 s
    (each OpenMP region waits for its slowest thread, and on a busy core that thread is
    descheduled); on an idle machine 2 threads took it from 13 s to 8.7 s. The 1-minute load
    average lags (it still counts a run that just ended), so idle time is sampled for 0.2 s.
    Never raises the count, so one_thread() contexts and test fixtures keep theirs (and skip
    the sample).
    """
    current = torch.get_num_threads()
    if requested > 0:
        return requested
    if current <= 1:
        return current
    idle = idle_cores()
    if idle is None:
        return current
    return max(1, min(current, int(idle + 0.5)))


# Below this many multiply-adds per step (Linear weights x batch), a second intra-op thread
# bought nothing on this project's 2-core CPU and cost much once anything else ran (a browser
# drawing the live charts). Spiral MLP 64x3, batch 64 (0.55 M): 1 thread 149k samples/s, 2
# threads 135k; with a process using 40 % of a core beside it, 141k vs 81k. Above it a second
# thread helps an idle machine: MLP 256x3 batch 64 (8.5 M) 1.16x, MNIST MLP 64 (3.8 M) 1.11x.
SMALL_STEP_MACS = 5_000_000


def dense_step_macs(model: torch.nn.Module, batch_size: int) -> int | None:
    """Multiply-adds of one forward step of a model built from Linear layers (activations and
    norms are cheap beside them); None when it holds anything else with weights (a conv)."""
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    heavy = (torch.nn.modules.conv._ConvNd, torch.nn.RNNBase, torch.nn.MultiheadAttention)
    if not linear or any(isinstance(m, heavy) for m in model.modules()):
        return None
    return batch_size * sum(m.in_features * m.out_features for m in linear)


def small_dense_step(model: torch.nn.Module, batch_size: int) -> bool:
    """True for a dense step too small to split across intra-op threads."""
    macs = dense_step_macs(model, batch_size)
    return macs is not None and macs < SMALL_STEP_MACS


def run_threads(requested: int, model: torch.nn.Module, batch_size: int, on_cpu: bool) -> int:
    """A run's intra-op threads: `requested` if > 0; 1 for a small dense step on the CPU
    (without cpu_threads' 0.2 s idle sample); else cpu_threads(0)."""
    if requested <= 0 and on_cpu and small_dense_step(model, batch_size):
        return 1
    return cpu_threads(requested)


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed blocks for reuse instead of handing them back to the OS.

    Each training step frees and reallocates the same activation buffers (MBs each); by default
    glibc returns them (munmap / trim) and the next step page-faults fresh zeroed pages back in.
    On this project's CPU that was 2-3.6 s of system time in a 17 s MNIST run; with these
    settings 0.4 s, and the run 20-25 % faster. Process-wide, so the CLI calls it, not the
    engine. Returns False where it does not apply (not glibc).
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    trim_threshold, top_pad, mmap_threshold = -1, -2, -3  # M_* constants from <malloc.h>
    return all(mallopt(opt, value) == 1 for opt, value in (
        (mmap_threshold, 32 << 20), (trim_threshold, 512 << 20), (top_pad, 64 << 20)))


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work (for honest timings); a no-op on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def amp_plan(mode: str, device: torch.device, model: str) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, use a GradScaler) for cfg.amp on `device`.

    auto: fp16 + GradScaler on CUDA; bf16 for image models (cnn, lenet5, resnet) on a CPU with
    native bf16 (AVX512-BF16 / AMX, cpu_has_fast_bf16); otherwise off (the MLP, MPS, older
    CPUs). Measured on this project's 2-core AMX CPU (torch 2.14, side by side,
    bench/fast_path.py and bench/mnist99.py):
    - a 3x64 MLP step got 1.8x slower with bf16 (0.32 -> 0.57 ms: casts cost more than tiny
      matmuls), so MLPs stay in fp32;
    - the classic and the compact BatchNorm CNN ran about 2x faster with bf16 + channels_last
      (fp32 convs here are not the AMX kernels), and the mnist-99 recipe still reaches >= 99 %
      test accuracy in bf16. (An earlier 2-epoch run on 4,000 images without channels_last had
      seen no gain for the BatchNorm CNN.)
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
    if device.type == "cpu" and model in ("cnn", "lenet5", "resnet") and cpu_has_fast_bf16():
        return torch.bfloat16, False
    return None, False
