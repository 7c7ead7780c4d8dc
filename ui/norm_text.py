"""Words for the normalisation page: each layer's formula (LaTeX) and the runnable snippet.

Pure string builders (no streamlit), so tests can exec the snippet and compare its numbers
with core's.
"""

from __future__ import annotations

from core.norm_axes import NormSpec, param_index
from core.norm_stats import InputDist

# layer -> (statistic subscript, summation indices, element count, gamma subscript)
_SETS = {
    ("BatchNorm1d", "features"): ("chw", "n", "N", "chw"),
    ("BatchNorm1d", "sequence"): ("c", "n,l", "NL", "c"),
    "BatchNorm2d": ("c", "n,h,w", "NHW", "c"),
    "InstanceNorm2d": ("nc", "h,w", "HW", "c"),
    "GroupNorm": ("ng", "c \\in g,\\,h,w", "\\frac{C}{G}HW", "c"),
    "C,H,W": ("n", "c,h,w", "CHW", "chw"),
    "H,W": ("nc", "h,w", "HW", "hw"),
    "W": ("nch", "w", "W", "w"),
    "C (channels last)": ("nhw", "c", "C", "c"),
}


def _set_key(spec: NormSpec) -> tuple[str, str] | str:
    if spec.layer == "BatchNorm1d":
        return (spec.layer, spec.bn1d_view)
    return spec.normalized if spec.layer in ("LayerNorm", "RMSNorm") else spec.layer


def formula(spec: NormSpec) -> str:
    """LaTeX for the layer as configured: statistics, then the output."""
    s, idx, count, g = _SETS[_set_key(spec)]
    x = "x_{nchw}"
    gamma, beta = (f"\\gamma_{{{g}}}\\,", f" + \\beta_{{{g}}}") if spec.affine else ("", "")
    if spec.layer == "RMSNorm":
        return (f"\\mathrm{{RMS}}_{{{s}}} = \\sqrt{{\\frac{{1}}{{{count}}}\\sum_{{{idx}}} "
                f"{x}^2 + \\epsilon}} \\qquad y_{{nchw}} = {gamma}\\frac{{{x}}}"
                f"{{\\mathrm{{RMS}}_{{{s}}}}}")
    if spec.uses_running_stats:
        return (f"y_{{nchw}} = {gamma}\\frac{{{x} - \\hat\\mu_{{{g}}}}}{{\\sqrt{{\\hat\\sigma^2_"
                f"{{{g}}} + \\epsilon}}}}{beta} \\qquad \\hat\\mu,\\ \\hat\\sigma^2 = "
                "\\texttt{running\\_mean},\\ \\texttt{running\\_var}")
    return (f"\\mu_{{{s}}} = \\frac{{1}}{{{count}}}\\sum_{{{idx}}} {x} \\qquad "
            f"\\sigma^2_{{{s}}} = \\frac{{1}}{{{count}}}\\sum_{{{idx}}} ({x} - \\mu_{{{s}}})^2"
            f" \\qquad y_{{nchw}} = {gamma}\\frac{{{x} - \\mu_{{{s}}}}}"
            f"{{\\sqrt{{\\sigma^2_{{{s}}} + \\epsilon}}}}{beta}")


RUNNING_FORMULA = (
    r"\hat\mu \leftarrow (1 - m)\,\hat\mu + m\,\mu_B \qquad "
    r"\hat\sigma^2 \leftarrow (1 - m)\,\hat\sigma^2 + m\,\frac{M}{M - 1}\,\sigma^2_B"
    r"\qquad (m = \texttt{None}:\ \hat\mu_t = \tfrac{1}{t}\textstyle\sum_{s \le t} \mu_{B_s})")


# ---- the snippet ------------------------------------------------------------------------------
def _layer_code(spec: NormSpec) -> str:
    eps = "None" if spec.eps is None else f"{spec.eps:g}"
    mom = "None" if spec.momentum is None else f"{spec.momentum:g}"
    if spec.layer in ("BatchNorm1d", "BatchNorm2d", "InstanceNorm2d"):
        feats = "C * H * W" if spec.layer == "BatchNorm1d" and spec.bn1d_view == "features" \
            else "C"
        return (f"nn.{spec.layer}({feats}, eps={eps}, momentum={mom}, affine={spec.affine}, "
                f"track_running_stats={spec.track_running_stats})")
    if spec.layer == "GroupNorm":
        return f"nn.GroupNorm({spec.groups}, C, eps={eps}, affine={spec.affine})"
    shape = {"C,H,W": "[C, H, W]", "H,W": "[H, W]", "W": "[W]",
             "C (channels last)": "[C]"}[spec.normalized]
    return f"nn.{spec.layer}({shape}, eps={eps}, elementwise_affine={spec.affine})"


