"""Run by tests/test_distributed.py under torchrun: `core.train.main` with one rank misbehaving.

    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/ddp_worker.py MODE \
        <core.train flags>

MODE: die-at-N (rank 1 exits abruptly at optimizer step N, as a crash or the OOM killer would),
hang-at-N (rank 1 stops answering at step N), mismatch (rank 1 adds --lr 0.5), ok.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.events import BatchEnded, Callback  # noqa: E402
from core.train import main  # noqa: E402


class Misbehave(Callback):
    """On rank 1 only, at optimizer step `at`: exit without cleanup, or sleep forever."""

    all_ranks = True  # the trainer sends other ranks' events only to callbacks that opt in

    def __init__(self, how: str, at: int) -> None:
        self.how, self.at = how, at

    def on_event(self, event: Any) -> None:
        if os.environ.get("RANK") != "1" or not isinstance(event, BatchEnded):
            return
        if event.step >= self.at:
            if self.how == "die":
                os._exit(17)
            time.sleep(3600)


def run(mode: str, argv: list[str]) -> int:
    if mode == "mismatch":
        return main(argv + (["--lr", "0.5"] if os.environ.get("RANK") == "1" else []))
    if mode == "ok":
        return main(argv)
    how, at = mode.split("-at-")
    return main(argv, callbacks=[Misbehave(how, int(at))])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2:]))
