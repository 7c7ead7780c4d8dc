"""Runnable PyTorch snippets for the activations page's current settings.

Each snippet uses plain torch only and reproduces what the page computes (same seeds and
order of random draws), so the tests run it and compare its numbers with core's.
"""

from __future__ import annotations

from core.activation_specs import check_params, label
from core.depth_experiment import DepthConfig, gain_for, init_gain
from core.prelu_demo import TASKS, PreluConfig

_MODULES = {
    "relu": "nn.ReLU()", "tanh": "nn.Tanh()", "sigmoid": "nn.Sigmoid()", "gelu": "nn.GELU()",
    "gelu_tanh": 'nn.GELU(approximate="tanh")', "silu": "nn.SiLU()", "selu": "nn.SELU()",
    "mish": "nn.Mish()", "hardswish": "nn.Hardswish()", "hardsigmoid": "nn.Hardsigmoid()",
    "relu6": "nn.ReLU6()", "softsign": "nn.Softsign()", "logsigmoid": "nn.LogSigmoid()",
    "tanhshrink": "nn.Tanhshrink()",
    "prelu": "nn.PReLU(init={init:g})",
    "leaky_relu": "nn.LeakyReLU(negative_slope={negative_slope:g})",
    "rrelu": "nn.RReLU(lower={lower:g}, upper={upper:g})",
    "elu": "nn.ELU(alpha={alpha:g})", "celu": "nn.CELU(alpha={alpha:g})",
    "softplus": "nn.Softplus(beta={beta:g}, threshold={threshold:g})",
    "hardtanh": "nn.Hardtanh(min_val={min_val:g}, max_val={max_val:g})",
    "softshrink": "nn.Softshrink(lambd={lambd:g})", "hardshrink": "nn.Hardshrink(lambd={lambd:g})",
    "threshold": "nn.Threshold(threshold={threshold:g}, value={value:g})",
}
_SWISH = '''

class Swish(nn.Module):
    """x * sigmoid(beta * x); torch has it only for beta = 1, as nn.SiLU."""

    def __init__(self, beta: float) -> None:
        super().__init__()
        self.beta = beta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.beta * x)
'''


def module_code(name: str, params: dict[str, float] | None = None) -> str:
    """The expression that builds this activation with these parameters, e.g. nn.ELU(alpha=2)."""
    p = check_params(name, params or {})
    if name == "swish":
        return "nn.SiLU()" if p["beta"] == 1.0 else f"Swish(beta={p['beta']:g})"
    return _MODULES[name].format(**p)


def _needs_swish(names: list[str], params: dict[str, dict[str, float]]) -> bool:
    return any(module_code(n, params.get(n)).startswith("Swish") for n in names)


def functions_snippet(names: list[str], params: dict[str, dict[str, float]], lo: float,
                      hi: float, x0: float, n: int = 801) -> str:
    """f and f' by autograd on a grid, and at the probe x0, for each activation."""
    entries = "\n".join(f"    {label(nm)!r}: {module_code(nm, params.get(nm))},"
                        for nm in names)
    swish = _SWISH if _needs_swish(names, params) else ""
    return f'''import torch
from torch import nn{swish}

activations = {{
{entries}
}}
x = torch.linspace({lo:g}, {hi:g}, {n}, dtype=torch.float64, requires_grad=True)
results = {{}}
for name, f in activations.items():
    f = f.double().eval()  # float64; eval: RReLU uses its mean slope (lower + upper) / 2
    y = f(x)
    (dy,) = torch.autograd.grad(y.sum(), x)  # elementwise f, so this is f'(x) at each x
    x0 = torch.tensor([{x0:g}], dtype=torch.float64, requires_grad=True)
    y0 = f(x0)
    y0.sum().backward()  # at a kink autograd returns one subgradient
    results[name] = (y0.item(), x0.grad.item())
    print(f"{{name:>20}}: f({{x0.item():g}}) = {{y0.item():.4f}}   f'= {{x0.grad.item():.4f}}")
'''


