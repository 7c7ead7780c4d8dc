"""The pictures' facts against autograd: which input cells an output reads, which channels
connect, and the parameter / multiply-add counts against PyTorch's own counters."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.conv_arith import ConvSpec, build_conv, conv_macs, conv_problems
from core.conv_cost import channel_links, conv_params, receptive_field, torch_counts, variants
from core.conv_visual import (
    INPUT,
    OVERHANG,
    PADDING,
    UNREAD,
    axis_windows,
    cell_kinds,
    conv_grid,
    has_overhang,
    pool_grid,
    read_mask,
    receptive_region,
)
from core.pool_arith import PoolSpec
from tests.test_conv_arith import conv_specs

SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def autograd_reads(spec: ConvSpec, i: int, j: int) -> np.ndarray:
    """Input cells (channel 0) with a nonzero gradient of output (0, i, j): what it reads."""
    layer = build_conv(dataclasses.replace(spec, bias=False)).double()
    torch.nn.init.ones_(layer.weight)
    x = torch.ones(1, spec.in_channels, *spec.size, dtype=torch.float64, requires_grad=True)
    y = layer(x)
    (y[0, 0, i, j] if spec.dims == 2 else y[0, 0, j]).backward()
    grad = x.grad[0, 0].numpy()
    return (grad != 0).reshape(-1, spec.size[-1])


@SETTINGS
@given(conv_specs(), st.data())
def test_highlighted_cells_are_what_autograd_says_the_output_reads(spec, data):
    if conv_problems(spec):
        return
    grid = conv_grid(spec)
    i = data.draw(st.integers(0, grid.rows.out - 1))
    j = data.draw(st.integers(0, grid.cols.out - 1))
    np.testing.assert_array_equal(read_mask(grid, i, j), autograd_reads(spec, i, j))


@SETTINGS
@given(conv_specs())
def test_channel_links_match_autograd(spec):
    if conv_problems(spec):
        return
    ones = (1,) * spec.dims  # connectivity depends on channels and groups only; a 1×1 kernel
    spec = dataclasses.replace(spec, kernel=ones, stride=ones, padding=(0,) * spec.dims,
                               dilation=ones, bias=False)  # keeps every output on real input
    layer = build_conv(spec).double()
    torch.nn.init.ones_(layer.weight)
    links = np.zeros((spec.out_channels, spec.in_channels), dtype=bool)
    for o in range(spec.out_channels):
        x = torch.ones(1, spec.in_channels, *spec.size, dtype=torch.float64, requires_grad=True)
        layer(x)[0, o].sum().backward()
        links[o] = x.grad[0].reshape(spec.in_channels, -1).abs().sum(1).numpy() > 0
    np.testing.assert_array_equal(channel_links(spec.in_channels, spec.out_channels,
                                                spec.groups), links)


@SETTINGS
@given(conv_specs())
def test_params_and_macs_match_pytorch_counters(spec):
    if conv_problems(spec):
        return
    params, macs = torch_counts(spec)
    assert (conv_params(spec), conv_macs(spec)) == (params, macs)
    for v in variants(spec):
        assert v.params > 0 and v.macs >= 0


def test_receptive_field_and_region():
    spec = ConvSpec((9, 9), (3, 3), (2, 2), (1, 1), (2, 1))
    assert receptive_field(spec) == (5, 3)
    rows, cols = receptive_region(conv_grid(spec), 0, 1)
    assert rows == range(0, 4) and cols == range(1, 4)  # top padding row is clipped away


def test_ceil_mode_picture_has_overhang_cells():
    grid = pool_grid(PoolSpec("max", (5, 5), (3, 3), (3, 3), (0, 0), ceil_mode=True))
    kinds = cell_kinds(grid)
    assert grid.out_shape == (2, 2) and kinds.shape == (6, 6)
    assert kinds[0, 0] == INPUT and kinds[5, 5] == OVERHANG
    grid = pool_grid(PoolSpec("max", (5, 5), (3, 3), (2, 2), (1, 1)))
    assert cell_kinds(grid)[0, 0] == PADDING


@pytest.mark.parametrize("mode, expect", [
    ("reflect", [2, 1, 0, 1, 2, 3, 2, 1]), ("replicate", [0, 0, 0, 1, 2, 3, 3, 3]),
    ("circular", [2, 3, 0, 1, 2, 3, 0, 1]), ("zeros", [-1, -1, 0, 1, 2, 3, -1, -1]),
])
def test_padding_sources_follow_f_pad(mode, expect):
    assert list(axis_windows(4, 3, 1, 2, 2, mode=mode).source) == expect


def test_depthwise_separable_is_cheaper():
    spec = ConvSpec((32, 32), (3, 3), (1, 1), (1, 1), (1, 1), 32, 64)
    names = {v.name: v for v in variants(spec)}
    assert names["depthwise-separable"].params < names["standard"].params
    assert names["depthwise"].groups == 32


def test_adaptive_grid_reads_each_window():
    from core.conv_visual import adaptive_grid
    from core.pool_arith import AdaptiveSpec, adaptive_windows

    grid = adaptive_grid(AdaptiveSpec("avg", (7, 5), (3, 4)))
    assert grid.out_shape == (3, 4)
    (r0, r1), (c0, c1) = adaptive_windows(7, 3)[1], adaptive_windows(5, 4)[2]
    mask = read_mask(grid, 1, 2)
    assert mask.sum() == (r1 - r0) * (c1 - c0) and mask[r0:r1, c0:c1].all()


def test_unread_cells_are_what_no_output_depends_on():
    from core.conv_visual import unread

    spec = ConvSpec((7, 10), (2, 2), (3, 4), (0, 0), (1, 1))  # stride > kernel skips cells
    grid = conv_grid(spec)
    assert unread(grid.rows) == [2, 5, 6] and unread(grid.cols) == [2, 3, 6, 7]
    any_read = np.zeros((7, 10), dtype=bool)
    for i in range(grid.rows.out):
        for j in range(grid.cols.out):
            any_read |= autograd_reads(spec, i, j)
    assert sorted(set(np.flatnonzero(~any_read.any(1)))) == [2, 5, 6]
    floor = pool_grid(PoolSpec("max", (7, 8), (2, 2), (2, 2)))
    assert unread(floor.rows) == [6]  # the last row does not fit a whole window


def test_unread_input_cells_are_their_own_kind():
    """MaxPool2d(2, 2) on 7 rows: row 6 is never read, and the picture shows it."""
    grid = pool_grid(PoolSpec("max", (7, 8), (2, 2), (2, 2)))
    kinds = cell_kinds(grid)
    assert (kinds[6] == UNREAD).all() and (kinds[:6] == INPUT).all()
    assert not has_overhang(grid)
    assert has_overhang(pool_grid(PoolSpec("max", (5, 5), (3, 3), (3, 3), ceil_mode=True)))
