"""The "Nearest valid" buttons of every shape calculator: each offered fix, applied, breaks no
rule that was not broken already, and a configuration's only problem is fixed for real (the
real torch layer then runs)."""

from __future__ import annotations

from hypothesis import given, settings

from core.conv_arith import conv_problems, conv_report
from core.pool_arith import pool_problems, pool_report
from core.size_report import apply_fix
from core.tconv_arith import tconv_problems, tconv_report
from core.upsample_arith import upsample_problems, upsample_report
from tests.test_conv_arith import conv_specs, tconv_specs
from tests.test_conv_pool_arith import pool_specs, upsample_specs

SETTINGS = settings(max_examples=150, deadline=None)


def check(spec, report, problems) -> None:
    before = {p.rule for p in problems(spec)}
    offered = report(spec).problems
    for problem in offered:
        for fix in problem.fixes:
            fixed = apply_fix(spec, fix)
            after = {p.rule for p in problems(fixed)}
            assert after <= before - {problem.rule}, (spec, fix, after)
            if len(offered) == 1:
                assert report(fixed).ok, (spec, fix, report(fixed).torch_error)


@SETTINGS
@given(conv_specs())
def test_conv_fixes_are_valid(spec):
    check(spec, conv_report, conv_problems)


@SETTINGS
@given(pool_specs())
def test_pool_fixes_are_valid(spec):
    check(spec, pool_report, pool_problems)


@SETTINGS
@given(tconv_specs())
def test_tconv_fixes_are_valid(spec):
    check(spec, tconv_report, tconv_problems)


@SETTINGS
@given(upsample_specs())
def test_upsample_fixes_are_valid(spec):
    check(spec, upsample_report, upsample_problems)


def test_a_fix_that_needs_two_changes_offers_both():
    """MaxPool k 3, p 3, d 3 on a 2-high map: p → 1 alone leaves no output row, so the page
    offers p → 1 together with a kernel that fits (the reviewer's case)."""
    from core.pool_arith import PoolSpec
    spec = PoolSpec("max", (2, 8), (3, 2), (1, 1), (3, 0), (3, 1))
    (problem,) = pool_report(spec).problems
    assert problem.fixes
    assert all(f.then is not None for f in problem.fixes)
    assert all(pool_report(apply_fix(spec, f)).ok for f in problem.fixes)
    assert "padding height → 1 and kernel height → 2" in [f.label for f in problem.fixes]