def _views(spec: NormSpec) -> tuple[str, str]:
    """(how x is passed to the layer, how the output is turned back into N, C, H, W)."""
    if spec.layer == "BatchNorm1d":
        flat = "flatten(1)" if spec.bn1d_view == "features" else "flatten(2)"
        return f"x.{flat}", ".view(N, C, H, W)"
    if spec.layer in ("LayerNorm", "RMSNorm") and spec.normalized == "C (channels last)":
        return "x.permute(0, 2, 3, 1)", ".permute(0, 3, 1, 2)"
    return "x", ""


def _members(spec: NormSpec, idx: tuple[int, int, int, int]) -> str:
    n, c, h, w = idx
    if spec.layer == "BatchNorm1d":
        return f"x[:, {c}, {h}, {w}]" if spec.bn1d_view == "features" else f"x[:, {c}]"
    if spec.layer == "GroupNorm":
        size = spec.c // spec.groups
        lo = c // size * size
        return f"x[{n}, {lo}:{lo + size}]"
    if spec.layer in ("LayerNorm", "RMSNorm"):
        return {"C,H,W": f"x[{n}]", "H,W": f"x[{n}, {c}]", "W": f"x[{n}, {c}, {h}]",
                "C (channels last)": f"x[{n}, :, {h}, {w}]"}[spec.normalized]
    return {"BatchNorm2d": f"x[:, {c}]", "InstanceNorm2d": f"x[{n}, {c}]"}[spec.layer]


def code(spec: NormSpec, dist: InputDist, idx: tuple[int, int, int, int], batch: int,
         steps: int) -> str:
    """A runnable script: the input, the layer, the worked example and the check."""
    n, c, h, w = idx
    into, back = _views(spec)
    p = param_index(spec, idx)
    p_txt = ", ".join(map(str, p))
    lines = [
        "import torch", "from torch import nn", "",
        f"N, C, H, W = {spec.n}, {spec.c}, {spec.h}, {spec.w}", "", "",
        "def make_input(n, seed):",
        f'    """Channel c ~ N({dist.shift:g} * c, (1 + {dist.spread:g} * c)^2), plus '
        'outliers."""',
        "    g = torch.Generator().manual_seed(seed)",
        "    ch = torch.arange(C).view(1, C, 1, 1)",
        f"    x = torch.randn(n, C, H, W, generator=g) * (1 + {dist.spread!r} * ch) + "
        f"{dist.shift!r} * ch",
        f"    hit = torch.rand(n, C, H, W, generator=g) < {dist.outlier_frac!r}",
        "    sign = torch.randint(0, 2, (n, C, H, W), generator=g) * 2 - 1",
        f"    return x + hit * sign * {dist.outlier_size!r}", "", "",
        f"x = make_input(N, seed={dist.seed})",
        f"layer = {_layer_code(spec)}",
    ]
    if spec.random_affine and spec.affine:
        lines += [f"g = torch.Generator().manual_seed({spec.seed})  # gamma, beta as if trained",
                  "with torch.no_grad():", "    layer.weight.uniform_(0.5, 1.5, generator=g)"]
        if spec.layer != "RMSNorm":
            lines += ["    layer.bias.normal_(0.0, 0.5, generator=g)"]
    if spec.uses_running_stats:
        lines += ["with torch.no_grad():  # training steps fill running_mean / running_var",
                  f"    for xb in make_input({batch * steps}, seed={dist.seed + 1})"
                  f".split({batch}):",
                  f"        layer({into.replace('x', 'xb', 1)})",
                  "layer.eval()  # from now on: the running statistics, not the batch's"]
    lines += [f"y = layer({into}){back}", "", f"# The worked example for x[{n}, {c}, {h}, {w}]"]
    eps = "torch.finfo(x.dtype).eps" if spec.eps is None else f"{spec.eps!r}"
    lines += [f"eps = {eps}"]
    if spec.uses_running_stats:
        lines += [f"mu, var = layer.running_mean[{p_txt}], layer.running_var[{p_txt}]"]
    elif spec.layer == "RMSNorm":
        lines += [f"members = {_members(spec, idx)}  # the elements sharing its statistic",
                  "mean_sq = members.pow(2).mean()"]
    else:
        lines += [f"members = {_members(spec, idx)}  # the elements sharing its statistics",
                  "mu, var = members.mean(), members.var(unbiased=False)  # biased, as in training"]
    if spec.layer == "RMSNorm":
        lines += [f"x_hat = x[{n}, {c}, {h}, {w}] / torch.sqrt(mean_sq + eps)"]
    else:
        lines += [f"x_hat = (x[{n}, {c}, {h}, {w}] - mu) / torch.sqrt(var + eps)"]
    gamma = f"layer.weight[{p_txt}]" if spec.affine else "1.0"
    beta = f"layer.bias[{p_txt}]" if spec.affine and spec.layer != "RMSNorm" else "0.0"
    affine = f"{gamma} * x_hat" + ("" if beta == "0.0" else f" + {beta}")
    if not spec.affine:
        affine = "x_hat  # affine=False: no gamma, no beta"
    lines += [f"manual = {affine}", f"real = y[{n}, {c}, {h}, {w}]",
              'print(f"manual {manual.item():.6f}   layer {real.item():.6f}")',
              "assert torch.allclose(manual, real, atol=1e-4)"]
    return "\n".join(lines) + "\n"


