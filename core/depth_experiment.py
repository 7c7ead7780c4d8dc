"""What depth does to an activation: L x [Linear(W, W) -> activation], one batch forward+backward.

Per layer we measure what a learner would look at when a deep net does not train: the
distribution of activations, gradient sizes, how many units saturate (|f'(z)| small) and how
many are dead (f'(z) == 0 for every sample of the batch, so no gradient ever reaches them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from core.activation_specs import check_params
from core.activations import build_activation

INITS: dict[str, str] = {
    "default": "PyTorch default",
    "xavier_uniform": "Xavier uniform",
    "xavier_normal": "Xavier normal",
    "kaiming_uniform": "Kaiming uniform",
    "kaiming_normal": "Kaiming normal",
}
MAX_DEPTH, MAX_WIDTH, MAX_BATCH = 60, 512, 1024


@dataclass(frozen=True)
class DepthConfig:
    activation: str = "relu"
    params: tuple[tuple[str, float], ...] = ()  # a tuple so configs hash (for caching)
    depth: int = 20
    width: int = 128
    init: str = "default"
    scale: float = 1.0  # multiplies every initial weight: > 1 to see gradients explode
    xavier_gain: bool = False  # False: xavier_*_'s own default gain=1; True: calculate_gain
    batch: int = 128
    saturation: float = 0.05  # |f'(z)| below this counts as saturated
    seed: int = 0
    bins: int = 41

    def __post_init__(self) -> None:
        check_params(self.activation, dict(self.params))
        if self.init not in INITS:
            raise ValueError(f"Unknown init {self.init!r}; choose one of: {', '.join(INITS)}")
        if not 1 <= self.depth <= MAX_DEPTH:
            raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, got {self.depth}")
        if not 2 <= self.width <= MAX_WIDTH:
            raise ValueError(f"width must be between 2 and {MAX_WIDTH}, got {self.width}")
        if not 2 <= self.batch <= MAX_BATCH:
            raise ValueError(f"batch must be between 2 and {MAX_BATCH}, got {self.batch}")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError("the weight scale must be a positive number")
        if not self.saturation >= 0:
            raise ValueError("the saturation threshold must be >= 0")


@dataclass(frozen=True)
class DepthResult:
    config: DepthConfig
    nonlinearity: str  # what nn.init.calculate_gain is asked for (Kaiming, Xavier with gain)
    gain: float  # the gain the init used
    loss: float
    act_mean: tuple[float, ...]  # per layer (index 0 = layer 1), after the activation
    act_std: tuple[float, ...]
    grad_w_rms: tuple[float, ...]  # RMS of dL/dW of each Linear
    grad_h_rms: tuple[float, ...]  # RMS of dL/dh, h = the layer's output
    saturated: tuple[float, ...]  # share of (sample, unit) with |f'(z)| < saturation
    dead: tuple[float, ...]  # share of units with f'(z) == 0 for the whole batch
    bin_edges: tuple[float, ...] = field(default=())
    hist: tuple[tuple[float, ...], ...] = field(default=())  # per layer: share of values per bin

    @property
    def finite(self) -> bool:
        """False when activations or gradients overflowed float32."""
        return all(math.isfinite(v) for v in self.act_std + self.grad_w_rms + (self.loss,))


def gain_for(activation: str, params: dict[str, float]) -> tuple[str, float | None]:
    """The (nonlinearity, param) to give nn.init.calculate_gain for this activation.

    calculate_gain knows only linear, sigmoid, tanh, relu, leaky_relu and selu; every other
    activation gets 'linear' (gain 1). PReLU and RReLU start as leaky ReLUs with their slope.
    For SELU we follow the PyTorch docs: 'linear' (variance 1/fan_in) keeps it self-normalising.
    """
    p = check_params(activation, params)
    if activation in ("relu", "tanh", "sigmoid"):
        return activation, None
    if activation == "leaky_relu":
        return "leaky_relu", p["negative_slope"]
    if activation == "prelu":
        return "leaky_relu", p["init"]
    if activation == "rrelu":
        return "leaky_relu", (p["lower"] + p["upper"]) / 2
    return "linear", None


def build_stack(cfg: DepthConfig) -> nn.Sequential:
    """The network, initialised as `cfg` says (same seed, same weights)."""
    params = dict(cfg.params)
    with torch.random.fork_rng(devices=[]):  # seed locally; leave the global RNG as it was
        torch.default_generator.manual_seed(cfg.seed)  # (torch.manual_seed also queues CUDA)
        layers: list[nn.Module] = []
        for _ in range(cfg.depth):
            layers += [nn.Linear(cfg.width, cfg.width), build_activation(cfg.activation, **params)]
        model = nn.Sequential(*layers)
        for linear in model[::2]:
            _init(linear, cfg)
            with torch.no_grad():
                linear.weight.mul_(cfg.scale)
    return model


def init_gain(cfg: DepthConfig) -> float:
    """The gain the chosen init uses.

    PyTorch's default for nn.Linear is kaiming_uniform_(a=sqrt(5)), i.e. the leaky_relu gain
    with slope sqrt(5): sqrt(1/3), whatever the activation.
    """
    if cfg.init == "default":
        return nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    if cfg.init.startswith("xavier") and not cfg.xavier_gain:
        return 1.0
    return nn.init.calculate_gain(*gain_for(cfg.activation, dict(cfg.params)))


def _init(linear: nn.Linear, cfg: DepthConfig) -> None:
    if cfg.init == "default":
        return  # nn.Linear already did kaiming_uniform_(a=sqrt(5)) and a uniform bias
    nonlinearity, param = gain_for(cfg.activation, dict(cfg.params))
    if cfg.init == "xavier_uniform":
        nn.init.xavier_uniform_(linear.weight, gain=init_gain(cfg))
    elif cfg.init == "xavier_normal":
        nn.init.xavier_normal_(linear.weight, gain=init_gain(cfg))
    elif cfg.init == "kaiming_uniform":
        nn.init.kaiming_uniform_(linear.weight, a=param or 0.0, nonlinearity=nonlinearity)
    else:
        nn.init.kaiming_normal_(linear.weight, a=param or 0.0, nonlinearity=nonlinearity)
    nn.init.zeros_(linear.bias)  # the usual companion of an explicit weight init


def _histograms(values: torch.Tensor, bins: int) -> tuple[tuple, tuple]:
    """Shared bins over the middle 99% of all values; per layer, the share in each bin.

    values: (layers, n). Values outside the shared range are left out of the counts.
    """
    finite = values[torch.isfinite(values)]
    sample = finite[:: max(1, finite.numel() // 50_000)].double()  # quantiles of a subsample
    lo, hi = torch.quantile(sample, torch.tensor([0.005, 0.995], dtype=torch.float64)).tolist() \
        if sample.numel() else (0.0, 0.0)
    if hi - lo < 1e-12:  # e.g. every value 0: give the bins some width
        lo, hi = lo - 1.0, hi + 1.0
    # torch.histc ignores values outside [lo, hi] and nan; the last bin includes hi.
    hist = [(torch.histc(row.double(), bins, lo, hi) / row.numel()).tolist() for row in values]
    return tuple(np.linspace(lo, hi, bins + 1).tolist()), tuple(tuple(row) for row in hist)


def _per_layer(t: torch.Tensor, stat: str) -> tuple[float, ...]:
    """A statistic of each layer's slice of a (layers, ...) tensor, in float64."""
    flat = t.detach().reshape(t.shape[0], -1).double()
    if stat == "mean":
        return tuple(flat.mean(1).tolist())
    if stat == "std":
        return tuple(flat.std(1).tolist())
    return tuple(flat.square().mean(1).sqrt().tolist())


