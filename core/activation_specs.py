"""What the activations page offers: display names and each activation's parameters.

One entry per name of `core.activations.ACTIVATION_BUILDERS`; the page generates its controls
from `ParamSpec`, and `check_params` refuses values the torch module would reject or misuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ParamSpec:
    name: str  # the keyword the builder takes
    label: str
    default: float
    lo: float
    hi: float
    step: float
    help: str = ""


@dataclass(frozen=True)
class ActivationSpec:
    name: str  # registry key
    label: str  # what learners read
    params: tuple[ParamSpec, ...] = ()
    note: str = ""  # one true sentence worth knowing


def _p(name: str, label: str, default: float, lo: float, hi: float, step: float,
       help: str = "") -> ParamSpec:
    return ParamSpec(name, label, default, lo, hi, step, help)


_SLOPE = "Slope for x < 0."
ACTIVATION_SPECS: dict[str, ActivationSpec] = {s.name: s for s in (
    ActivationSpec("relu", "ReLU", note="Outputs exactly 0 for every x < 0: sparse, not "
                   "zero-centred."),
    ActivationSpec("tanh", "Tanh", note="Zero-centred and smooth, but saturates: f' -> 0 "
                   "for large |x|."),
    ActivationSpec("sigmoid", "Sigmoid", note="Outputs in (0, 1), never zero-centred; "
                   "f' is at most 0.25."),
    ActivationSpec("gelu", "GELU (exact, erf)", note="x times the standard normal CDF."),
    ActivationSpec("gelu_tanh", "GELU (tanh approx.)",
                   note="nn.GELU(approximate='tanh'): within 5e-4 of the exact GELU everywhere."),
    ActivationSpec("swish", "Swish (beta)", (
        _p("beta", "beta", 1.0, 0.0, 10.0, 0.1,
           "beta = 1 is nn.SiLU; beta = 0 gives x/2; large beta approaches ReLU."),),
        note="Not a torch module: written as x * sigmoid(beta * x); beta = 1 is nn.SiLU."),
    ActivationSpec("silu", "SiLU", note="Swish with beta = 1."),
    ActivationSpec("prelu", "PReLU", (
        _p("init", "a (slope for x < 0)", 0.25, -1.0, 1.0, 0.05,
           "PReLU learns a during training; 0.25 is torch's initial value."),),
        note="Like LeakyReLU, but the slope a is a learnable parameter."),
    ActivationSpec("leaky_relu", "LeakyReLU", (
        _p("negative_slope", "negative_slope", 0.01, 0.0, 1.0, 0.01, _SLOPE),),
        note="A small slope for x < 0 keeps units from dying."),
    ActivationSpec("rrelu", "RReLU (eval)", (
        _p("lower", "lower", 0.125, 0.0, 1.0, 0.005, "Lowest random slope (training)."),
        _p("upper", "upper", 1 / 3, 0.0, 1.0, 0.005, "Highest random slope (training).")),
        note="In training the slope for x < 0 is drawn from U(lower, upper) per element; "
             "in eval mode (shown) it is (lower + upper) / 2."),
    ActivationSpec("elu", "ELU", (
        _p("alpha", "alpha", 1.0, 0.1, 3.0, 0.1, "Saturation value -alpha for x -> -inf."),),
        note="Smooth negative side saturating at -alpha; kink at 0 unless alpha = 1."),
    ActivationSpec("selu", "SELU", note="Fixed lambda, alpha chosen so N(0, 1) inputs keep "
                   "mean 0 and variance 1 (self-normalising)."),
    ActivationSpec("celu", "CELU", (
        _p("alpha", "alpha", 1.0, 0.1, 3.0, 0.1, "Saturation value -alpha for x -> -inf."),),
        note="ELU rescaled so that f' is continuous at 0 for every alpha."),
    ActivationSpec("softplus", "Softplus", (
        _p("beta", "beta", 1.0, 0.5, 10.0, 0.1, "Sharpness: large beta approaches ReLU."),
        _p("threshold", "threshold", 20.0, 1.0, 50.0, 1.0,
           "Above beta*x > threshold torch returns x itself (for numerical stability).")),
        note="A smooth ReLU; with a small threshold torch's linear switch-over shows as a jump."),
    ActivationSpec("mish", "Mish", note="x * tanh(softplus(x)): smooth, slightly negative "
                   "dip, not monotonic."),
    ActivationSpec("hardswish", "Hardswish", note="A piecewise-quadratic Swish for mobile "
                   "networks."),
    ActivationSpec("hardsigmoid", "Hardsigmoid", note="A piecewise-linear sigmoid: exactly 0 "
                   "below -3 and 1 above 3."),
    ActivationSpec("relu6", "ReLU6", note="ReLU clipped at 6."),
    ActivationSpec("hardtanh", "Hardtanh", (
        _p("min_val", "min_val", -1.0, -5.0, 5.0, 0.5, "Lower clip value."),
        _p("max_val", "max_val", 1.0, -5.0, 5.0, 0.5, "Upper clip value.")),
        note="Clamps x to [min_val, max_val]; f' is exactly 0 outside."),
    ActivationSpec("softsign", "Softsign", note="Like tanh but its tails approach +-1 "
                   "polynomially, not exponentially."),
    ActivationSpec("logsigmoid", "LogSigmoid", note="log(sigmoid(x)): always negative."),
    ActivationSpec("tanhshrink", "Tanhshrink", note="x - tanh(x): flat near 0, linear far out."),
    ActivationSpec("softshrink", "Softshrink", (
        _p("lambd", "lambda", 0.5, 0.0, 3.0, 0.05, "Half-width of the dead zone [-lambda, lambda]."),),
        note="Shrinks x towards 0 by lambda; exactly 0 inside [-lambda, lambda]."),
    ActivationSpec("hardshrink", "Hardshrink", (
        _p("lambd", "lambda", 0.5, 0.0, 3.0, 0.05, "Half-width of the dead zone [-lambda, lambda]."),),
        note="Keeps x where |x| > lambda, else 0: f itself jumps at +-lambda."),
    ActivationSpec("threshold", "Threshold", (
        _p("threshold", "threshold", 0.0, -5.0, 5.0, 0.5, "x at or below this is replaced."),
        _p("value", "value", 0.0, -5.0, 5.0, 0.5, "What x <= threshold becomes.")),
        note="y = x if x > threshold else value; with threshold = value = 0 it is ReLU."),
)}

# Activations torch offers that are not elementwise, so they have no curve f(x).
NOT_ELEMENTWISE = ("GLU (halves the input)", "Softmax", "Softmin", "LogSoftmax",
                   "MultiheadAttention")


def label(name: str) -> str:
    """The display name of an activation."""
    return ACTIVATION_SPECS[name].label if name in ACTIVATION_SPECS else name


def default_params(name: str) -> dict[str, float]:
    """Each parameter of `name` at its default."""
    return {p.name: p.default for p in spec(name).params}


def spec(name: str) -> ActivationSpec:
    """The spec of `name` (ValueError listing the valid names)."""
    try:
        return ACTIVATION_SPECS[name]
    except KeyError:
        valid = ", ".join(ACTIVATION_SPECS)
        raise ValueError(f"Unknown activation {name!r}; choose one of: {valid}") from None


def check_params(name: str, params: dict[str, Any]) -> dict[str, float]:
    """Validated float parameters for `name`: unknown keys and impossible values are refused."""
    known = {p.name: p for p in spec(name).params}
    extra = set(params) - set(known)
    if extra:
        raise ValueError(f"{label(name)} has no parameter {sorted(extra)[0]!r}")
    out = {**default_params(name), **{k: float(v) for k, v in params.items()}}
    for key, value in out.items():
        if value != value or abs(value) == float("inf"):
            raise ValueError(f"{known[key].label} must be a finite number")
    if name in ("softshrink", "hardshrink") and out["lambd"] < 0:
        raise ValueError("lambda must be >= 0")
    if name in ("elu", "celu") and out["alpha"] <= 0:
        raise ValueError("alpha must be > 0")
    if name == "hardtanh" and out["min_val"] >= out["max_val"]:
        raise ValueError("min_val must be smaller than max_val")
    if name == "rrelu" and not 0 <= out["lower"] <= out["upper"]:
        raise ValueError("RReLU needs 0 <= lower <= upper")
    if name == "softplus" and out["beta"] <= 0:
        raise ValueError("Softplus beta must be > 0")
    return out
