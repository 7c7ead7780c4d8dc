"""Time the LR scheduler page's reruns after a control changes (AppTest, after warm-up).

    python bench/schedulers_rerun.py

For each scheduler: one run to warm up (imports, first curve), then a parameter is moved to
values never seen before (uncached curve) and back (cached). Prints median and max in ms.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

# kind -> (number_input key, values to move it through)
MOVES = {
    "StepLR": ("lr_steplr_step_size", [3, 4, 5, 6]),
    "OneCycleLR": ("lr_onecyclelr_max_lr", [0.2, 0.3, 0.4, 0.5]),
    "CyclicLR": ("lr_cycliclr_step_size_up", [50, 60, 70, 80]),
    "CosineAnnealingWarmRestarts": ("lr_cosineannealingwarmrestarts_T_0", [3, 4, 5, 6]),
    "LambdaLR": ("lr_epochs", [40, 50, 60, 70]),
    "ReduceLROnPlateau": ("lr_reducelronplateau_patience", [1, 3, 4, 5]),
    "SequentialLR": ("lr_seq_m0", [3, 4, 6, 7]),
}


def main() -> None:
    rows = []
    for kind, (key, values) in MOVES.items():
        at = AppTest.from_file(str(ROOT / "pages" / "schedulers.py"), default_timeout=120)
        at.query_params["lr_kind"] = kind
        at.run()
        at.run()  # warm: the first run pays for imports and the first curve
        fresh, cached = [], []
        for v in values + values:  # the second pass hits st.cache_data
            t = time.perf_counter()
            at.number_input(key=key).set_value(v).run()
            (cached if len(fresh) == len(values) else fresh).append(time.perf_counter() - t)
            assert not at.exception, at.exception
        rows.append((kind, fresh, cached))
    print(f"{'scheduler':30s} {'new settings ms (median/max)':>30s} {'cached ms (median/max)':>26s}")
    for kind, fresh, cached in rows:
        f = f"{1000 * statistics.median(fresh):.0f} / {1000 * max(fresh):.0f}"
        c = f"{1000 * statistics.median(cached):.0f} / {1000 * max(cached):.0f}"
        print(f"{kind:30s} {f:>30s} {c:>26s}")


if __name__ == "__main__":
    main()