def _forward_backward(cfg: DepthConfig, with_slopes: bool):
    """Build, run the batch forward and the MSE loss backward; keep what the statistics need."""
    model = build_stack(cfg)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    x = torch.randn(cfg.batch, cfg.width, generator=gen)
    target = torch.randn(cfg.batch, cfg.width, generator=gen)
    pre, outs, h = [], [], x
    with torch.random.fork_rng(devices=[]):  # RReLU draws its slopes from the global RNG
        torch.default_generator.manual_seed(cfg.seed + 2)
        for linear, act in zip(model[::2], model[1::2], strict=True):
            z = linear(h)
            h = act(z)
            h.retain_grad()
            pre.append(z)
            outs.append(h)
    loss = nn.functional.mse_loss(h, target)
    slopes = None
    if with_slopes:
        # f'(z) per element, layer by layer through the same graph (so RReLU's random slopes
        # are the ones used). One call for all layers would add the paths through later layers.
        slopes = torch.stack([torch.autograd.grad(o, z, torch.ones_like(o), retain_graph=True)[0]
                              for o, z in zip(outs, pre, strict=True)])
    loss.backward()
    acts = torch.stack([o.detach() for o in outs])
    grads = torch.stack([lin.weight.grad for lin in model[::2]])
    return acts, grads, torch.stack([o.grad for o in outs]), slopes, loss.item()


def run_depth(cfg: DepthConfig) -> DepthResult:
    """One forward and backward pass of a batch through the stack (float32, training mode)."""
    acts, grads, act_grads, slopes, loss = _forward_backward(cfg, with_slopes=True)
    with torch.no_grad():
        edges, hist = _histograms(acts.reshape(cfg.depth, -1), cfg.bins)
        return DepthResult(
            config=cfg, nonlinearity=gain_for(cfg.activation, dict(cfg.params))[0],
            gain=init_gain(cfg), loss=loss,
            act_mean=_per_layer(acts, "mean"), act_std=_per_layer(acts, "std"),
            grad_w_rms=_per_layer(grads, "rms"), grad_h_rms=_per_layer(act_grads, "rms"),
            saturated=_per_layer((slopes.abs() < cfg.saturation).float(), "mean"),
            dead=_per_layer((slopes == 0).all(dim=1).float(), "mean"),
            bin_edges=edges, hist=hist,
        )


def depth_profile(cfg: DepthConfig) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Only the per-layer std of activations and RMS of dL/dW (cheap, for overlays)."""
    acts, grads, _, _, _ = _forward_backward(cfg, with_slopes=False)
    return _per_layer(acts, "std"), _per_layer(grads, "rms")
