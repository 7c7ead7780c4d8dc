"""Script time of each visualisation page after a control changes (goal: median <= 200 ms).

    python bench/page_rerun.py [--pages activations convolution ...] [--changes 20]

For every page (and each of its heavy tabs) an AppTest runs the script twice to warm up
(imports, caches, first torch calls), then changes a control `--changes` times, cycling
through several different controls with values not seen before where the control allows,
and times each rerun. AppTest runs the script in-process: this is script time (widgets, torch,
Plotly serialisation), not browser rendering. Prints median and worst per tab and per page.
"""

from __future__ import annotations

import argparse
import itertools
import time

from bench_common import machine, median

from tests.conftest import make_app  # noqa: E402

# page -> [(query that opens a tab, [(widget kind, key, [values...]), ...]), ...]
# Changes cycle through the controls in turn: control 1 value 1, control 2 value 1, ...
PLANS: dict[str, list[tuple[dict[str, str], list[tuple[str, str, list]]]]] = {
    "activations": [
        ({"act_tab": "Functions"}, [
            ("slider", "act_probe", [-1.5, 1.0, 2.5, -3.0, 0.5, 3.5, -0.5]),
            ("slider", "act_swish_beta", [0.5, 1.5, 2.0, 3.0, 0.25, 2.5, 4.0]),
            ("selectbox", "act_focus", ["relu", "gelu", "sigmoid", "swish", "tanh", "relu"]),
        ]),
        ({"act_tab": "Depth experiment"}, [
            ("slider", "act_depth_layers", [10, 30, 15, 25, 40, 12, 35]),
            ("select_slider", "act_depth_width", [64, 256, 32, 128, 16, 64, 256]),
            ("select_slider", "act_depth_scale", [0.5, 1.5, 2.0, 0.75, 1.25, 1.0, 0.5]),
        ]),
        ({"act_tab": "PReLU learns"}, [
            ("slider", "act_prelu_init", [0.1, 0.5, 0.0, 0.75, 0.3, 0.6, 0.05]),
            ("slider", "act_prelu_steps", [50, 150, 200, 80, 120, 60, 180]),
            ("select_slider", "act_prelu_lr", [0.1, 0.3, 0.01, 0.6, 0.03, 0.1, 1.0]),
        ]),
    ],
    "convolution": [
        ({"conv_tab": "Output size"}, [
            ("number_input", "conv_h", [8, 10, 12, 14, 16, 9, 11]),
            ("number_input", "conv_kh", [5, 2, 4, 1, 3, 5, 2]),
            ("selectbox", "conv_pmode", ["reflect", "replicate", "circular", "zeros", "reflect",
                                         "replicate", "zeros"]),
        ]),
        ({"conv_tab": "Real image"}, [
            ("number_input", "conv_img_digit", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ]),
    ],
    "schedulers": [
        ({}, [
            ("number_input", "lr_epochs", [40, 50, 60, 20, 35, 45, 25]),
            ("number_input", "lr_lr", [0.05, 0.2, 0.3, 0.02, 0.15, 0.25, 0.08]),
            ("number_input", "lr_spe", [20, 100, 40, 60, 80, 30, 70]),
        ]),
        ({}, [
            ("selectbox", "lr_kind", ["StepLR", "MultiStepLR", "ExponentialLR",
                                      "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
                                      "CyclicLR", "OneCycleLR"]),
        ]),
    ],
    "normalization": [
        ({}, [
            ("slider", "norm_n", [2, 6, 8, 3, 5, 7, 1]),
            ("slider", "norm_c", [4, 8, 3, 5, 7, 2, 6]),
            ("selectbox", "norm_layer", ["LayerNorm", "GroupNorm", "InstanceNorm2d", "RMSNorm",
                                         "BatchNorm1d", "BatchNorm2d", "LayerNorm"]),
            ("slider", "norm_shift", [2.0, -1.0, 0.5, 3.0, -2.0, 1.5, 0.0]),
            ("select_slider", "norm_exp_lr", [0.03, 0.1, 0.003, 0.3, 0.001, 0.01, 0.03]),
        ]),
    ],
}


def changes_of(controls: list[tuple[str, str, list]], n: int) -> list[tuple[str, str, object]]:
    """n changes: control 1's first value, control 2's first value, ..., then the second values."""
    rounds = itertools.zip_longest(*[[(k, key, v) for v in vals] for k, key, vals in controls])
    flat = [c for rnd in rounds for c in rnd if c is not None]
    return list(itertools.islice(itertools.cycle(flat), n))


def measure(page: str, query: dict[str, str], controls: list, n: int) -> list[float]:
    at = make_app(f"pages/{page}.py", query)
    at.run()
    at.run()  # warm-up
    times = []
    for kind, key, value in changes_of(controls, n):
        getattr(at, kind)(key=key).set_value(value)
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
        if at.exception:
            raise SystemExit(f"{page} {query} {key}={value!r}: {[e.value for e in at.exception]}")
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pages", nargs="+", default=list(PLANS), choices=list(PLANS))
    p.add_argument("--changes", type=int, default=20, help="control changes per tab")
    a = p.parse_args()
    print(f"machine: {machine()}")
    verdicts = []
    for page in a.pages:
        every = []
        for query, controls in PLANS[page]:
            times = measure(page, query, controls, a.changes)
            every += times
            where = query and next(iter(query.values())) or ", ".join(c[1] for c in controls)
            print(f"{page:13s} {where[:40]:40s} median {median(times):6.0f} ms   "
                  f"max {max(times):6.0f} ms", flush=True)
        ok = median(every) <= 200
        verdicts.append(ok)
        print(f"{page:13s} {'PAGE (all changes)':40s} median {median(every):6.0f} ms   "
              f"{'ok' if ok else 'MISSED'} (goal <= 200 ms)", flush=True)
    print(f"goal: every page median <= 200 ms: {'met' if all(verdicts) else 'NOT met'}")


if __name__ == "__main__":
    main()
