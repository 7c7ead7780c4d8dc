"""Train from the command line: `python -m core.train --preset digits-mlp --out runs/digits`.

Every TrainConfig field is a flag (`--help` lists them). Ctrl-C stops cleanly after the
current step (press it twice to abort). Exit code 0 when the run completed or was stopped,
1 when it diverged, 2 for bad input (one line on stderr, no traceback), 3 when another rank of
a distributed run died or stalled.

Several processes: `torchrun --nproc_per_node=N -m core.train --config run.json` (see
docs/distributed.md). The same flags and file; batch_size is per process; only rank 0 shows
progress, prints results and writes --out.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

from core.events import BatchEnded, Callback, EpochEnded, RunFinished, RunStarted


class ProgressBar(Callback):
    """A tqdm bar over optimizer steps showing loss, accuracy and the LR."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled, self.bar = enabled, None

    def on_event(self, event: Any) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if isinstance(event, RunStarted):
            self.bar = tqdm(total=event.total_steps,
                            initial=event.start_step, unit="step",
                            dynamic_ncols=True, file=sys.stderr)
        elif self.bar is None:
            return
        elif isinstance(event, BatchEnded):
            self.bar.update(event.step - self.bar.n)
            post = {"ep": event.epoch, "loss": f"{event.loss:.4f}", "lr": f"{event.lr:.3g}"}
            if event.acc is not None:
                post["acc"] = f"{event.acc:.3f}"
            self.bar.set_postfix(post, refresh=False)
        elif isinstance(event, EpochEnded):
            self.bar.update(event.step - self.bar.n)
            if event.val_loss is not None:
                post = {"ep": event.epoch, "val_loss": f"{event.val_loss:.4f}"}
                if event.val_acc is not None:
                    post["val_acc"] = f"{event.val_acc:.3f}"
                self.bar.set_postfix(post)
        elif isinstance(event, RunFinished):
            self.bar.close()


def write_outputs(out: Path, trainer: Any, result: Any) -> list[str]:
    """model.pt, model.safetensors, checkpoint.pt, metrics.csv and config.json in `out`."""
    from core import export

    out.mkdir(parents=True, exist_ok=True)
    files = {
        "model.pt": export.weights_pt_bytes(result.model),
        "model.safetensors": export.weights_safetensors_bytes(result.model),
        "checkpoint.pt": trainer.checkpoint(),
        "metrics.csv": export.metrics_csv_bytes(result.history),
        "config.json": export.config_json_bytes(trainer.cfg),
    }
    for name, data in files.items():
        (out / name).write_bytes(data)
    return list(files)


def summary_line(final: dict[str, Any]) -> str:
    """The last line: test (else validation) accuracy, or loss for regression."""
    for split, label in (("test", "test"), ("val", "validation")):
        loss = final.get(f"{split}_loss")
        if loss is None:
            continue
        acc = final.get(f"{split}_acc")
        if acc is not None:
            return f"{label} accuracy: {100 * acc:.2f}% ({label} loss {loss:.4f})"
        return f"{label} loss: {loss:.4f}"
    return f"train loss: {final.get('train_loss')}"


def main(argv: list[str] | None = None, callbacks: Any = ()) -> int:
    """The command; `callbacks` are added to the run's (tests use them to act mid-run)."""
    from core import distributed
    from core.cli_args import build_parser

    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        return _main(ns, list(callbacks))
    except distributed.RanksDisagree as e:  # every rank has it: rank 0 says it once
        if distributed.env_rank() == 0:
            print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except ValueError as e:  # bad input: one line, no traceback
        msg = " ".join(str(e).split())
        prefix = f"[rank {distributed.env_rank()}] " if distributed.launched_by_torchrun() else ""
        print(f"error: {prefix}{msg}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # e.g. the final barrier: another rank died meanwhile
        lost = distributed.failure_message(e) if distributed.launched_by_torchrun() else None
        if lost is None:
            raise
        print(f"error: {lost}", file=sys.stderr)
        return 3
    finally:
        distributed.shutdown()


def _main(ns: Any, callbacks: list[Any]) -> int:
    from core import distributed
    from core.cli_args import config_from_args
    from core.device import keep_freed_memory
    from core.trainer import Trainer

    keep_freed_memory()  # reuse freed activation buffers: CPU runs 20-25 % faster (device.py)
    main_rank = distributed.env_rank() == 0  # only rank 0 prints and writes
    progress = ProgressBar(enabled=not ns.no_progress and main_rank)
    if ns.resume:
        path = Path(ns.resume)
        if not path.is_file():
            raise ValueError(f"--resume {ns.resume}: no such file.")
        from core.cli_args import config_values

        changes = config_values(ns)
        trainer = Trainer.from_checkpoint(path.read_bytes(), [progress, *callbacks], **changes)
    else:
        cfg = config_from_args(ns)
        if ns.script:
            from core.export import standalone_script

            if main_rank:
                print(standalone_script(cfg))
            return 0
        trainer = Trainer(cfg, [progress, *callbacks])
    backend = distributed.init_from_env(trainer.cfg.device)
    if backend and main_rank:
        cfg, n = trainer.cfg, distributed.world_size()
        print(f"distributed: {n} processes ({backend}); global batch {cfg.batch_size} x "
              f"{cfg.grad_accum_steps} (accumulation) x {n} = "
              f"{cfg.batch_size * cfg.grad_accum_steps * n} samples per step", file=sys.stderr)

    def on_sigint(signum: int, frame: Any) -> None:
        if main_rank:  # under torchrun every rank gets the signal; the ranks stop together
            print("\nstopping after this step (Ctrl-C again to abort)", file=sys.stderr)
        trainer.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        result = trainer.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    if result.reason == "failed":
        lost = distributed.failure_message(result.error) if backend else None
        if lost:  # the real error is the other rank's; this one only lost contact
            print(f"error: {lost}", file=sys.stderr)
            return 3
        if isinstance(result.error, distributed.RanksDisagree):
            raise result.error
        if not isinstance(result.error, ValueError):  # a bug, not bad input: show where
            print(result.traceback, file=sys.stderr)
        raise ValueError(result.message)
    if not main_rank:
        distributed.shutdown(wait_for_all=True)  # until rank 0 has written its files
        return 1 if result.reason == "diverged" else 0
    print(result.message, file=sys.stderr)
    if ns.out:
        names = write_outputs(Path(ns.out), trainer, result)
        print(f"wrote {', '.join(names)} to {ns.out}", file=sys.stderr)
    print(summary_line(result.final))
    distributed.shutdown(wait_for_all=True)
    return 1 if result.reason == "diverged" else 0


if __name__ == "__main__":
    sys.exit(main())
