"""standalone_script(cfg): a plain PyTorch script that reproduces a run without this app.

It makes the same data (core/script_data.py), builds the same network (core/script_model.py,
whose parameter names and shapes a test checks against core.models, so the app's model.pt
loads into it), and trains with the same optimizer, schedule, loss, accumulation, clipping,
AMP and early stopping, seeded the same way. It prints one JSON line of final metrics.
"""

from __future__ import annotations

from typing import Any

from core.config import IMAGE_MODELS
from core.device import amp_plan, resolve_device, small_dense_step
from core.optim import OPTIMIZERS, Objective
from core.script_data import data_imports, data_section
from core.script_model import model_section
from core.validate import KNOWN_SHAPES, known_task


def _optimizer(cfg: Any) -> str:
    o, wd = cfg.optimizer, cfg.weight_decay
    args = {
        "sgd": f"lr={cfg.lr!r}, momentum={cfg.momentum!r}, dampening={cfg.dampening!r}, "
               f"weight_decay={wd!r}, nesterov={cfg.nesterov!r}",
        "adam": f"lr={cfg.lr!r}, betas=({cfg.beta1!r}, {cfg.beta2!r}), eps={cfg.eps!r}, "
                f"weight_decay={wd!r}",
        "adamw": f"lr={cfg.lr!r}, betas=({cfg.beta1!r}, {cfg.beta2!r}), eps={cfg.eps!r}, "
                 f"weight_decay={wd!r}",
        "rmsprop": f"lr={cfg.lr!r}, alpha={cfg.alpha!r}, eps={cfg.eps!r}, weight_decay={wd!r}, "
                   f"momentum={cfg.momentum!r}",
        "adagrad": f"lr={cfg.lr!r}, eps={cfg.eps!r}, weight_decay={wd!r}",
        "adadelta": f"lr={cfg.lr!r}, rho={cfg.rho!r}, eps={cfg.eps!r}, weight_decay={wd!r}",
    }[o]
    cls = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop",
           "adagrad": "Adagrad", "adadelta": "Adadelta"}[o]
    call = f"torch.optim.{cls}(params, {args}, " + "{}=True)"
    if not OPTIMIZERS[o][1]:
        return f"    optimizer = {call.format('foreach')}"
    # core.optim's choice: the fused kernel where torch has one (same maths, its own rounding,
    # which a BatchNorm net's noise-level gradients can amplify), else foreach
    return (f"    try:  # the app's kernel: fused, else foreach\n"
            f"        optimizer = {call.format('fused')}\n"
            f"    except (RuntimeError, ValueError):\n"
            f"        optimizer = {call.format('foreach')}")


def _threads(cfg: Any, shape: tuple[int, ...], outputs: int) -> str:
    """The app's CPU thread count where it is fixed (threads > 0, or 1 for a small dense step):
    a different count sums in another order, and rounding can then drift the run."""
    from core.models import build_model

    if cfg.threads > 0:
        n, why = cfg.threads, "the run's threads setting"
    elif small_dense_step(build_model(cfg, tuple(shape), outputs), cfg.batch_size):
        n, why = 1, "the app runs a small dense model on one thread"
    else:
        return "    # CPU threads: torch's default (the app lowers it while other jobs keep cores busy)"
    return f"    if DEVICE.type == \"cpu\":\n        torch.set_num_threads({n})  # {why}"


def _scheduler(cfg: Any, steps_per_epoch: str) -> str:
    s, peak = cfg.scheduler, cfg.max_lr or cfg.lr
    L = "torch.optim.lr_scheduler."
    return {
        "none": "None",
        "step": f"{L}StepLR(optimizer, step_size={cfg.step_size}, gamma={cfg.gamma!r})",
        "multistep": f"{L}MultiStepLR(optimizer, milestones={list(cfg.milestones)}, "
                     f"gamma={cfg.gamma!r})",
        "exponential": f"{L}ExponentialLR(optimizer, gamma={cfg.gamma!r})",
        "cosine": f"{L}CosineAnnealingLR(optimizer, T_max={cfg.t_max or cfg.epochs}, "
                  f"eta_min={cfg.eta_min!r})",
        "cosine_warm_restarts": f"{L}CosineAnnealingWarmRestarts(optimizer, T_0={cfg.t_0}, "
                                f"T_mult={cfg.t_mult}, eta_min={cfg.eta_min!r})",
        "onecycle": f"{L}OneCycleLR(optimizer, max_lr={peak!r}, total_steps=EPOCHS * "
                    f"{steps_per_epoch}, pct_start={cfg.pct_start!r}, anneal_strategy="
                    f"{cfg.anneal_strategy!r}, div_factor={cfg.div_factor!r}, final_div_factor="
                    f"{cfg.final_div_factor!r}, three_phase={cfg.three_phase!r}, "
                    "cycle_momentum=False)",
        "cyclic": f"{L}CyclicLR(optimizer, base_lr={cfg.base_lr or cfg.lr / 10!r}, max_lr="
                  f"{peak!r}, step_size_up={cfg.step_size_up}, mode={cfg.cyclic_mode!r}, "
                  f"gamma={cfg.gamma!r}, cycle_momentum=False)",
        "linear": f"{L}LinearLR(optimizer, start_factor={cfg.start_factor!r}, end_factor="
                  f"{cfg.end_factor!r}, total_iters={cfg.total_iters})",
        "polynomial": f"{L}PolynomialLR(optimizer, total_iters={cfg.total_iters}, "
                      f"power={cfg.power!r})",
        "plateau": f"{L}ReduceLROnPlateau(optimizer, mode="
                   f"{'max' if cfg.plateau_metric.endswith('acc') else 'min'!r}, factor="
                   f"{cfg.plateau_factor!r}, patience={cfg.plateau_patience}, threshold="
                   f"{cfg.plateau_threshold!r}, cooldown={cfg.cooldown}, min_lr={cfg.min_lr!r})",
    }[s]


