"""Rerun time of each convolution-page tab after a control changes (AppTest, after warm-up).

    python bench/conv_page_speed.py [changes per tab]

Each tab is opened by URL, run twice to warm caches and imports, then one control is set to
`changes` new values in turn; the median and worst script time are printed in milliseconds.
AppTest runs the script in-process, so the numbers are script time (widgets, torch, Plotly
serialisation), not browser rendering.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import make_app  # noqa: E402

# tab -> (widget getter, key, values to cycle through)
CHANGES = {
    "Output size": ("number_input", "conv_h", [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]),
    "Transposed conv": ("number_input", "conv_t_w", [3, 4, 5, 6, 7, 5, 4, 3, 6, 7, 5, 4]),
    "Pooling": ("number_input", "conv_pool_h", [8, 9, 10, 11, 12, 13, 14, 15, 16, 9, 10, 11]),
    "Upsampling": ("number_input", "conv_up_sfh", [1.5, 2.5, 3.0, 1.25, 0.75, 2.25, 1.75,
                                                  3.5, 1.1, 2.2, 0.9, 1.3]),
    "Groups & cost": ("number_input", "conv_groups", [1, 4, 2, 1, 4, 2, 1, 4, 2, 1, 4, 2]),
    "Real image": ("number_input", "conv_img_digit", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
}


def measure(tab: str, changes: int) -> list[float]:
    getter, key, values = CHANGES[tab]
    at = make_app("pages/convolution.py", {"conv_tab": tab})
    at.run()
    at.run()  # warm-up: imports, caches, first torch calls
    times = []
    for value in values[:changes]:
        getattr(at, getter)(key=key).set_value(value)
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
        assert not at.exception, [e.value for e in at.exception]
    return times


def main() -> None:
    changes = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for tab in CHANGES:
        times = measure(tab, changes)
        print(f"{tab:16s} median {statistics.median(times):6.1f} ms   max {max(times):6.1f} ms")


if __name__ == "__main__":
    main()
