"""The "Nearest valid" buttons of every shape calculator: each offered fix, applied, breaks no
rule that was not broken already, and a configuration's only problem is fixed for real (the
real torch layer then runs)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@pytest.mark.parametrize("specs, report, problems", [
    (conv_specs, conv_report, conv_problems), (pool_specs, pool_report, pool_problems),
    (tconv_specs, tconv_report, tconv_problems),
    (upsample_specs, upsample_report, upsample_problems),
], ids=["conv", "pool", "tconv", "upsample"])
@SETTINGS
@given(data=st.data())
def test_fixes_are_valid(specs, report, problems, data):
    check(data.draw(specs()), report, problems)


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