def _loss(cfg: Any, task: str) -> tuple[str, str]:
    """(loss_fn body, predict body)."""
    fn = {"cross_entropy": "F.cross_entropy", "bce_with_logits":
          "F.binary_cross_entropy_with_logits", "mse": "F.mse_loss", "l1": "F.l1_loss",
          "smooth_l1": "F.smooth_l1_loss"}[cfg.loss]
    if task == "regression":
        return f"{fn}(out.float(), y.float().view_as(out))", "out"
    if cfg.loss == "cross_entropy":
        return (f"{fn}(out.float(), y, label_smoothing={cfg.label_smoothing!r})",
                "out.argmax(dim=-1)")
    if cfg.loss == "bce_with_logits":  # one logit: p(class 1) = sigmoid(out)
        return f"{fn}(out.float().squeeze(-1), y.float())", "(out.squeeze(-1) > 0).long()"
    return (f"{fn}(out.float(), F.one_hot(y, NUM_CLASSES).float())  # one-hot targets",
            "out.argmax(dim=-1)")


def _schedule_cadence(cfg: Any) -> tuple[str, str]:
    """(code after each optimizer step, code after each epoch) for the scheduler."""
    from core.schedulers import cadence

    s = cfg.scheduler
    if s == "none":
        return "", ""
    if s == "cosine_warm_restarts":  # fractional epochs: step k of an epoch is epoch + k / S
        return "step_schedule(epoch + (k + 1) / steps_per_epoch)", ""
    if cadence(s) == "batch":
        return "step_schedule()", ""
    if s == "plateau":
        return "", f"step_schedule({cfg.plateau_metric})"
    return "", "step_schedule()"


def data_facts(cfg: Any) -> tuple[str, tuple[int, ...], int]:
    """(task, input shape, classes or targets) from the config, loading the data only when
    the config alone cannot tell (csv, image_folder)."""
    task, classes = known_task(cfg)
    shape = KNOWN_SHAPES.get(cfg.dataset)
    if task == "regression" and cfg.dataset == "regression":
        classes = 1
    if task is None or classes is None or shape is None:
        from core.data import load_data

        bundle = load_data(cfg, "cpu")
        return bundle.task, tuple(bundle.input_shape), bundle.num_classes
    return task, shape, classes


def render_script(cfg: Any, facts: tuple[str, tuple[int, ...], int] | None = None) -> str:
    """The whole script as text; facts = (task, input_shape, classes) if already known."""
    from core.script_template import TEMPLATE

    task, shape, classes = facts or data_facts(cfg)
    outputs = Objective(cfg.loss, task, classes).num_outputs
    amp_dtype, use_scaler = amp_plan(cfg.amp, resolve_device(cfg.device), cfg.model)
    amp = "None" if amp_dtype is None else f"torch.{str(amp_dtype).split('.')[-1]}"
    per_step, per_epoch = _schedule_cadence(cfg)
    loss, predict = _loss(cfg, task)
    imports = "\n".join(data_imports(cfg))
    hflip = cfg.dataset not in ("mnist", "digits")
    title = f"{cfg.dataset} / {cfg.model} / {cfg.optimizer}"
    return TEMPLATE.substitute(
        title=title, title_repr=repr(title), imports=imports + "\n" if imports else "",
        config=_config_literal(cfg), task=repr(task), augment=cfg.augment, hflip=hflip,
        amp=amp, scaler=use_scaler, has_acc=task == "classification",
        channels_last=cfg.channels_last and cfg.model in IMAGE_MODELS, accum=cfg.grad_accum_steps,
        warmup_steps=cfg.warmup_steps, warmup_start=repr(cfg.warmup_start_factor),
        patience=cfg.early_stop_patience, min_delta=repr(cfg.early_stop_min_delta),
        data=data_section(cfg, task), model=model_section(cfg, shape, outputs),
        device=repr(cfg.device), num_classes=classes,
        loss=loss, predict=predict, optimizer=_optimizer(cfg), threads=_threads(cfg, shape, outputs),
        scheduler=_scheduler(cfg, "steps_per_epoch"),
        mode_repr=repr("max" if cfg.early_stop_metric.endswith("acc") else "min"),
        metric_repr=repr(cfg.early_stop_metric), clip_repr=repr(cfg.clip_mode),
        clip_value=repr(cfg.clip_value), per_step=per_step or "pass",
        per_epoch=per_epoch or "pass",
    )


def _config_literal(cfg: Any) -> str:
    items = [f"    {k!r}: {v!r}," for k, v in cfg.to_dict().items()]
    return "{\n" + "\n".join(items) + "\n}"

