"""Conv1d / Conv2d / ConvTranspose2d sizes: formula == real layer == the picture's grid, and an
explanation exactly when PyTorch refuses (hypothesis over the page's whole input domain)."""

from __future__ import annotations

import contextlib
import io
import math
import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from core.conv_arith import (
    PADDING_MODES,
    ConvSpec,
    conv_code,
    conv_out_shape,
    conv_problems,
    conv_report,
)
from core.conv_visual import conv_grid
from core.size_report import apply_fix, rounding_steps
from core.tconv_arith import TConvSpec, tconv_code, tconv_out_shape, tconv_problems, tconv_report
from core.tconv_steps import tconv_steps, tconv_steps_code

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def torch_conv_shape(spec: ConvSpec) -> tuple[int, ...] | None:
    """The real layer on CPU, independent of core's run_layer: shape, or None if it raises."""
    cls = nn.Conv1d if spec.dims == 1 else nn.Conv2d
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layer = cls(spec.in_channels, spec.out_channels, spec.kernel, stride=spec.stride,
                        padding=spec.padding, dilation=spec.dilation, groups=spec.groups,
                        padding_mode=spec.padding_mode)
            return tuple(layer(torch.zeros(1, spec.in_channels, *spec.size)).shape)
    except (RuntimeError, ValueError):
        return None


@st.composite
def conv_specs(draw) -> ConvSpec:
    dims = draw(st.sampled_from([1, 2]))
    small = st.integers(1, 4)
    tup = lambda s: tuple(draw(s) for _ in range(dims))  # noqa: E731
    padding = draw(st.one_of(st.sampled_from(["same", "valid"]),
                             st.tuples(*[st.integers(0, 5)] * dims)))
    return ConvSpec(size=tup(st.integers(1, 12)), kernel=tup(st.integers(1, 7)),
                    stride=tup(small), padding=padding, dilation=tup(st.integers(1, 3)),
                    in_channels=draw(small), out_channels=draw(small), groups=draw(small),
                    padding_mode=draw(st.sampled_from(PADDING_MODES)))


@SETTINGS
@given(conv_specs())
def test_conv_explanation_exactly_when_torch_raises(spec):
    real = torch_conv_shape(spec)
    problems = conv_problems(spec)
    assert (real is None) == bool(problems), (spec, real, [str(p) for p in problems])
    report = conv_report(spec)  # the page's own torch run sees the same
    assert report.torch_shape == real and (report.torch_error is None) == (real is not None)
    if real is not None:
        grid = conv_grid(spec)
        spatial = grid.out_shape if spec.dims == 2 else (grid.out_shape[1],)
        assert conv_out_shape(spec) == real == (1, spec.out_channels, *spatial)


@SETTINGS
@given(conv_specs())
def test_conv_fixes_repair_their_rule(spec):
    for problem in conv_problems(spec):
        for fix in problem.fixes:
            fixed = apply_fix(spec, fix)
            assert problem.rule not in {p.rule for p in conv_problems(fixed)}, (problem, fix)


@SETTINGS
@given(conv_specs())
def test_conv_steps_end_in_the_output_size(spec):
    if conv_problems(spec):
        return
    out = conv_out_shape(spec)[2:]
    for steps, size in zip(conv_report(spec).steps, out, strict=True):
        assert steps.lines[-1].endswith(f"= {size}")
        assert r"\rfloor + 1" in steps.lines[0]  # the floor and the +1 are both there


def test_floor_and_plus_one_matter():
    spec = ConvSpec((7, 7), (3, 3), (2, 2), (0, 0), (1, 1))
    report = conv_report(spec)
    assert report.out_shape == report.torch_shape == (1, 1, 3, 3)  # not 2 (no +1), not 3.5
    assert r"\lfloor 2.5 \rfloor" not in report.steps[0].latex
    assert r"\frac{4}{2}" in report.steps[0].latex


def test_same_padding_splits_odd_total_after():
    spec = ConvSpec((5, 6), (4, 3), (1, 1), "same", (1, 2))
    report = conv_report(spec)
    assert report.agree and report.out_shape == (1, 1, 5, 6)
    assert "p_{\\text{top}}" in report.steps[0].pre[0] and "= 2" in report.steps[0].pre[0]


@pytest.mark.parametrize("spec, words", [
    (ConvSpec((5, 5), (7, 3), (1, 1), (0, 0), (1, 1)), ["output height", "kernel height → 5"]),
    (ConvSpec((5, 5), (3, 3), (1, 1), (1, 1), (1, 1), 6, 8, 4), ["divisible by groups",
                                                                 "groups → 2"]),
    (ConvSpec((5, 5), (3, 3), (2, 1), "same", (1, 1)), ["stride 1", "padding → numbers"]),
    (ConvSpec((3, 3), (3, 3), (1, 1), (3, 3), (1, 1), padding_mode="reflect"),
     ["reflect padding", "padding height → 2"]),
    (ConvSpec((3,), (3,), (1,), (4,), (1,), padding_mode="circular"), ["wrap around"]),
])
def test_conv_problem_messages(spec, words):
    report = conv_report(spec)
    text = " ".join(str(p) for p in report.problems)
    assert report.torch_error is not None and report.out_shape is None
    for word in words:
        assert word in text


def test_huge_layer_runs_on_meta_device_quickly():
    spec = ConvSpec((4096, 4096), (3, 3), (1, 1), (1, 1), (1, 1), 64, 64)
    report = conv_report(spec)
    assert report.device == "meta" and report.agree
    assert report.torch_shape == (1, 64, 4096, 4096)


