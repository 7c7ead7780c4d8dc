"""The training loop. `Trainer(cfg, callbacks).run()` reads top to bottom: set up, then
for each epoch: batches -> forward -> loss -> backward -> (clip) -> step -> schedule; validate.

Speed choices (a benchmark holds this loop to >= 0.97x a minimal hand-written loop):
- Data is already on the device (DataBundle); batches are index slices, no DataLoader.
- Running loss / correct counts stay on the device. Reading a device value (.item(), .tolist())
  makes the host wait for all queued work, so it happens only every cfg.log_every optimizer
  steps and at the end of an epoch. The gradient norm is computed only on those steps too
  (or every step when clipping by norm needs it anyway).
- Fused (else foreach) optimizer kernels; zero_grad(set_to_none=True) frees instead of zeroing.
- AMP per core.device.amp_plan (bf16 on a bf16-capable CPU for image models); channels_last
  when asked; threads per core.device.run_threads (1 for a tiny MLP, fewer on a busy CPU).

Control comes in only through RunControl (stop flag, pause gate), checked between optimizer
steps, so a stopped run's weights are those after a whole step. Everything goes out as events.

Distributed (core/distributed.py; under torchrun): the loop calls `net = DDP(model)`, each
rank slices its shard of the same per-epoch order from bundle.batches, and log-step / epoch
metrics and the stop flag are summed over ranks, so every rank takes the same branches.
Checkpoints keep using `model`; only rank 0 sends events to callbacks other than History.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import time
import traceback
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from core import distributed
from core.config import IMAGE_MODELS, TrainConfig, check_resumable
from core.data import DataBundle, load_data
from core.device import amp_plan, resolve_device, run_threads
from core.evaluate import loss_and_accuracy
from core.events import (
    BatchEnded,
    EarlyStopped,
    EpochEnded,
    EpochStarted,
    RunControl,
    RunFinished,
    RunStarted,
    Validated,
)
from core.history import History
from core.models import build_model
from core.optim import Objective, build_objective, build_optimizer, optimizer_kind
from core.schedulers import ScheduleDriver, build_scheduler
from core.train_parts import (
    EarlyStopping,
    RunningSums,
    WeightSnapshot,
    accumulation_size,
    divergence_message,
    grads_of,
    seed_everything,
    set_rng_state,
    total_norm,
)
from core.validate import check_data


@dataclass
class RunResult:
    """What a run leaves behind; `history` holds every number it reported."""

    reason: str
    message: str
    model: nn.Module | None
    history: History
    final: dict[str, float | None]
    epochs: int
    steps: int
    elapsed: float
    objective: Objective | None = None
    data: DataBundle | None = None
    error: BaseException | None = None
    traceback: str = ""

    @property
    def ok(self) -> bool:
        return self.reason in ("completed", "early_stopped", "stopped")


class Trainer:
    """One run of `cfg`. Callbacks get every event; `stop/pause/resume` are thread-safe."""

    def __init__(self, cfg: TrainConfig, callbacks: Any = (), data: DataBundle | None = None,
                 ) -> None:
        if not isinstance(cfg, TrainConfig):
            raise ValueError(f"Trainer needs a TrainConfig, got {type(cfg).__name__}")
        self.cfg, self.data = cfg, data
        self.callbacks = list(callbacks)
        history = next((c for c in self.callbacks if isinstance(c, History)), None)
        if history is None:
            history = History()
            self.callbacks.insert(0, history)  # first, so others see it already updated
        self.history = history
        self.control = RunControl()
        for cb in self.callbacks:
            if hasattr(cb, "bind"):
                cb.bind(self.control)
        self._resume: dict[str, Any] | None = None
        self._state: dict[str, Any] | None = None
        self.model: nn.Module | None = None
        self._main = True  # rank 0 (or the only process): sends events to every callback
        # The live run's data and optimizer, for observers such as core.train_probe.Probe
        # (set before RunStarted; read-only for them).
        self.bundle: DataBundle | None = None
        self.optimizer: torch.optim.Optimizer | None = None

    # ---- control (any thread) ------------------------------------------------------------------
    def stop(self) -> None:
        self.control.stop()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    @property
    def paused(self) -> bool:
        return self.control.paused

    def _emit(self, event: Any) -> None:
        for cb in self.callbacks:  # other ranks: only History and callbacks that opt in
            if self._main or cb is self.history or getattr(cb, "all_ranks", False):
                cb.on_event(event)

    # ---- checkpoints ---------------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, data: bytes, callbacks: Any = (), bundle: DataBundle | None = None,
                        **changes: Any) -> Trainer:
        """A trainer that continues the run saved in checkpoint `data` (changes: e.g. epochs)."""
        from core.export import load_checkpoint

        ck = load_checkpoint(data)
        cfg = ck["config"].replace(**changes) if changes else ck["config"]
        check_resumable(ck["config"], cfg)  # before building anything for a config it can't use
        trainer = cls(cfg, callbacks, bundle)
        trainer._resume = ck
        return trainer

    def checkpoint(self) -> bytes:
        """The run's full state as bytes: call it from a callback, while paused, or after run()."""
        from core.export import checkpoint_bytes
        from core.train_parts import rng_state

        if self.model is None or self._state is None:
            raise ValueError("There is no run to checkpoint yet: call run() first.")
        s = self._state
        extra = {"step": s["step"], "micro": s["micro"], "scaler": None
                 if s["scaler"] is None else s["scaler"].state_dict(),
                 "epoch_generator": s["epoch_generator"],
                 "epoch_sums": s["sums"].state(),
                 "early_stop": None if s["stopper"] is None else s["stopper"].state_dict(),
                 "best_weights": None if s["best"] is None else s["best"].state_dict(self.model)}
        return checkpoint_bytes(self.model, s["optimizer"], s["schedule"], self.cfg,
                                s["epoch"], self.history, rng_state(s["generator"]), **extra)

    # ---- the run -------------------------------------------------------------------------------
    def run(self, resume_from: bytes | None = None, *, raise_errors: bool = False) -> RunResult:
        """Train; errors end the run with RunFinished(reason='failed') instead of raising."""
        prev_threads = torch.get_num_threads()
        t0 = time.perf_counter()
        try:
            if resume_from is not None:
                from core.export import load_checkpoint

                self._resume = load_checkpoint(resume_from)
                check_resumable(self._resume["config"], self.cfg)
            return self._run()
        except Exception as e:  # noqa: BLE001 - the run's outcome is an event, not a crash
            if raise_errors:
                raise
            msg = str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
            elapsed = time.perf_counter() - t0
            self._emit(RunFinished("failed", msg, elapsed, 0, 0, {}))
            return RunResult("failed", msg, self.model, self.history, {}, 0, 0, elapsed,
                             error=e, traceback=traceback.format_exc())
        finally:
            torch.set_num_threads(prev_threads)

    def _run(self) -> RunResult:
        cfg, control = self.cfg, self.control
        t0 = time.perf_counter()
        paused = 0.0  # seconds spent paused, left out of elapsed and the ETA

        # ---- data, model, optimizer, schedule -----------------------------------------------
        device = distributed.rank_device(resolve_device(cfg.device))  # cuda:LOCAL_RANK
        self._main = distributed.rank() == 0
        bundle = self.data if self.data is not None else load_data(cfg, device)
        if bundle.device != device:
            bundle = bundle.to(device)
        check_data(cfg, bundle)
        distributed.check_same_run(cfg, bundle)  # every rank the same config and data
        objective = build_objective(cfg, bundle.task, bundle.num_classes)
        has_acc = objective.has_accuracy
        seed_everything(cfg.seed)  # right before init: same seed, same initial weights
        model = build_model(cfg, tuple(bundle.input_shape), objective.num_outputs).to(device)
        channels_last = (cfg.channels_last and cfg.model in IMAGE_MODELS
                         and len(bundle.input_shape) == 3)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        # Chosen once the model is known; run() restores the caller's count.
        torch.set_num_threads(run_threads(cfg.threads, model, cfg.batch_size, device.type == "cpu"))
        rank, world_size = distributed.rank(), distributed.world_size()
        net = model if world_size == 1 else distributed.wrap(model, device)  # what the loop calls
        if world_size > 1:  # same initial weights above; different dropout masks per rank
            torch.manual_seed(cfg.seed + rank)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = build_optimizer(cfg, params)
        self.bundle, self.optimizer = bundle, optimizer
        k = cfg.grad_accum_steps
        # BatchNorm cannot train on a last batch of one sample; drop it in that one case.
        drop_last = (cfg.norm == "batch"
                     and math.ceil(len(bundle.train) / world_size) % cfg.batch_size == 1)
        n_micro = bundle.num_batches("train", cfg.batch_size, world_size=world_size,
                                     drop_last=drop_last)
        if n_micro == 0:
            why = ("BatchNorm needs at least 2 in a batch. Use more data (subset, val_split) or "
                   "norm='layer'" if drop_last else f"too few for one batch of {cfg.batch_size}")
            raise ValueError(f"The training split has {len(bundle.train)} sample(s): {why}.")
        steps_per_epoch = math.ceil(n_micro / k)  # optimizer steps
        total_steps = steps_per_epoch * cfg.epochs
        schedule = build_scheduler(cfg, optimizer, steps_per_epoch)
        amp_dtype, use_scaler = amp_plan(cfg.amp, device, cfg.model)
        scaler = torch.amp.GradScaler(device.type) if use_scaler else None
        autocast = (functools.partial(torch.autocast, device.type, dtype=amp_dtype)
                    if amp_dtype is not None else contextlib.nullcontext)
        # One CPU generator draws batch order and augmentation: the same on every device.
        generator = torch.Generator().manual_seed(cfg.seed)
        stopper = (EarlyStopping(cfg.early_stop_metric, cfg.early_stop_patience,
                                 cfg.early_stop_min_delta) if cfg.early_stop_patience else None)
        best = WeightSnapshot(model) if stopper else None
        good = WeightSnapshot(model)  # the last weights a finite-loss check passed
        sums = RunningSums(objective, device)
        start_epoch, step, skip = 0, 0, 0
        st = self._state = {"optimizer": optimizer, "schedule": schedule, "scaler": scaler,
                            "generator": generator, "stopper": stopper, "best": best,
                            "epoch": 0, "micro": 0, "step": 0, "epoch_generator": None,
                            "sums": sums}
        ck = self._resume
        if ck is not None:  # continue a saved run: every state, then every RNG
            start_epoch, skip, step = ck["epoch"], ck["micro"], ck["step"]
            self._load_states(ck, model, optimizer, schedule, scaler, stopper, best)
            good.save(model, step, start_epoch)
            if skip == 0:
                set_rng_state(ck["rng"], generator)
            st.update(epoch=start_epoch, micro=skip, step=step)

        self._emit(RunStarted(
            cfg.to_dict(), str(device), sum(p.numel() for p in params), steps_per_epoch,
            total_steps, len(bundle.train), len(bundle.val),
            0 if bundle.test is None else len(bundle.test),
            "off" if amp_dtype is None else str(amp_dtype).removeprefix("torch.").replace(
                "bfloat16", "bf16").replace("float16", "fp16"),
            optimizer_kind(optimizer), start_epoch, world_size,
            cfg.batch_size * k * world_size, step))

        reason, message = "completed", ""
        first_step = step
        epochs_done = start_epoch
        train_loss = train_acc = val_loss = val_acc = None
        # Under DDP a rank may stop only when all do (else the others wait in an all-reduce):
        # the flag is summed over ranks at each epoch start and log step, and obeyed there.
        no_sync = net.no_sync if world_size > 1 else contextlib.nullcontext
        agreed_stop = False

        def stopping() -> bool:
            return control.stop_requested.is_set() if world_size == 1 else agreed_stop

        for epoch in range(start_epoch, cfg.epochs):
            if world_size > 1:
                agreed_stop = distributed.sum_over_ranks(control.stop_requested.is_set(),
                                                         device=device)[0] > 0
            if stopping():
                reason = "stopped"
                break
            ep = epoch + 1  # events count epochs from 1
            t_epoch = time.perf_counter()
            self._emit(EpochStarted(ep, schedule.lr))
            net.train()
            if skip:  # resuming mid-epoch: this epoch's batch order comes from its start state
                generator.set_state(ck["epoch_generator"])
            st["epoch_generator"] = generator.get_state()
            # Loss and correct counts stay on the device until a log step or the epoch end.
            sums = st["sums"] = RunningSums(objective, device)
            batches = bundle.batches("train", cfg.batch_size, shuffle=True, generator=generator,
                                     train=True, rank=rank, world_size=world_size,
                                     drop_last=drop_last)
            if skip:  # replay the batches already trained on, so every RNG advances alike
                for _ in itertools.islice(batches, skip):
                    pass
                set_rng_state(ck["rng"], generator)
                sums.load(ck["epoch_sums"])
            (mark_loss, mark_correct), mark_seen = sums.totals(), sums.seen
            t_log = time.perf_counter()
            for i, (xb, yb) in enumerate(batches, start=skip):
                if channels_last:
                    xb = xb.contiguous(memory_format=torch.channels_last)
                g = accumulation_size(i, n_micro, k)
                accumulating = (i + 1) % k and i + 1 < n_micro
                # DDP decides in forward whether this backward all-reduces: only a step's last.
                with no_sync() if accumulating else contextlib.nullcontext(), autocast():
                    out = net(xb)
                    loss = objective.loss(out, yb)
                # Each micro-batch adds grad(loss / g): the group's gradients sum to the
                # gradient of the mean loss over all its samples, as one big batch would.
                scaled = loss / g if g > 1 else loss
                (scaler.scale(scaled) if scaler else scaled).backward()
                sums.add(loss, out, yb)  # keeps references; no kernel launch, no sync
                if accumulating:
                    continue  # accumulate the next micro-batch's gradients first

                # ---- one optimizer step ----------------------------------------------------
                step += 1
                log_now = step % cfg.log_every == 0
                if scaler is not None and (cfg.clip_mode != "none" or log_now):
                    scaler.unscale_(optimizer)  # clip and report real gradients, not scaled ones
                grad_norm = None
                if cfg.clip_mode == "norm":  # returns the total norm BEFORE clipping
                    grad_norm = nn.utils.clip_grad_norm_(params, cfg.clip_value, foreach=True)
                elif log_now:
                    grad_norm = total_norm(grads_of(params))
                if cfg.clip_mode == "value":
                    nn.utils.clip_grad_value_(params, cfg.clip_value, foreach=True)
                lr_used = schedule.lr
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                schedule.after_batch()
                st["epoch"], st["micro"], st["step"] = epoch, i + 1, step

                if log_now:  # ---- the only per-step host sync ---------------------------------
                    loss_now, correct_now = sums.totals()
                    window = torch.stack([loss_now - mark_loss, correct_now - mark_correct,
                                          grad_norm.float().to(device),
                                          total_norm(list(model.parameters())).to(device)])
                    w_loss, w_correct, g_norm, w_norm = window.tolist()
                    n_win = sums.seen - mark_seen
                    if world_size > 1:  # norms are equal on every rank after DDP's all-reduce
                        w_loss, w_correct, n_win, votes = distributed.sum_over_ranks(
                            w_loss, w_correct, n_win, control.stop_requested.is_set(),
                            device=device)
                        agreed_stop = votes > 0
                    w_loss /= n_win
                    if not (math.isfinite(w_loss) and math.isfinite(w_norm)):
                        reason, message = "diverged", self._diverge(w_loss, w_norm, step, ep,
                                                                    lr_used, good, model)
                        break
                    good.save(model, step, ep)
                    now = time.perf_counter()
                    elapsed = now - t0 - paused
                    progress = step / total_steps
                    rate = (elapsed / (step - first_step)) if step > first_step else 0.0
                    self._emit(BatchEnded(
                        step, ep, w_loss, w_correct / n_win if has_acc else None, lr_used, g_norm,
                        n_win / max(now - t_log, 1e-9), elapsed, progress,
                        rate * (total_steps - step)))
                    mark_loss, mark_correct, mark_seen = loss_now, correct_now, sums.seen
                    t_log = time.perf_counter()
                if stopping():
                    reason = "stopped"
                    break
                if not control.running.is_set():
                    paused += control.wait_if_paused()
                    t_log = time.perf_counter()
                    if stopping():
                        reason = "stopped"
                        break
            skip = 0
            if reason != "completed":
                break

            # ---- end of epoch: one sync for the epoch's means, then validation ---------------
            epoch_loss, epoch_correct = torch.stack(sums.totals()).tolist()
            epoch_loss, epoch_correct, seen = distributed.sum_over_ranks(
                epoch_loss, epoch_correct, sums.seen, device=device)  # as is in one process
            train_loss = epoch_loss / seen
            train_acc = epoch_correct / seen if has_acc else None
            lr_used = lr_used if step > first_step else schedule.lr
            if not math.isfinite(train_loss):
                reason, message = "diverged", self._diverge(train_loss, 0.0, step, ep, lr_used,
                                                            good, model)
                break
            if len(bundle.val):
                if world_size > 1:  # BatchNorm running stats: every rank evaluates rank 0's
                    distributed.broadcast_buffers(model)
                val_loss, val_acc = loss_and_accuracy(model, bundle, "val", objective,
                                                      amp_dtype=amp_dtype,
                                                      channels_last=channels_last)
                if world_size > 1:  # bitwise equal everywhere: early stopping decides alike
                    val_loss, val_acc = distributed.agree(val_loss, val_acc, device=device)
                if not math.isfinite(val_loss):
                    reason, message = "diverged", self._diverge(val_loss, 0.0, step, ep, lr_used,
                                                                good, model, "validation loss")
                    break
                self._emit(Validated(ep, val_loss, val_acc, train_loss, train_acc, lr_used))
            metrics = {"train_loss": train_loss, "val_loss": val_loss, "val_acc": val_acc}
            schedule.after_epoch(metrics[schedule.monitor] if schedule.monitor else None)
            stop_early = False
            if stopper is not None:
                improved, stop_early = stopper.update(metrics[stopper.metric], ep)
                if improved:
                    best.save(model, step, ep)
            epochs_done = ep
            st.update(epoch=ep, micro=0, step=step)
            now = time.perf_counter()
            self._emit(EpochEnded(ep, train_loss, train_acc, val_loss, val_acc, lr_used, step,
                                  now - t0 - paused, now - t_epoch))
            if stop_early:
                best.restore(model)
                reason = "early_stopped"
                message = (f"No improvement in {stopper.metric} for {stopper.patience} epochs: "
                           f"stopped after epoch {ep} and restored the best weights, from epoch "
                           f"{stopper.best_epoch} ({stopper.metric} = {stopper.best:.4g}).")
                self._emit(EarlyStopped(ep, stopper.best_epoch, stopper.best, stopper.metric))
                break

        # ---- the end: best weights (early stopping), final metrics ------------------------------
        restored = False
        if reason == "completed" and stopper is not None and 0 < stopper.best_epoch < epochs_done:
            best.restore(model)
            restored = True
            message = (f"Restored the best weights, from epoch {stopper.best_epoch} "
                       f"({stopper.metric} = {stopper.best:.4g}). ")
        final: dict[str, float | None] = {"train_loss": train_loss, "train_acc": train_acc,
                                          "val_loss": val_loss, "val_acc": val_acc}
        if len(bundle.val) and (restored or reason != "completed" or val_loss is None):
            final["val_loss"], final["val_acc"] = loss_and_accuracy(
                model, bundle, "val", objective, amp_dtype=amp_dtype, channels_last=channels_last)
        if bundle.test is not None and len(bundle.test):
            final["test_loss"], final["test_acc"] = loss_and_accuracy(
                model, bundle, "test", objective, amp_dtype=amp_dtype,
                channels_last=channels_last)
        elapsed = time.perf_counter() - t0 - paused
        if reason == "completed":
            message += f"Trained {epochs_done} epochs ({step} steps) in {elapsed:.1f} s."
        elif reason == "stopped":
            message = (f"Stopped on request after step {step} ({epochs_done} whole epochs); the "
                       "weights are those after that step.")
        self._emit(RunFinished(reason, message, elapsed, epochs_done, step, final))
        return RunResult(reason, message, model, self.history, final, epochs_done, step, elapsed,
                         objective, bundle)

    # ---- helpers that need the trainer's state ---------------------------------------------------
    def _diverge(self, loss: float, weight_norm: float, step: int, epoch: int, lr: float,
                 good: WeightSnapshot, model: nn.Module, subject: str = "loss") -> str:
        """Restore the last weights a finite check passed, and explain what happened."""
        good.restore(model)
        if math.isfinite(loss):
            return divergence_message(self.cfg, weight_norm, step, epoch, lr, good.step,
                                      "weights")
        return divergence_message(self.cfg, loss, step, epoch, lr, good.step, subject)

    def _load_states(self, ck: dict[str, Any], model: nn.Module, optimizer: Any,
                     schedule: ScheduleDriver, scaler: Any, stopper: Any, best: Any) -> None:
        from core.export import fit_state_dict

        fit_state_dict(model, ck["model"])
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        if ck.get("scheduler") is not None:
            schedule.load_state_dict(ck["scheduler"])
        if scaler is not None and ck.get("scaler") is not None:
            scaler.load_state_dict(ck["scaler"])
        if stopper is not None and ck.get("early_stop") is not None:
            stopper.load_state_dict(ck["early_stop"])
            if ck.get("best_weights") is not None:
                best.load(ck["best_weights"], model)
        if ck.get("history") is not None:
            self.history.load_state_dict(ck["history"])


def train(cfg: TrainConfig, callbacks: Any = (), data: DataBundle | None = None,
          **kwargs: Any) -> RunResult:
    """Functional form: Trainer(cfg, callbacks, data).run(**kwargs)."""
    return Trainer(cfg, callbacks, data).run(**kwargs)