# ---- tables -----------------------------------------------------------------------------------
def _f(v: float | None) -> str:
    return "—" if v is None else f"{v:.6g}"


def example_table(we, spec: NormSpec) -> str:
    """Markdown: the worked example by hand next to the real layer's numbers."""
    n, c, h, w = we.idx
    real = f"nn.{spec.layer}"
    stats = ("running_mean / running_var" if we.stats_from == "running" else "torch's kernel")
    var_kernel = we.kernel_rstd ** -2 - we.eps
    rows = [("elements in the set", f"{we.members}", "same set found by autograd"
             if we.probe_agrees else "**autograd found a different set**"),
            (f"x[{n}, {c}, {h}, {w}]", _f(we.x), "")]
    if spec.layer == "RMSNorm":
        rows += [("mean of x² over the set", _f(we.var), f"{_f(var_kernel)} ({stats})")]
    else:
        label = "μ (running_mean)" if we.stats_from == "running" else "μ (mean of the set)"
        var = ("σ² (running_var)" if we.stats_from == "running"
               else "σ² (biased: divide by the count)")
        rows += [(label, _f(we.mu), f"{_f(we.kernel_mu)} ({stats})"),
                 (var, _f(we.var), f"{_f(var_kernel)} ({stats})")]
    rows += [("ε", _f(we.eps), ""),
             ("1 / √(σ² + ε)" if spec.layer != "RMSNorm" else "1 / √(mean x² + ε)",
              _f(we.rstd), f"{_f(we.kernel_rstd)} ({stats})"),
             ("x̂ (normalised)", _f(we.x_hat), ""),
             ("γ", _f(we.gamma), "weight" if spec.affine else "affine=False: 1"),
             ("β", _f(we.beta), "bias" if spec.affine and spec.layer != "RMSNorm"
              else "none: 0"),
             ("**y = γ·x̂ + β**", f"**{_f(we.manual)}**", f"**{_f(we.real)}** ({real} output)"),
             ("difference", f"{we.error:.2g}", "")]
    lines = ["| quantity | by hand | the real layer |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c_} |" for a, b, c_ in rows]
    return "\n".join(lines)