def run_snippet(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<snippet>", "exec"), {})
    return out.getvalue()


def test_conv_snippet_runs_and_prints_the_shape():
    spec = ConvSpec((9, 11), (3, 2), (2, 1), (1, 0), (1, 2), 4, 6, 2, "circular")
    assert run_snippet(conv_code(spec)).strip() == str(conv_out_shape(spec))
    spec = ConvSpec((9,), (4,), (1,), "same", (2,), 2, 2)
    assert run_snippet(conv_code(spec)).strip() == str(conv_out_shape(spec))


# --------------------------------------------------------------------------- transposed
@st.composite
def tconv_specs(draw) -> TConvSpec:
    pair = lambda s: (draw(s), draw(s))  # noqa: E731
    return TConvSpec(size=pair(st.integers(1, 6)), kernel=pair(st.integers(1, 5)),
                     stride=pair(st.integers(1, 4)), padding=pair(st.integers(0, 6)),
                     output_padding=pair(st.integers(0, 3)), dilation=pair(st.integers(1, 3)),
                     in_channels=draw(st.integers(1, 4)), out_channels=draw(st.integers(1, 4)),
                     groups=draw(st.integers(1, 4)))


def torch_tconv_shape(spec: TConvSpec) -> tuple[int, ...] | None:
    try:
        layer = nn.ConvTranspose2d(spec.in_channels, spec.out_channels, spec.kernel,
                                   spec.stride, spec.padding, spec.output_padding,
                                   spec.groups, dilation=spec.dilation)
        return tuple(layer(torch.zeros(1, spec.in_channels, *spec.size)).shape)
    except (RuntimeError, ValueError):
        return None


@SETTINGS
@given(tconv_specs())
def test_tconv_explanation_exactly_when_torch_raises(spec):
    real = torch_tconv_shape(spec)
    report = tconv_report(spec)
    problems = report.problems
    assert (real is None) == bool(problems), (spec, real, [str(p) for p in problems])
    if real is not None:
        assert tconv_out_shape(spec) == real == report.torch_shape
    if min(tconv_out_shape(spec)[2:]) < 0:
        assert problems  # a negative size is refused on every code path
    elif not tconv_problems(spec):
        assert real is not None


@SETTINGS
@given(tconv_specs())
def test_tconv_fixes_repair_their_rule(spec):
    for problem in tconv_problems(spec):
        for fix in problem.fixes:
            fixed = apply_fix(spec, fix)
            assert problem.rule not in {p.rule for p in tconv_problems(fixed)}, (problem, fix)


@SETTINGS
@given(tconv_specs())
def test_four_steps_equal_conv_transpose2d(spec):
    if tconv_problems(spec):
        return
    steps = tconv_steps(spec)
    assert steps.conv_out.shape == steps.torch_out.shape == tconv_out_shape(spec)[2:]
    assert steps.max_abs_diff == 0.0  # whole numbers in float64: exactly equal
    assert steps.is_input.sum() <= steps.x.size


def test_four_steps_with_output_padding_and_crop():
    spec = TConvSpec((3, 4), (3, 2), (2, 3), (3, 0), (1, 2), (1, 1), 2, 4, 2)
    steps = tconv_steps(spec)
    assert steps.pads == (-1, 0, 1, 3)  # d(k-1)-p = -1 crops; output_padding goes after
    assert steps.max_abs_diff == 0.0
    assert (steps.flipped == steps.kernel[::-1, ::-1]).all()


def test_tconv_report_and_snippets():
    spec = TConvSpec((4, 5), (3, 3), (2, 2), (1, 1), (1, 0), (1, 1), 2, 2)
    report = tconv_report(spec)
    assert report.agree and report.out_shape == (1, 2, 8, 9)
    assert report.steps[0].lines[-1].endswith("= 8")
    assert run_snippet(tconv_code(spec)).strip() == "(1, 2, 8, 9)"
    assert run_snippet(tconv_steps_code(spec)).strip() == "True (1, 2, 8, 9)"


def test_four_step_snippet_runs_when_an_output_side_is_0():
    """The layer returns an empty tensor (oneDNN); step 4's conv2d refuses: the snippet shows
    both instead of crashing."""
    spec = TConvSpec((4, 2), (1, 2), (1, 1), (2, 0), (0, 0), (1, 2), 2, 2, 2)
    assert tconv_report(spec).ok and tconv_out_shape(spec)[2] == 0
    lines = run_snippet(tconv_steps_code(spec)).strip().splitlines()
    assert lines[0] == str(tconv_out_shape(spec)) == "(1, 2, 0, 4)"
    assert lines[1].startswith("step 4 refuses it:")


def test_tconv_output_padding_message():
    spec = TConvSpec((4, 4), (3, 3), (2, 2), (0, 0), (2, 0), (1, 1))
    report = tconv_report(spec)
    assert report.torch_error and "output_padding height → 1" in str(report.problems[0])


@SETTINGS
@given(st.integers(-50_000, 50_000), st.integers(1, 5_000), st.booleans())
def test_the_rounding_line_rounds_to_what_it_says(top, bottom, ceil):
    """⌊q⌋ shown with q's digits: the number shown must floor (ceil) to the next line's value
    (21999/2000 = 10.9995 was shown as ⌊11⌋ + 1 followed by 10 + 1)."""
    lines, result = rounding_steps(top, bottom, ceil)
    if len(lines) == 3:
        shown = float(lines[1].split()[1])
        assert (math.ceil(shown) if ceil else math.floor(shown)) == result - 1, lines
