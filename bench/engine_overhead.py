"""Engine overhead: the Trainer's samples/s against a minimal hand-written loop (goal >= 0.97x).

    python bench/engine_overhead.py [--preset mnist-99] [--samples 8192] [--reps 7]

Both train the same model (same seed, same init), optimizer (core.optim: fused Adam/AdamW),
batch size, device, precision (core.device.amp_plan) and memory format on the same
device-resident uint8 tensors, normalised per batch. The engine runs with History and a live
consumer attached (a callback that takes a History snapshot on every BatchEnded, as the training
page's fragment does). Each run is one epoch over `--samples` images, timed from model build to
the last step; the two are alternated and the medians compared. MNIST from --data_root if
present, else random images of the same shape.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import time

import torch
import torch.nn.functional as F
from bench_common import DEFAULT_DATA_ROOT, alternate, has_mnist, machine, median

from core.config import TrainConfig  # noqa: E402
from core.data import DataBundle, Split, load_data  # noqa: E402
from core.device import amp_plan, cpu_threads, keep_freed_memory, resolve_device, synchronize  # noqa: E402
from core.events import BatchEnded, Callback  # noqa: E402
from core.history import History  # noqa: E402
from core.models import build_model  # noqa: E402
from core.optim import build_optimizer  # noqa: E402
from core.presets import PRESETS  # noqa: E402
from core.trainer import Trainer  # noqa: E402


class LiveConsumer(Callback):
    """Stands in for the page: reads a thinned History snapshot on every BatchEnded."""

    def __init__(self, history: History) -> None:
        self.history, self.reads = history, 0

    def on_event(self, event: object) -> None:
        if isinstance(event, BatchEnded):
            self.history.snapshot(max_points=2000)
            self.reads += 1


def bundle_for(cfg: TrainConfig, samples: int) -> DataBundle:
    """The training split only (no val, no test: both loops time training alone)."""
    device = resolve_device(cfg.device)
    if has_mnist(cfg.data_root):
        b = load_data(cfg, device)
    else:  # random digits-shaped images: same shapes, same work per step
        g = torch.Generator().manual_seed(0)
        x = torch.randint(0, 256, (samples, 1, 28, 28), dtype=torch.uint8, generator=g)
        y = torch.randint(0, 10, (samples,), generator=g)
        b = DataBundle("random", "classification", (1, 28, 28), 10, [str(i) for i in range(10)],
                       Split(x, y), Split(x[:0], y[:0]), None, torch.tensor([0.5]),
                       torch.tensor([0.29]), True, False).to(device)
    tr = Split(b.train.x[:samples], b.train.y[:samples])
    return dataclasses.replace(b, train=tr, val=Split(tr.x[:0], tr.y[:0]), test=None)


def hand_loop(cfg: TrainConfig, bundle: DataBundle) -> float:
    """The minimal loop: seconds for one epoch (model build included, as in the engine)."""
    device = bundle.device
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, tuple(bundle.input_shape), bundle.num_classes).to(device)
    cl = cfg.channels_last
    if cl:
        model = model.to(memory_format=torch.channels_last)
    opt = build_optimizer(cfg, model.parameters())
    amp_dtype, _ = amp_plan(cfg.amp, device, cfg.model)
    autocast = (lambda: torch.autocast(device.type, dtype=amp_dtype)) if amp_dtype else (
        contextlib.nullcontext)
    g = torch.Generator().manual_seed(cfg.seed)
    x, y = bundle.train.x, bundle.train.y
    order = torch.randperm(len(y), generator=g).to(device)
    running = torch.zeros((), device=device)
    model.train()
    for s in range(0, len(y), cfg.batch_size):
        rows = order[s:s + cfg.batch_size]
        xb = bundle.prepare(x[rows], train=True, generator=g)
        if cl:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with autocast():
            loss = F.cross_entropy(model(xb).float(), y[rows],
                                   label_smoothing=cfg.label_smoothing)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        running += loss.detach()
    running.item()  # the one sync at the end
    synchronize(device)
    return time.perf_counter() - t0


def engine(cfg: TrainConfig, bundle: DataBundle, reads: list[int]) -> float:
    history = History()
    live = LiveConsumer(history)
    t0 = time.perf_counter()
    result = Trainer(cfg, [history, live], data=bundle).run(raise_errors=True)
    synchronize(bundle.device)
    elapsed = time.perf_counter() - t0
    assert result.reason == "completed", result.message
    reads.append(live.reads)
    return elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", default="mnist-99", help="workload: a preset of core.presets")
    p.add_argument("--data_root", default=DEFAULT_DATA_ROOT, help="folder holding MNIST/raw")
    p.add_argument("--samples", type=int, default=8192, help="training images per run")
    p.add_argument("--reps", type=int, default=7, help="alternated runs of each loop")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = preset/default)")
    p.add_argument("--log_every", type=int, default=TrainConfig.log_every,
                   help="engine: a BatchEnded (host sync + live read) every N steps")
    a = p.parse_args()
    keep_freed_memory()  # as core.train's CLI does; process-wide, so both loops get it
    # The hand loop has no schedule; log_every at TrainConfig's default, so events flow.
    fields = {**PRESETS[a.preset], "data_root": a.data_root, "epochs": 1, "val_split": 0.0,
              "scheduler": "none", "augment": False, "log_every": a.log_every}
    # Both loops on the same thread count: what the engine would pick now, fixed for the run.
    fields["threads"] = cpu_threads(a.threads)
    cfg = TrainConfig(**fields)
    torch.set_num_threads(cfg.threads)
    bundle = bundle_for(cfg, a.samples)
    n = len(bundle.train)
    print(f"machine: {machine()}")
    print(f"workload: preset {a.preset} ({cfg.model}, norm={cfg.norm}, {cfg.optimizer}, batch "
          f"{cfg.batch_size}, amp={cfg.amp}, channels_last={cfg.channels_last}, log_every "
          f"{cfg.log_every}), {n} images of {bundle.name}, device {bundle.device}, "
          f"{torch.get_num_threads()} threads")
    reads: list[int] = []
    hand_loop(cfg, bundle), engine(cfg, bundle, reads)  # warm-up: kernels, allocator
    times = alternate({"hand": lambda: hand_loop(cfg, bundle),
                       "engine": lambda: engine(cfg, bundle, reads)}, a.reps)
    rate = {k: n / median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:>6}: median {median(v):.3f} s = {rate[k]:,.0f} samples/s  "
              f"(runs: {', '.join(f'{t:.2f}' for t in v)})")
    ratio = rate["engine"] / rate["hand"]
    print(f"live consumer read the History {reads[-1]} times per run")
    print(f"engine / hand-written: {ratio:.3f}x  (goal >= 0.97x: "
          f"{'met' if ratio >= 0.97 else 'NOT met'})")


if __name__ == "__main__":
    main()
