"""The fast path: the notes' DataLoader loop vs the engine's defaults on the classic MNIST CNN.

    python bench/fast_path.py [--data_root DIR] [--epoch [--epochs 3]]   # whole epochs of each

1. Levers, one at a time: the same training step on the classic two-conv CNN (pytorch/examples
   mnist `Net` = core model 'cnn', norm='none'), each lever flipped off the engine default,
   alternated with it, medians of samples/s over a fixed number of images.
2. Headline: the notes' loop (torchvision MNIST, ToTensor + Normalize, DataLoader batch 64,
   Adam 1e-3, loss.item() every 10 batches as the example logs) against core.trainer.Trainer
   with the engine's default settings for this device (TrainConfig defaults; only dataset,
   model, optimizer, lr and batch size set). Samples/s; with --epoch also test accuracy after
   one epoch of each (3 epochs of the notes' loop take 7-12 minutes here).
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch
import torch.nn.functional as F
from bench_common import DEFAULT_DATA_ROOT, alternate, has_mnist, machine, median

from core.config import TrainConfig  # noqa: E402
from core.data import load_data  # noqa: E402
from core.device import amp_plan, cpu_threads, keep_freed_memory, resolve_device  # noqa: E402
from core.models import build_model, fast_layers  # noqa: E402
from core.optim import build_optimizer  # noqa: E402
from core.trainer import Trainer  # noqa: E402

NOTES_BATCH, NOTES_LR = 64, 1e-3
ENGINE = dict(dataset="mnist", model="cnn", optimizer="adam", epochs=1, val_split=0.0)


def engine_cfg(root: str) -> TrainConfig:
    """The engine's defaults for this device, with the notes' batch size and learning rate (a
    larger batch was slower per sample here: see the lever table)."""
    return TrainConfig(**ENGINE, data_root=root, batch_size=NOTES_BATCH, lr=NOTES_LR)


# ---- the notes' loop ---------------------------------------------------------------------------
def notes_loader(root: str, train: bool, batch: int = NOTES_BATCH):
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    ds = datasets.MNIST(root, train=train, download=False, transform=tf)
    return torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=train)


def notes_train(root: str, max_batches: int | None, threads: int = 0, epochs: int = 1,
                seed: int = 0) -> tuple[float, int, torch.nn.Module]:
    """(seconds, samples) of the notes' loop over max_batches batches (None = `epochs` whole
    epochs), on `threads` threads (0: the count the engine would pick, so only the path
    differs)."""
    torch.set_num_threads(threads or cpu_threads(0))
    torch.manual_seed(seed)
    model = build_model(TrainConfig(**ENGINE), (1, 28, 28), 10)
    plain_layers(model)  # the notes' network: nn.Dropout and nn.Flatten, not the fast ones
    opt = torch.optim.Adam(model.parameters(), lr=NOTES_LR)
    model.train()
    seen, t0 = 0, time.perf_counter()
    batches = (b for _ in range(epochs) for b in notes_loader(root, True))
    for i, (x, y) in enumerate(batches):
        if max_batches is not None and i >= max_batches:
            break
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if i % 10 == 0:
            loss.item()  # the example prints the loss every 10 batches
        seen += len(y)
    return time.perf_counter() - t0, seen, model


def plain_layers(model: torch.nn.Module) -> None:
    """Swap core.models.fast_layers' Dropout and Flatten for torch's own, in place."""
    for name, child in model.named_children():
        if isinstance(child, fast_layers.Dropout):
            setattr(model, name, torch.nn.Dropout(child.p))
        elif isinstance(child, fast_layers.Flatten):
            setattr(model, name, torch.nn.Flatten())


def notes_test_acc(root: str, model: torch.nn.Module) -> float:
    model.eval()
    correct = n = 0
    with torch.no_grad():
        for x, y in notes_loader(root, False, 1000):
            correct += int((model(x).argmax(1) == y).sum())
            n += len(y)
    return correct / n


# ---- levers: one training step with switches ---------------------------------------------------
def lever_run(bundle, n: int, *, batch: int, cl: bool, amp: str, opt_impl: str, sync: bool,
              threads: int, data: str) -> float:
    """samples/s of n training images on the classic CNN with the given switches."""
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        cfg = TrainConfig(**ENGINE, batch_size=batch, lr=1e-3)
        model = build_model(cfg, (1, 28, 28), 10)
        if cl:
            model = model.to(memory_format=torch.channels_last)
        opt = build_optimizer(cfg, model.parameters(), fast=opt_impl)
        dtype, _ = amp_plan(amp, bundle.device, "cnn")
        x8, y = bundle.train.x[:n], bundle.train.y[:n]
        xf = bundle.prepare(x8, train=False) if data == "float" else None  # normalised once
        t0 = time.perf_counter()
        for s in range(0, n, batch):
            xb = xf[s:s + batch] if xf is not None else bundle.prepare(x8[s:s + batch], train=True)
            if cl:
                xb = xb.contiguous(memory_format=torch.channels_last)
            ctx = torch.autocast("cpu", dtype=dtype) if dtype else contextlib.nullcontext()
            with ctx:
                loss = F.cross_entropy(model(xb).float(), y[s:s + batch])
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            if sync:
                loss.item()
        return n / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(prev)


def lever_table(bundle, n: int, reps: int) -> None:
    base = dict(batch=NOTES_BATCH, cl=engine_cfg("").channels_last, amp="auto", opt_impl="auto",
                sync=False, threads=cpu_threads(0), data="uint8")  # what the engine picks
    dtype, _ = amp_plan("auto", bundle.device, "cnn")
    flips = {
        "batch 64 -> 256": {"batch": 256},
        f"channels_last {base['cl']} -> {not base['cl']}": {"cl": not base["cl"]},
        f"autocast {dtype} -> {'off' if dtype else 'bf16'}": {"amp": "off" if dtype else "bf16"},
        "fused optimizer -> foreach": {"opt_impl": "foreach"},
        "fused optimizer -> for-loop": {"opt_impl": "off"},
        "no sync -> .item() every step": {"sync": True},
        f"threads {base['threads']} -> {3 - base['threads']}": {"threads": 3 - base["threads"]},
        "uint8 + per-batch normalise -> float32 normalised once": {"data": "float"},
    }
    print(f"\nLevers on the classic CNN, {n} images per measurement, {reps} alternated rounds")
    print(f"default: {base}")
    print(f"{'lever flipped off the default':56s} {'default':>9s} {'flipped':>9s}  flipped/default")
    for name, change in flips.items():
        if change.get("threads", 1) < 1:
            continue
        r = alternate({"a": lambda: lever_run(bundle, n, **base),
                       "b": lambda c=change: lever_run(bundle, n, **{**base, **c})}, reps)
        a, b = median(r["a"]), median(r["b"])
        print(f"{name:56s} {a:9,.0f} {b:9,.0f}  {b / a:5.2f}x", flush=True)


def engine_run(cfg: TrainConfig, bundle) -> tuple[float, float, float]:
    """(samples/s of the training epoch, seconds, test accuracy) of a Trainer run."""
    result = Trainer(cfg, data=bundle).run(raise_errors=True)
    epoch = result.history.snapshot()
    t = sum(epoch["epochs"]["epoch_time"]) if epoch["epochs"]["epoch_time"] else result.elapsed
    return len(bundle.train) * cfg.epochs / t, t, result.final.get("test_acc") or float("nan")


def epoch_comparison(a: argparse.Namespace, cfg: TrainConfig, bundle) -> None:
    """a.epochs whole epochs of each loop for each of a.seeds seeds: samples/s and test
    accuracy per seed, then the medians."""
    rows = []
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        e_rate, e_t, e_acc = engine_run(cfg.replace(epochs=a.epochs, seed=seed), bundle)
        n_t, n_seen, model = notes_train(a.data_root, None, a.notes_threads, a.epochs, seed)
        n_rate, n_acc = n_seen / n_t, notes_test_acc(a.data_root, model)
        rows.append((e_rate, e_acc, n_rate, n_acc))
        print(f"seed {seed}: notes' loop {n_rate:,.0f} samples/s, {n_t:.1f} s, test accuracy "
              f"{100 * n_acc:.2f} % | engine {e_rate:,.0f} samples/s, {e_t:.1f} s, "
              f"{100 * e_acc:.2f} %  ({e_rate / n_rate:.2f}x)", flush=True)
    e_rate, e_acc, n_rate, n_acc = (median([r[i] for r in rows]) for i in range(4))
    print(f"median over {a.seeds} seed(s), {a.epochs} epoch(s) each: notes' loop "
          f"{n_rate:,.0f} samples/s, {100 * n_acc:.2f} %; engine {e_rate:,.0f} samples/s, "
          f"{100 * e_acc:.2f} %")
    print(f"engine / notes' loop: {e_rate / n_rate:.2f}x (goal >= 3x: "
          f"{'met' if e_rate / n_rate >= 3 else 'NOT met'}); accuracy "
          f"{'at least the same' if e_acc >= n_acc else 'LOWER'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data_root", default=DEFAULT_DATA_ROOT, help="folder holding MNIST/raw")
    p.add_argument("--epoch", action="store_true", help="whole epochs of each, with accuracy")
    p.add_argument("--epochs", type=int, default=1, help="with --epoch: epochs of each (the "
                   "notes train 3)")
    p.add_argument("--seeds", type=int, default=1, help="with --epoch: seeds of each")
    p.add_argument("--first_seed", type=int, default=0, help="with --epoch: the first seed")
    p.add_argument("--batches", type=int, default=60, help="notes' loop batches when timed only")
    p.add_argument("--reps", type=int, default=9, help="alternated rounds per lever")
    p.add_argument("--lever_samples", type=int, default=1024, help="images per lever timing")
    p.add_argument("--headline_reps", type=int, default=3, help="alternated notes/engine runs")
    p.add_argument("--no_levers", action="store_true", help="skip the lever table")
    p.add_argument("--notes_threads", type=int, default=0, help="threads of the notes' loop "
                   "(0 = the engine's choice; torch's own default is the core count)")
    a = p.parse_args()
    keep_freed_memory()  # as core.train's CLI does; process-wide, so both loops get it
    if not has_mnist(a.data_root):
        raise SystemExit(f"MNIST not found under {a.data_root}/MNIST/raw (--data_root).")
    print(f"machine: {machine()}")
    cfg = engine_cfg(a.data_root)
    bundle = load_data(cfg, resolve_device(cfg.device))
    if not a.no_levers:
        lever_table(bundle, a.lever_samples, a.reps)

    print("\nNotes' loop vs the engine's defaults (classic CNN)")
    print(f"engine config: batch {cfg.batch_size}, lr {cfg.lr}, amp {cfg.amp} -> "
          f"{amp_plan(cfg.amp, bundle.device, 'cnn')[0]}, channels_last {cfg.channels_last}, "
          f"threads {cfg.threads or cpu_threads(0)}, log_every {cfg.log_every}")
    if a.epoch:  # whole epochs of each, seed by seed (the notes' loop takes minutes)
        epoch_comparison(a, cfg, bundle)
        return
    # alternate a slice of the notes' loop with short engine epochs on a subset
    sub = cfg.replace(subset=a.batches * NOTES_BATCH * 4)
    sub_bundle = load_data(sub, resolve_device(sub.device))
    r = alternate({"notes": lambda: (lambda t, s, _: s / t)(*notes_train(
                       a.data_root, a.batches, a.notes_threads)),
                   "engine": lambda: engine_run(sub, sub_bundle)[0]}, a.headline_reps)
    n_rate, e_rate = median(r["notes"]), median(r["engine"])
    print(f"notes' loop: {n_rate:,.0f} samples/s (median of {a.headline_reps} x {a.batches} "
          f"batches;"
          f" one epoch would take {60000 / n_rate:.0f} s)")
    print(f"engine     : {e_rate:,.0f} samples/s (median of {a.headline_reps} epochs of "
          f"{len(sub_bundle.train)} images; one epoch {60000 / e_rate:.0f} s)")
    print(f"engine / notes' loop: {e_rate / n_rate:.2f}x  (goal >= 3x: "
          f"{'met' if e_rate / n_rate >= 3 else 'NOT met'})")


if __name__ == "__main__":
    main()
