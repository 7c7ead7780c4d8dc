"""Run by tests/test_distributed.py under torchrun: `core.train.main` with one rank misbehaving.

    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/ddp_worker.py MODE \
        <core.train flags>

MODE: die-at-N (rank 1 exits abruptly at optimizer step N, as a crash or the OOM killer would),
hang-at-N (rank 1 stops answering at step N), stop-at-N (only rank 0 asks to stop, as a
callback or Ctrl-C might), mismatch (rank 1 adds --lr 0.5), ok.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.events import BatchEnded, Callback  # noqa: E402
from core.train import main  # noqa: E402


class Misbehave(Callback):
    """At optimizer step `at`: rank 1 exits without cleanup or sleeps; rank 0 asks to stop."""

    all_ranks = True  # the trainer sends other ranks' events only to callbacks that opt in

    def __init__(self, how: str, at: int) -> None:
        self.how, self.at = how, at

    def on_event(self, event: Any) -> None:
        rank = os.environ.get("RANK")
        if not isinstance(event, BatchEnded) or event.step < self.at:
            return
        if self.how == "stop" and rank == "0":
            self.control.stop()
        elif self.how == "die" and rank == "1":
            os._exit(17)
        elif self.how == "hang" and rank == "1":
            time.sleep(3600)


def sum_worker(rank: int, init_file: str, out: str) -> None:
    """Test (e): two ranks pool sums and counts, agree on a value, share BatchNorm stats."""
    import torch
    import torch.distributed as dist

    from core.distributed import agree, broadcast_buffers, shutdown, sum_over_ranks

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        # Rank 0 saw 2 samples with loss sum 3, rank 1 saw 8 with loss sum 10; rank 1 votes stop.
        sums = sum_over_ranks([3.0, 10.0][rank], [1, 6][rank], [2, 8][rank], rank == 1)
        bn = torch.nn.BatchNorm1d(2)
        bn.running_mean.fill_(rank + 1.0)
        broadcast_buffers(bn)
        result = {"sums": sums, "agreed": agree(0.25 * (rank + 1), None),
                  "running_mean": bn.running_mean.tolist()}
        Path(out, f"{rank}.json").write_text(json.dumps(result))
    finally:
        shutdown()


def run(mode: str, argv: list[str]) -> int:
    if mode == "mismatch":
        return main(argv + (["--lr", "0.5"] if os.environ.get("RANK") == "1" else []))
    if mode == "ok":
        return main(argv)
    how, at = mode.split("-at-")
    return main(argv, callbacks=[Misbehave(how, int(at))])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2:]))
