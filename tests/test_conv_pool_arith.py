"""Pooling, adaptive pooling and upsampling: formula == real layer == picture, explanations
exactly when PyTorch raises, and the window / coordinate rules checked against torch's numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from core.conv_visual import avg_divisors, pool_grid, read_mask
from core.pool_arith import (
    AdaptiveSpec,
    PoolSpec,
    adaptive_report,
    adaptive_windows,
    pool_out_shape,
    pool_problems,
    pool_report,
)
from core.size_report import apply_fix
from core.upsample_arith import (
    MODES,
    UpsampleSpec,
    source_coords,
    upsample_out_shape,
    upsample_problems,
    upsample_report,
)
from tests.test_conv_arith import run_snippet

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def pool_specs(draw) -> PoolSpec:
    kind = draw(st.sampled_from(["max", "avg"]))
    pair = lambda s: (draw(s), draw(s))  # noqa: E731
    return PoolSpec(kind, size=pair(st.integers(1, 10)), kernel=pair(st.integers(1, 6)),
                    stride=pair(st.integers(1, 4)), padding=pair(st.integers(0, 3)),
                    dilation=pair(st.integers(1, 3)) if kind == "max" else (1, 1),
                    ceil_mode=draw(st.booleans()), count_include_pad=draw(st.booleans()),
                    channels=draw(st.integers(1, 3)))


def torch_pool(spec: PoolSpec, x: torch.Tensor):
    if spec.kind == "max":
        return nn.MaxPool2d(spec.kernel, spec.stride, spec.padding, spec.dilation,
                            ceil_mode=spec.ceil_mode)(x)
    return nn.AvgPool2d(spec.kernel, spec.stride, spec.padding, spec.ceil_mode,
                        spec.count_include_pad)(x)


@SETTINGS
@given(pool_specs())
def test_pool_explanation_exactly_when_torch_raises(spec):
    try:
        real = tuple(torch_pool(spec, torch.zeros(1, spec.channels, *spec.size)).shape)
    except RuntimeError:
        real = None
    problems = pool_problems(spec)
    assert (real is None) == bool(problems), (spec, real, [str(p) for p in problems])
    if real is not None:
        assert pool_out_shape(spec) == real == (1, spec.channels, *pool_grid(spec).out_shape)


@SETTINGS
@given(pool_specs())
def test_pool_fixes_repair_their_rule(spec):
    for problem in pool_problems(spec):
        for fix in problem.fixes:
            assert problem.rule not in {p.rule for p in pool_problems(apply_fix(spec, fix))}


@SETTINGS
@given(pool_specs())
def test_avg_divisors_match_torch(spec):
    if spec.kind != "avg" or pool_problems(spec):
        return
    divisor, real = avg_divisors(spec)
    ones = torch_pool(spec, torch.ones(1, 1, *spec.size))[0, 0].double().numpy()
    np.testing.assert_allclose(ones, real / divisor, rtol=1e-6)


@SETTINGS
@given(pool_specs())
def test_max_pool_picks_inside_the_window_the_picture_shows(spec):
    if spec.kind != "max" or pool_problems(spec):
        return
    x = torch.randn(1, 1, *spec.size)
    _, idx = F.max_pool2d(x, spec.kernel, spec.stride, spec.padding, spec.dilation,
                          ceil_mode=spec.ceil_mode, return_indices=True)
    grid = pool_grid(spec)
    for i in range(grid.rows.out):
        for j in range(grid.cols.out):
            mask = read_mask(grid, i, j)
            if mask.any():
                assert mask.reshape(-1)[int(idx[0, 0, i, j])]


def test_ceil_mode_drops_a_window_starting_in_the_right_padding():
    spec = PoolSpec("max", (5, 5), (2, 2), (2, 2), (1, 1), ceil_mode=True)
    report = pool_report(spec)
    assert report.agree and report.out_shape == (1, 1, 3, 3)  # ceil gives 4, rule drops one
    assert "dropped" in report.steps[0].post[0]
    assert pool_grid(spec).out_shape == (3, 3)


def test_pool_padding_message():
    report = pool_report(PoolSpec("avg", (6, 6), (3, 3), (1, 1), (2, 0)))
    text = str(report.problems[0])
    assert report.torch_error and "at most half the kernel" in text
    assert "padding height → 1" in text and "kernel height → 4" in text


def test_pool_snippet_runs():
    spec = PoolSpec("avg", (7, 9), (3, 2), (2, 2), (1, 1), ceil_mode=True,
                    count_include_pad=False, channels=2)
    assert run_snippet(pool_report.__globals__["pool_code"](spec)).strip() == \
        str(pool_out_shape(spec))


# --------------------------------------------------------------------------- adaptive
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 9), st.integers(1, 9))
def test_adaptive_windows_reproduce_torch(h, w, oh, ow):
    x = torch.randn(1, 1, h, w, dtype=torch.float64)
    avg = F.adaptive_avg_pool2d(x, (oh, ow))[0, 0]
    mx = F.adaptive_max_pool2d(x, (oh, ow))[0, 0]
    for i, (r0, r1) in enumerate(adaptive_windows(h, oh)):
        for j, (c0, c1) in enumerate(adaptive_windows(w, ow)):
            window = x[0, 0, r0:r1, c0:c1]
            assert torch.isclose(avg[i, j], window.mean())
            assert mx[i, j] == window.max()
    report = adaptive_report(AdaptiveSpec("avg", (h, w), (oh, ow)))
    assert report.agree and report.out_shape == (1, 1, oh, ow)


# --------------------------------------------------------------------------- upsampling
@st.composite
def upsample_specs(draw) -> UpsampleSpec:
    mode = draw(st.sampled_from(MODES))
    size = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    if draw(st.booleans()):
        return UpsampleSpec(size, mode, out_size=(draw(st.integers(1, 20)),
                                                  draw(st.integers(1, 20))),
                            align_corners=draw(st.booleans()))
    scale = st.floats(0.05, 4.0).map(lambda v: round(v, 2))
    return UpsampleSpec(size, mode, scale=(draw(scale), draw(scale)),
                        align_corners=draw(st.booleans()))


def torch_upsample(spec: UpsampleSpec, x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=spec.out_size, scale_factor=spec.scale, mode=spec.mode,
                         align_corners=True if spec.align_corners else None)


@SETTINGS
@given(upsample_specs())
def test_upsample_explanation_exactly_when_torch_raises(spec):
    try:
        real = tuple(torch_upsample(spec, torch.zeros(1, 1, *spec.size)).shape)
    except (RuntimeError, ValueError):
        real = None
    problems = upsample_problems(spec)
    assert (real is None) == bool(problems), (spec, real, [str(p) for p in problems])
    if real is not None:
        assert upsample_out_shape(spec) == real
    for problem in problems:
        for fix in problem.fixes:
            assert problem.rule not in {p.rule for p in upsample_problems(apply_fix(spec, fix))}


@SETTINGS
@given(upsample_specs())
def test_source_coordinates_reproduce_torch(spec):
    if upsample_problems(spec) or spec.mode == "bicubic" or min(upsample_out_shape(spec)) == 0:
        return
    h, w = spec.size
    # a ramp along each axis: the interpolated value is the sampled coordinate
    ramp_h = torch.arange(h, dtype=torch.float64).view(1, 1, h, 1).expand(1, 1, h, w)
    ramp_w = torch.arange(w, dtype=torch.float64).view(1, 1, 1, w).expand(1, 1, h, w)
    got_h = torch_upsample(spec, ramp_h.contiguous())[0, 0, :, 0].numpy()
    got_w = torch_upsample(spec, ramp_w.contiguous())[0, 0, 0, :].numpy()
    for axis, got, n in ((0, got_h, h), (1, got_w, w)):
        want = np.clip(source_coords(spec, axis), 0, n - 1)
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=str(spec))


def test_scale_factor_rounds_down_in_double_precision():
    spec = UpsampleSpec((100, 10), "nearest", scale=(0.29, 1.5))
    report = upsample_report(spec)
    assert report.agree and report.out_shape == (1, 1, 28, 15)  # 100 · 0.29 = 28.999...
    assert "28.999999999999996" in report.steps[0].latex


def test_align_corners_message_and_snippet():
    report = upsample_report(UpsampleSpec((4, 4), "area", out_size=(8, 8), align_corners=True))
    assert report.torch_error and "align_corners → off" in str(report.problems[0])
    spec = UpsampleSpec((4, 5), "bicubic", scale=(2.0, 1.5), align_corners=True)
    code = upsample_report.__globals__["upsample_code"](spec)
    assert run_snippet(code).strip().startswith(str(upsample_out_shape(spec)))


@pytest.mark.parametrize("mode", MODES)
def test_large_upsample_runs_on_meta(mode):
    report = upsample_report(UpsampleSpec((2048, 2048), mode, scale=(2.0, 2.0)))
    assert report.agree and report.device == "meta"
