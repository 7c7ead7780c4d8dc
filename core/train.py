"""Train from the command line: `python -m core.train --preset digits-mlp --out runs/digits`.

Every TrainConfig field is a flag (`--help` lists them). Ctrl-C stops cleanly after the
current step (press it twice to abort). Exit code 0 when the run completed or was stopped,
1 when it diverged, 2 for bad input (one line on stderr, no traceback).
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
                            initial=event.start_epoch * event.steps_per_epoch, unit="step",
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


def main(argv: list[str] | None = None) -> int:
    from core.cli_args import build_parser

    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        return _main(ns)
    except ValueError as e:  # bad input: one line, no traceback
        msg = " ".join(str(e).split())
        print(f"error: {msg}", file=sys.stderr)
        return 2


def _main(ns: Any) -> int:
    from core.cli_args import config_from_args
    from core.trainer import Trainer

    progress = ProgressBar(enabled=not ns.no_progress)
    if ns.resume:
        path = Path(ns.resume)
        if not path.is_file():
            raise ValueError(f"--resume {ns.resume}: no such file.")
        from core.cli_args import config_values

        changes = config_values(ns)
        trainer = Trainer.from_checkpoint(path.read_bytes(), [progress], **changes)
    else:
        cfg = config_from_args(ns)
        if ns.script:
            from core.export import standalone_script

            print(standalone_script(cfg))
            return 0
        trainer = Trainer(cfg, [progress])

    def on_sigint(signum: int, frame: Any) -> None:
        print("\nstopping after this step (Ctrl-C again to abort)", file=sys.stderr)
        trainer.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        result = trainer.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    if result.reason == "failed":
        if not isinstance(result.error, ValueError):  # a bug, not bad input: show where
            print(result.traceback, file=sys.stderr)
        raise ValueError(result.message)
    print(result.message, file=sys.stderr)
    if ns.out:
        names = write_outputs(Path(ns.out), trainer, result)
        print(f"wrote {', '.join(names)} to {ns.out}", file=sys.stderr)
    print(summary_line(result.final))
    return 1 if result.reason == "diverged" else 0


if __name__ == "__main__":
    sys.exit(main())
