"""A runnable PyTorch snippet that reproduces the page's current schedule, loop included.

The snippet trains a tiny real model so the loop reads like a real one, and collects `lrs`
(the LR each step trains with) exactly as core/lr_curves.py records it; the tests exec it and
compare. Arguments equal to torch's own defaults are left out, as one would write them.
"""

from __future__ import annotations

import inspect
from typing import Any

from torch.optim import lr_scheduler as L

from core.lr_curves import check_run
from core.lr_params import PARAMS, check_spec
from core.plateau_sim import simulate_metric
from core.safe_expr import compile_expr

_ALWAYS = {"OneCycleLR": ("total_steps",), "CyclicLR": ("step_size_up",)}


def _torch_default(kind: str, name: str) -> Any:
    p = inspect.signature(getattr(L, kind)).parameters.get(name)
    return inspect.Parameter.empty if p is None else p.default


def _args(kind: str, params: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """keyword=value text for the arguments that differ from torch's defaults (or are needed)."""
    out: list[str] = []
    custom_scale = kind == "CyclicLR" and bool(params.get("scale_fn"))
    for p in PARAMS[kind]:
        v = params[p.name]
        if not p.torch or (kind == "SequentialLR" and p.name == "milestones"):
            continue
        if kind == "CyclicLR" and p.name == "gamma" and (params["mode"] != "exp_range"
                                                         or custom_scale):
            continue  # only exp_range reads gamma
        if kind == "CyclicLR" and p.name in ("scale_fn", "scale_mode") and not custom_scale:
            continue
        if kind == "CyclicLR" and p.name == "step_size_down" and v == 0:
            continue
        if kind == "OneCycleLR" and p.name == "total_steps" and v == 0:
            out += [f"epochs={run['epochs']}", f"steps_per_epoch={run['steps_per_epoch']}"]
            continue
        if p.kind == "expr":
            arg = "x" if p.name == "scale_fn" else "epoch"
            out.append(f"{p.name}={compile_expr(v, p.variables).as_lambda(arg)}")
            continue
        default = _torch_default(kind, p.name)
        if default is not inspect.Parameter.empty and _same(v, default) \
                and p.name not in _ALWAYS.get(kind, ()):
            continue
        out.append(f"{p.name}={v!r}")
    return out


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b or (isinstance(a, float) and isinstance(b, (int, float))
                                             and not isinstance(b, bool) and a == b)


def _build_lines(spec: dict[str, Any], run: dict[str, Any], name: str) -> list[str]:
    kind, params = spec["kind"], spec["params"]
    if kind in ("SequentialLR", "ChainedScheduler"):
        lines: list[str] = []
        names = [f"{name}_{i}" for i in range(len(spec["children"]))]
        for child, child_name in zip(spec["children"], names, strict=True):
            lines += _build_lines(child, run, child_name)
        listed = ", ".join(names)
        if kind == "SequentialLR":
            lines.append(f"{name} = lr_scheduler.SequentialLR(optimizer, [{listed}], "
                         f"milestones={params['milestones']!r})")
        else:
            lines.append(f"{name} = lr_scheduler.ChainedScheduler([{listed}], "
                         "optimizer=optimizer)")
        return lines
    args = ", ".join(["optimizer", *_args(kind, params, run)])
    return [f"{name} = lr_scheduler.{kind}({args})"]


def pytorch_code(spec: dict[str, Any], run: dict[str, Any] | None = None) -> str:
    """The snippet for a schedule spec and run settings (both as the page holds them)."""
    metric = spec.get("metric") if isinstance(spec, dict) else None
    spec = check_spec(spec)
    run = check_run(run, spec["kind"])
    kind = spec["kind"]
    mom = '["betas"][0]' if run["optimizer"] == "adam" else '["momentum"]'
    opt = (f"torch.optim.Adam(model.parameters(), lr={run['lr']!r}, "
           f"betas=({run['momentum']!r}, 0.999))" if run["optimizer"] == "adam" else
           f"torch.optim.SGD(model.parameters(), lr={run['lr']!r}, momentum={run['momentum']!r})")
    lines = ["import math" if _uses_math(spec) else "", "import torch",
             "from torch.optim import lr_scheduler", "",
             "torch.manual_seed(0)",
             "model = torch.nn.Linear(4, 1)  # stands in for your model",
             "x, y = torch.randn(16, 4), torch.randn(16, 1)  # and for your data",
             f"optimizer = {opt}", *_build_lines(spec, run, "scheduler"), "",
             f"epochs, steps_per_epoch = {run['epochs']}, {run['steps_per_epoch']}"]
    if kind == "ReduceLROnPlateau":
        values = simulate_metric(metric or {}, run["epochs"], spec["params"]["mode"])
        lines.append(f"val_metric = {values!r}  # the page's simulated validation curve")
    lines += ["lrs, momenta = [], []  # what each step trains with", *_loop(spec, run, mom),
              "", 'print(f"{len(lrs)} steps, first LRs {lrs[:3]}, last {lrs[-1]:.6g}")']
    return "\n".join(line for line in _drop_leading_blank(lines)) + "\n"


def _uses_math(spec: dict[str, Any]) -> bool:
    specs = [spec, *spec.get("children", [])]
    for s in specs:
        for p in PARAMS[s["kind"]]:
            if p.kind == "expr" and s["params"][p.name]:
                if "math." in compile_expr(s["params"][p.name], p.variables).python:
                    return True
    return False


def _drop_leading_blank(lines: list[str]) -> list[str]:
    return lines[1:] if lines and lines[0] == "" else lines


def _loop(spec: dict[str, Any], run: dict[str, Any], mom: str) -> list[str]:
    """The training loop, stepping the scheduler where the page does."""
    wrong = run["order"] == "scheduler_first" and spec["kind"] != "ReduceLROnPlateau"
    fractional = (spec["kind"] == "CosineAnnealingWarmRestarts" and run["step_every"] == "batch"
                  and spec["params"]["epoch_fraction"])
    if spec["kind"] == "ReduceLROnPlateau":
        step = "scheduler.step(val_metric[epoch])  # after validating the epoch"
    elif fractional:  # the position the NEXT batch trains at (before the batch: this one's)
        nxt = "batch" if wrong else "(batch + 1)"
        step = f"scheduler.step(epoch + {nxt} / steps_per_epoch)  # fractional epoch"
    else:
        step = "scheduler.step()"
    record = ["lrs.append(optimizer.param_groups[0][\"lr\"])",
              f"momenta.append(optimizer.param_groups[0]{mom})"]
    train = ["optimizer.zero_grad()",
             "loss = torch.nn.functional.mse_loss(model(x), y)", "loss.backward()",
             "optimizer.step()"]
    wrong_step = [f"{step}  # WRONG ORDER (as chosen on the page): torch warns"]
    if run["step_every"] == "batch":
        body = (wrong_step if wrong else []) + record + train + ([] if wrong else [step])
        return ["for epoch in range(epochs):", "    for batch in range(steps_per_epoch):",
                *("        " + b for b in body)]
    head = (wrong_step if wrong else []) + record
    return ["for epoch in range(epochs):", *("    " + b for b in head),
            "    for batch in range(steps_per_epoch):", *("        " + b for b in train),
            *([] if wrong else ["    " + step])]