def _init_lines(cfg: DepthConfig) -> str:
    nonlinearity, param = gain_for(cfg.activation, dict(cfg.params))
    a = f", a={param:g}" if param is not None else ""
    if cfg.init == "default":
        return "    pass  # keep nn.Linear's own init: kaiming_uniform_(a=sqrt(5)), uniform bias\n"
    if cfg.init.startswith("xavier"):
        arg = f", {param:g}" if param is not None else ""
        gain = f'nn.init.calculate_gain("{nonlinearity}"{arg})' if cfg.xavier_gain else "1.0"
        call = f"nn.init.{cfg.init}_(linear.weight, gain={gain})  # gain = {init_gain(cfg):.4g}"
    else:
        call = f'nn.init.{cfg.init}_(linear.weight{a}, nonlinearity="{nonlinearity}")'
    return f"    {call}\n    nn.init.zeros_(linear.bias)\n"


def depth_snippet(cfg: DepthConfig) -> str:
    """The depth experiment in plain torch: same seeds, same numbers as the page."""
    act = module_code(cfg.activation, dict(cfg.params))
    swish = _SWISH if act.startswith("Swish") else ""
    scale = (f"    with torch.no_grad():\n        linear.weight.mul_({cfg.scale:g})\n"
             if cfg.scale != 1.0 else "")
    return f'''import torch
from torch import nn{swish}

L, W, batch = {cfg.depth}, {cfg.width}, {cfg.batch}
torch.manual_seed({cfg.seed})
model = nn.Sequential(*[m for _ in range(L) for m in (nn.Linear(W, W), {act})])
for linear in model[::2]:
{_init_lines(cfg)}{scale}
gen = torch.Generator().manual_seed({cfg.seed + 1})
x, target = torch.randn(batch, W, generator=gen), torch.randn(batch, W, generator=gen)
torch.manual_seed({cfg.seed + 2})  # (RReLU draws random slopes in training mode)
h, outs = x, []
for linear, act in zip(model[::2], model[1::2]):
    z = linear(h)
    h = act(z)
    h.retain_grad()  # keep dL/dh of this hidden layer
    slope = torch.autograd.grad(h, z, torch.ones_like(h), retain_graph=True)[0]  # f'(z)
    outs.append((h, slope))
loss = nn.functional.mse_loss(h, target)
loss.backward()
stds, grads = [], []
for i, (linear, (h, slope)) in enumerate(zip(model[::2], outs), start=1):
    stds.append(h.std().item())
    grads.append(linear.weight.grad.pow(2).mean().sqrt().item())
    saturated = (slope.abs() < {cfg.saturation:g}).float().mean().item()
    dead = (slope == 0).all(dim=0).float().mean().item()
    print(f"layer {{i:2d}}: std(h) {{stds[-1]:.3g}}  rms(dL/dW) {{grads[-1]:.3g}}  "
          f"saturated {{saturated:.0%}}  dead {{dead:.0%}}")
'''


def prelu_snippet(cfg: PreluConfig) -> str:
    """The PReLU training in plain torch: same data, same slopes as the page."""
    slope = TASKS[cfg.task][1]
    target = ("nn.functional.softplus(x)" if slope is None
              else f"nn.functional.prelu(x, torch.tensor([{float(slope)!r}]))")
    return f'''import math

import torch
from torch import nn

gen = torch.Generator().manual_seed({cfg.seed})
x = torch.rand({cfg.n}, generator=gen) * 6 - 3  # inputs on [-3, 3]
y = {target} + {cfg.noise:g} * torch.randn({cfg.n}, generator=gen)  # {TASKS[cfg.task][0]}

model = nn.PReLU(init={cfg.init:g})  # one learnable slope a
opt = torch.optim.SGD(model.parameters(), lr={cfg.lr:g})
slopes = []
for step in range({cfg.steps} + 1):
    loss = nn.functional.mse_loss(model(x), y)
    slopes.append(model.weight.item())
    if not (math.isfinite(loss.item()) and abs(slopes[-1]) < 1e6):
        print(f"diverged after {{step}} steps: the learning rate is above 2 / curvature")
        break
    if step == {cfg.steps}:
        break
    opt.zero_grad()
    loss.backward()  # only x < 0 contributes to dL/da
    opt.step()
neg = x < 0
print(f"learned a = {{slopes[-1]:.4f}}; least-squares a* = "
      f"{{((x[neg] * y[neg]).sum() / (x[neg] ** 2).sum()).item():.4f}}")
'''