def layernorm_table(r: dict) -> str:
    """Markdown: GroupNorm(1, C) against LayerNorm([C, H, W])."""
    return "\n".join([
        "| | GroupNorm(1, C) | LayerNorm([C, H, W]) |", "|---|---|---|",
        f"| weight / bias shape | {r['gn_weight_shape']} | {r['ln_weight_shape']} |",
        f"| learnable parameters | {r['gn_params']} | {r['ln_params']} |", "",
        f"- Fresh layers (γ = 1, β = 0): outputs differ by at most {r['diff_fresh']:.2g}: the "
        "same normalisation.",
        f"- GroupNorm's per-channel γ, β copied into LayerNorm (repeated over H, W): at most "
        f"{r['diff_copied']:.2g}. LayerNorm can do everything GroupNorm(1, C) does.",
        f"- LayerNorm with a different γ, β for every element: the *best* per-channel γ, β "
        f"(least squares) still misses by RMS {r['fit_residual_rms']:.3g} (the output's RMS is "
        f"{r['target_rms']:.3g}). " + (
            "GroupNorm(1, C) cannot do what LayerNorm does." if r["fit_residual_rms"]
            > 1e-4 * max(r["target_rms"], 1e-12) else "With this few values per channel a "
            "per-channel γ, β happens to fit; make H·W larger to see the difference.")])


def instancenorm_table(r: dict) -> str:
    """Markdown: GroupNorm(C, C) against InstanceNorm2d."""
    return "\n".join([
        "| GroupNorm(C, C) with random γ, β against ... | max \\|difference\\| |", "|---|---|",
        f"| InstanceNorm2d(C, affine=True), same γ, β | {r['diff_affine']:.2g} |",
        f"| InstanceNorm2d(C) (affine=False) · γ[:, None, None] + β[:, None, None] | "
        f"{r['diff_plain_plus_affine']:.2g} |",
        f"| InstanceNorm2d(C) alone (no affine) | {r['diff_plain_no_affine']:.3g} |",
        f"| InstanceNorm2d(C, affine=True, track_running_stats=True) in eval mode | "
        f"{r['diff_tracked_eval']:.3g} |"])


def stats_table(names: list[str], s: dict) -> str:
    """Markdown: per channel (or group) mean and std of x and of the layer's output y."""
    def f4(v: float) -> str:  # float32 leaves a mean of ±1e-8: that is 0.0000, not -0.0000
        return f"{round(v, 4) + 0.0:.4f}"

    lines = ["| | mean of x | std of x | mean of y | std of y |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {f4(s['mean_in'][i])} | {f4(s['std_in'][i])} | "
              f"{f4(s['mean_out'][i])} | {f4(s['std_out'][i])} |" for i, name in enumerate(names)]
    return "\n".join(lines)


def batch_one_table(rows: list[dict]) -> str:
    """Markdown: what torch does with a batch of one, case by case."""
    lines = ["| layer and mode | input shape | what torch did |", "|---|---|---|"]
    for r in rows:
        result = (f"ValueError: *{r['error']}*" if r["error"]
                  else f"works (output std {r['out_std']:.3f})")
        lines.append(f"| {r['case']} | {tuple(r['input'])} | {result} |")
    return "\n".join(lines)


def single_value_fix(spec: NormSpec, batch: int) -> str:
    """What to change when torch refuses a statistic over one value ("Expected more than 1").

    The fix depends on which call failed: the layer on the batch (train mode, or eval without
    running statistics) or the warm-up batches of `batch` that fill the running statistics.
    """
    n, _, h, w = spec.shape
    raise_batch = "raise *Batch size of those steps* (sidebar)"
    if spec.layer == "InstanceNorm2d":
        return ("InstanceNorm2d normalises each sample's channel over H×W, in train and eval "
                f"mode alike, and H·W = {h * w} here: make H·W > 1.")
    features = spec.layer == "BatchNorm1d" and spec.bn1d_view == "features"
    if spec.uses_running_stats:  # the warm-up batches failed, not the batch shown
        return (f"Eval mode uses running statistics trained on warm-up batches of {batch}: "
                + (f"{raise_batch} to 2 or more." if features else
                   f"batch·H·W = {batch * h * w}; {raise_batch} or H·W so that it is above 1."))
    if features:
        return (f"BatchNorm1d on x.flatten(1) normalises each feature over the batch alone: set "
                f"N ≥ 2 (now {n}), or use eval mode with running statistics.")
    return (f"{spec.layer} normalises each channel over N·H·W = {n * h * w} values: make "
            "N·H·W > 1, or use eval mode with running statistics.")
