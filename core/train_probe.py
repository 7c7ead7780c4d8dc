"""Probe: a callback that records what the training page draws besides the History curves.

    probe = Probe(every_s=1.0, max_images=16, grid=60)
    trainer = Trainer(cfg, [history, probe])
    probe.attach(trainer)          # the probe reads trainer.model / .bundle / .optimizer
    trainer.run()                  # in a worker thread; the page reads probe.snapshot()

snapshot() keys, None where a view does not apply (all plain lists and numbers):
- boundary (2-D inputs): xs, ys, pred and prob (rows of len(ys) by len(xs); regression: value),
  points {x, y, label | value}, class_names, task, step, epoch.
- curve (1-D regression): x, y (the model's output), points {x, y}, step, epoch.
- images (image sets): items [{index, label, pred, confidence, correct, pixels}] (pixels:
  0..255 as (H, W) or (H, W, 3)), class_names, split, channels, step, epoch.
- confusion (classification): matrix (true rows, predicted columns), class_names, split,
  n (samples used), total (split size), accuracy, step, epoch.
- layers: names, shapes, step, series {name: {LAYER_KEYS: lists}} (grad_norm and ratio None
  where no gradient existed), hist {name: {weight, grad: {counts, edges} | None, weight_step,
  grad_step}}.
- error (None, or why the probe went quiet), cost_s, cpu_s, updates, version.

Cost: the probe runs on the training thread, so it works only when due: at RunStarted (the
weights' statistics only), then at most every `every_s` seconds (checked on BatchEnded and
EpochEnded), and once at RunFinished (the final state). Each view group also waits until
its measured cost fits a budget share of the time in between (the confusion matrix, a
forward pass over up to `max_eval` samples, is the expensive one). Gradients are gone by
BatchEnded (zero_grad(set_to_none=True) follows the step), so an optimizer step pre-hook
copies their statistics on a step an update follows; otherwise it costs a counter and a clock
read per step. An exception inside the probe never reaches the run: it is kept in
snapshot()['error'] and the probe goes quiet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from typing import Any

from core.evaluate import predict_curve, predict_grid, sample_predictions
from core.events import BatchEnded, Callback, EpochEnded, RunFinished, RunStarted
from core.history import _thin  # the same thinning as History.snapshot(max_points)
from core.optim import build_objective
from core.train_probe_stats import (
    LAYER_KEYS,
    confusion_size,
    confusion_view,
    display_pixels,
    grid_axes,
    layer_stats,
    line_axis,
    merge_histograms,
    plot_points,
)

FAST_BUDGET = 0.008  # boundary / images / layers: 0.8 % of the time between updates
VIEWS = ("boundary", "curve", "images", "confusion", "layers")


class Probe(Callback):
    """Live views of a run: decision boundary or curve, image predictions, confusion matrix and
    per-layer weight/gradient statistics. Thread-safe `snapshot()`; `version` grows on news."""

    def __init__(self, every_s: float = 1.0, max_images: int = 16, grid: int = 60, *,
                 max_eval: int = 2000, max_points: int = 1500, bins: int = 30) -> None:
        if every_s < 0:
            raise ValueError(f"every_s must be >= 0 seconds, got {every_s}")
        if grid < 2 or max_images < 0 or max_eval < 1 or max_points < 1 or bins < 1:
            raise ValueError("grid must be >= 2, max_images >= 0, max_eval, max_points and "
                             "bins >= 1.")
        self.every_s, self.max_images, self.grid = float(every_s), int(max_images), int(grid)
        self.max_eval, self.max_points, self.bins = int(max_eval), int(max_points), int(bins)
        self._lock = threading.Lock()
        self._trainer: Any = None
        self._hook: Any = None
        self.version = 0
        self._reset()

    def attach(self, trainer: Any) -> Probe:
        """Observe `trainer` (a core.trainer.Trainer whose callbacks include this probe)."""
        self._trainer = trainer
        return self

    # ---- reading (any thread) ------------------------------------------------------------------
    def snapshot(self, max_rows: int | None = 1000,
                 only: Collection[str] | None = None) -> dict[str, Any]:
        """Every view (plain lists and numbers), plus 'error', 'cost_s' and 'cpu_s' (wall and
        CPU seconds the probe took on the training thread), 'updates' and 'version'. max_rows
        thins each layer's series (None: every row), which are copied; `only`: the views to
        return (the others come back as None), for a reader that draws a few of them.

        The views themselves are shared, not copied: the probe publishes each view as a new
        object and never changes it afterwards, so a reader must treat them as read-only.
        (Deep copies took 3-15 ms a read for a 60x60 boundary; the page reads every second,
        holding the GIL the training thread needs.)"""
        with self._lock:  # published views are replaced, never mutated
            views = {k: v if only is None or k in only else None for k, v in self._views.items()}
            series = ({k: _thin(d, max_rows) for k, d in self._series.items()}
                      if views["layers"] is not None else {})
            meta = {"error": self._error, "cost_s": self._cost, "cpu_s": self._cpu,
                    "updates": self._updates,
                    "version": self.version}
        if views["layers"] is not None:
            views["layers"] = {**views["layers"], "series": series}
        return {**views, **meta}

    # ---- events (training thread) --------------------------------------------------------------
    def on_event(self, event: Any) -> None:
        if self._quiet:
            return
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            if isinstance(event, RunStarted):
                self._start(event)
            elif self._model is None:
                return
            elif isinstance(event, BatchEnded):
                self._step, self._epoch = event.step, event.epoch
                # A forward pass is faster per sample than a training step: a safe estimate
                # of the confusion matrix's cost until one has been measured.
                self._rate_guess = event.samples_per_s
                self._maybe_update()
            elif isinstance(event, EpochEnded):
                self._step, self._epoch = event.step, event.epoch
                self._maybe_update()
            elif isinstance(event, RunFinished):
                self._step = event.steps
                self._update_fast(final=True)
                self._update_eval(self._eval_size(final=True))
                self._remove_hook()
        except Exception as e:  # noqa: BLE001 - the probe must never end the run
            self._fail(e)
        finally:
            self._add_cost(time.perf_counter() - t0, time.thread_time() - c0)

    # ---- state ---------------------------------------------------------------------------------
    def _reset(self) -> None:
        self._quiet, self._error = False, None
        self._model = self._bundle = self._objective = None
        self._views: dict[str, Any] = dict.fromkeys(VIEWS)
        self._series: dict[str, dict[str, list]] = {}
        self._named: list = []
        self._step = self._epoch = self._updates = 0
        self._cost = self._cpu = 0.0
        self._next_fast = self._next_eval = self._last_eval = 0.0
        self._eval_rate: float | None = None  # samples/s of the confusion matrix's forward pass
        self._rate_guess: float | None = None
        self._pending, self._hook_cost = None, 0.0
        self._log_every = self._per_epoch = 1
        self._last_step = -1
        self._eval_split: str | None = None
        self._points: dict[str, list] | None = None  # never mutated: shared by every view
        self._grid_axes: tuple[list[float], list[float]] | None = None
        self._image_cache: dict[int, list] = {}

    def _fail(self, e: BaseException) -> None:
        self._quiet = True
        self._remove_hook()
        with self._lock:
            self._error = f"The live views stopped: {type(e).__name__}: {e}"
            self.version += 1

    def _add_cost(self, seconds: float, cpu: float) -> None:
        with self._lock:
            self._cost += seconds
            self._cpu += cpu

    def _publish(self, **views: Any) -> None:
        with self._lock:
            self._views.update(views)
            self._updates += 1
            self.version += 1

    def _remove_hook(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def _start(self, event: RunStarted) -> None:
        tr = self._trainer
        if tr is None or getattr(tr, "model", None) is None or getattr(tr, "bundle", None) is None:
            raise ValueError("Probe.attach(trainer) was not called before the run.")
        self._remove_hook()
        with self._lock:
            self._reset()
        b = self._bundle = tr.bundle
        self._model = tr.model
        self._objective = build_objective(tr.cfg, b.task, b.num_classes)
        self._named = list(self._model.named_parameters())
        self._step = event.start_step
        self._log_every, self._per_epoch = tr.cfg.log_every, max(event.steps_per_epoch, 1)
        self._last_step = event.total_steps
        self._epoch = event.start_epoch
        self._eval_split = next((s for s in ("val", "test") if getattr(b, s) is not None
                                 and len(getattr(b, s))), None)
        if tuple(b.input_shape) in ((1,), (2,)):
            self._points = plot_points(b, self.max_points)
        self._grid_axes = (grid_axes(b.train.x, self.grid) if tuple(b.input_shape) == (2,)
                           else None)
        if tr.optimizer is not None:
            self._hook = tr.optimizer.register_step_pre_hook(self._before_step)
        # Only the cheap weight statistics now (step 0 of the series); the forward passes wait
        # `every_s`, so a run shorter than that pays for one final update only.
        self._publish(layers=self._layers(final=False))
        self._last_eval = time.perf_counter()
        self._next_fast = self._next_eval = self._last_eval + self.every_s

    # ---- scheduling ----------------------------------------------------------------------------
    def _maybe_update(self) -> None:
        now = time.perf_counter()
        if now >= self._next_fast:
            self._update_fast()
        if now >= self._next_eval:
            self._update_eval(self._eval_size(final=False))

    def _before_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        """Optimizer step pre-hook, where the step's gradients still exist (clipped; unscaled
        unless a fused AMP step passes grad_scale). It copies their statistics only on a step
        an update follows: a due log step or epoch end, or the run's last step."""
        self._step += 1  # BatchEnded / EpochEnded re-sync it (a skipped fp16 step never comes)
        s = self._step
        if self._quiet or not (s == self._last_step or (
                (s % self._log_every == 0 or s % self._per_epoch == 0)
                and time.perf_counter() >= self._next_fast)):
            return
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            scale = kwargs.get("grad_scale") if kwargs else None
            self._pending = (s, layer_stats(self._named, bins=self.bins, grad_scale=scale))
        except Exception as e:  # noqa: BLE001 - the probe must never end the run
            self._fail(e)
        finally:
            self._hook_cost = time.perf_counter() - t0
            self._add_cost(self._hook_cost, time.thread_time() - c0)

    # ---- the views -----------------------------------------------------------------------------
    def _update_fast(self, final: bool = False) -> None:
        t0 = time.perf_counter() - self._hook_cost  # the gradient capture belongs to it
        self._hook_cost = 0.0
        views: dict[str, Any] = {"layers": self._layers(final)}
        if self._grid_axes is not None:
            views["boundary"] = self._boundary()
        elif tuple(self._bundle.input_shape) == (1,) and self._bundle.task == "regression":
            views["curve"] = self._curve()
        if self._bundle.is_image and self._eval_split and self._objective.has_accuracy \
                and self.max_images:
            views["images"] = self._images()
        self._publish(**views)
        now = time.perf_counter()  # wait every_s, and long enough to keep within the budget
        self._next_fast = now + max(self.every_s, (now - t0) / FAST_BUDGET)

    def _eval_size(self, final: bool) -> int:
        """Samples the confusion matrix may use now (0: not yet)."""
        if not (self._objective.has_accuracy and self._eval_split):
            return 0
        target = min(self.max_eval, len(self._bundle.split(self._eval_split)))
        return confusion_size(target, self._eval_rate or self._rate_guess,
                              time.perf_counter() - self._last_eval, final)

    def _update_eval(self, n: int) -> None:
        """The confusion matrix on the first n samples of the evaluation split."""
        if n <= 0:
            return
        t0 = time.perf_counter()
        view = confusion_view(self._model, self._bundle, self._eval_split, self._objective, n)
        self._publish(confusion=dict(view, step=self._step, epoch=self._epoch))
        self._last_eval = time.perf_counter()
        self._eval_rate = n / max(self._last_eval - t0, 1e-6)
        self._next_eval = self._last_eval + self.every_s

    def _layers(self, final: bool) -> dict[str, Any]:
        rows = []
        if self._pending is not None:
            rows.append(self._pending)
            self._pending = None
        if final or not rows:  # weights only: no gradients exist between steps
            rows.append((self._step, layer_stats(self._named, bins=self.bins)))
        with self._lock:  # snapshot() copies these lists: append only while holding the lock
            for step, stats in rows:
                for name, values in stats["rows"].items():
                    series = self._series.setdefault(name, {k: [] for k in LAYER_KEYS})
                    series["step"].append(step)
                    for k in LAYER_KEYS[1:]:
                        series[k].append(values[k])
        old = self._views["layers"]["hist"] if self._views["layers"] else {}
        return {"names": [n for n, _ in self._named],
                "shapes": [list(p.shape) for _, p in self._named],
                "hist": merge_histograms(old, rows), "step": rows[-1][0], "series": None}

    def _boundary(self) -> dict[str, Any]:
        xs, ys = self._grid_axes
        g = predict_grid(self._model, self._bundle, xs, ys, self._objective, with_probs=False)
        g.update(points=self._points, step=self._step, epoch=self._epoch,
                 class_names=list(self._bundle.class_names), task=self._bundle.task)
        return g

    def _curve(self) -> dict[str, Any]:
        # A line needs more points than one side of a grid, and costs far less.
        xs = line_axis(self._points["x"], self.grid * 4)
        return {"x": xs, "y": predict_curve(self._model, self._bundle, xs),
                "points": self._points, "step": self._step, "epoch": self._epoch}

    def _images(self) -> dict[str, Any]:
        b, split = self._bundle, self._eval_split
        rows = sample_predictions(self._model, b, split, n=self.max_images,
                                  objective=self._objective, seed=0)
        x = b.split(split).x
        for r in rows:  # the same indices every time: convert each image once
            if r["index"] not in self._image_cache:
                self._image_cache[r["index"]] = display_pixels(x[r["index"]], b.mean, b.std)
            r["pixels"] = self._image_cache[r["index"]]
        return {"items": rows, "class_names": list(b.class_names), "split": split,
                "channels": int(x.shape[1]), "step": self._step, "epoch": self._epoch}

