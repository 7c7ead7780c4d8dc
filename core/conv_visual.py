"""What the sliding-window pictures show: the padded grid, where each window lands, which input
cells each output cell reads.

The grid counts its own windows (a window fits when it stays inside the padded input; with
ceil_mode it may hang over by less than a stride but must start inside the input or the left
padding), so the picture's output size is an independent check of the formula and of torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.conv_arith import ConvSpec, resolve_padding
from core.pool_arith import AdaptiveSpec, PoolSpec, adaptive_windows

ZERO_PAD = -1  # a padding cell that holds a constant (zeros, or -inf for max pooling)
OUTSIDE = -2  # beyond the padded input: only a ceil_mode window reaches it
# The picture lists every window's taps per axis; past this many (a 16384 input under an
# 8192 kernel lists 67 million) it is not drawn: memory, and no one can see them anyway.
MAX_TAPS = 2_000_000
UNREAD_MAX_N = 4096  # longer axes are not scanned for never-read cells (too many windows)


def too_many_taps(out_shape: tuple[int, ...], kernel: tuple[int, ...]) -> int | None:
    """The number of window taps the picture would list, when that is over MAX_TAPS."""
    taps = sum(o * k for o, k in zip(out_shape[-len(kernel):], kernel, strict=True))
    return taps if taps > MAX_TAPS else None
INPUT, PADDING, OVERHANG, UNREAD = 0, 1, 2, 3  # cell kinds (UNREAD: input no output reads)


@dataclass(frozen=True)
class AxisWindows:
    """One axis of the picture: padding, window starts and the taps inside a window."""

    n: int  # input cells
    before: int  # padding cells before the input
    after: int  # padding cells after it
    reads: tuple[tuple[int, ...], ...]  # per output index: the cells it reads (padded coords)
    extent: int  # cells drawn: padded input plus any ceil_mode overhang
    source: tuple[int, ...]  # per drawn cell: the input index it shows, ZERO_PAD or OUTSIDE

    @property
    def out(self) -> int:
        return len(self.reads)

    @property
    def starts(self) -> tuple[int, ...]:
        return tuple(r[0] for r in self.reads)

    def window(self, i: int) -> tuple[int, int]:
        """[first, last] cell of window i (dilation gaps included)."""
        return self.reads[i][0], self.reads[i][-1]


@dataclass(frozen=True)
class SlideGrid:
    """Both axes (a 1-D layer gets a trivial row axis)."""

    rows: AxisWindows
    cols: AxisWindows
    mode: str = "zeros"

    @property
    def out_shape(self) -> tuple[int, int]:
        return self.rows.out, self.cols.out


def pad_sources(n: int, before: int, after: int, mode: str) -> list[int]:
    """Which input index each padded cell copies, found by padding an index ramp with F.pad."""
    if mode == "zeros":
        return [ZERO_PAD] * before + list(range(n)) + [ZERO_PAD] * after
    ramp = torch.arange(n, dtype=torch.float32).view(1, 1, n)
    padded = F.pad(ramp, (before, after), mode=mode)
    return [int(v) for v in padded.view(-1).tolist()]


def axis_windows(n: int, k: int, s: int, before: int, after: int, d: int = 1,
                 ceil_mode: bool = False, mode: str = "zeros") -> AxisWindows:
    """Slide a window of k taps (d apart) by s over n cells padded by (before, after)."""
    padded, span = n + before + after, d * (k - 1) + 1
    starts: list[int] = []
    r = 0
    while True:
        fits = r + span <= padded
        if ceil_mode:  # may hang over by less than a stride, but not start in the right padding
            fits = r + span < padded + s and r < n + before
        if not fits:
            break
        starts.append(r)
        r += s
    extent = max([padded] + [r0 + span for r0 in starts])
    source = pad_sources(n, before, after, mode) + [OUTSIDE] * (extent - padded)
    taps = range(0, span, d)
    return AxisWindows(n, before, after, tuple(tuple(r0 + t for t in taps) for r0 in starts),
                       extent, tuple(source))


def adaptive_axis(n: int, out: int) -> AxisWindows:
    """Adaptive pooling along one axis: window i covers floor(i·n/out) .. ceil((i+1)·n/out)-1."""
    reads = tuple(tuple(range(s, e)) for s, e in adaptive_windows(n, out))
    return AxisWindows(n, 0, 0, reads, n, tuple(range(n)))


def trivial_axis() -> AxisWindows:
    """The row axis of a 1-D layer: one cell, one window."""
    return AxisWindows(1, 0, 0, ((0,),), 1, (0,))


def conv_grid(spec: ConvSpec) -> SlideGrid:
    """The picture of a Conv1d / Conv2d (padding as the layer resolves it, 'same' included)."""
    axes = [axis_windows(n, k, s, b, a, d, mode=spec.padding_mode) for n, k, s, (b, a), d in
            zip(spec.size, spec.kernel, spec.stride, resolve_padding(spec), spec.dilation, strict=True)]
    if len(axes) == 1:
        return SlideGrid(trivial_axis(), axes[0], spec.padding_mode)
    return SlideGrid(axes[0], axes[1], spec.padding_mode)


def pool_grid(spec: PoolSpec) -> SlideGrid:
    """The picture of a MaxPool2d / AvgPool2d (implicit padding, ceil_mode overhang)."""
    axes = [axis_windows(n, k, s, p, p, d, spec.ceil_mode) for n, k, s, p, d in
            zip(spec.size, spec.kernel, spec.stride, spec.padding, spec.dilation, strict=True)]
    return SlideGrid(axes[0], axes[1])


def adaptive_grid(spec: AdaptiveSpec) -> SlideGrid:
    """The picture of an adaptive pool: no padding, windows of varying size that may overlap."""
    return SlideGrid(adaptive_axis(spec.size[0], spec.out[0]),
                     adaptive_axis(spec.size[1], spec.out[1]))


def cell_kinds(grid: SlideGrid, rows: range | None = None, cols: range | None = None
               ) -> np.ndarray:
    """INPUT / UNREAD / PADDING / OVERHANG for the drawn cells (all, or the given rows and
    columns); UNREAD marks input cells in a row or column that no window reads."""
    def kind(axis: AxisWindows, view: range | None) -> tuple[np.ndarray, np.ndarray]:
        idx = np.arange(axis.extent) if view is None else np.arange(view.start, view.stop)
        src = np.array(axis.source)[idx]
        inside = (idx >= axis.before) & (idx < axis.before + axis.n)
        gaps = unread(axis) if axis.n <= UNREAD_MAX_N else []
        skipped = inside & np.isin(idx - axis.before, gaps)
        return np.where(inside, INPUT, np.where(src == OUTSIDE, OVERHANG, PADDING)), skipped

    (r, r_skip), (c, c_skip) = kind(grid.rows, rows), kind(grid.cols, cols)
    kinds = np.maximum(r[:, None], c[None, :]).astype(np.int8)
    kinds[(kinds == INPUT) & (r_skip[:, None] | c_skip[None, :])] = UNREAD
    return kinds


def has_overhang(grid: SlideGrid) -> bool:
    """Does a ceil_mode window reach beyond the padding (cells drawn pink)?"""
    return OUTSIDE in grid.rows.source or OUTSIDE in grid.cols.source


def window_cells(grid: SlideGrid, i: int, j: int) -> tuple[list[int], list[int]]:
    """Padded row and column coordinates that output cell (i, j) reads."""
    return list(grid.rows.reads[i]), list(grid.cols.reads[j])


def read_mask(grid: SlideGrid, i: int, j: int) -> np.ndarray:
    """(n_rows, n_cols) bool: the input cells output (i, j) depends on (padding copies count)."""
    rows, cols = window_cells(grid, i, j)
    mask = np.zeros((grid.rows.n, grid.cols.n), dtype=bool)
    src_r = [grid.rows.source[r] for r in rows if grid.rows.source[r] >= 0]
    src_c = [grid.cols.source[c] for c in cols if grid.cols.source[c] >= 0]
    if src_r and src_c:
        mask[np.ix_(src_r, src_c)] = True
    return mask


def avg_divisors(spec: PoolSpec) -> tuple[np.ndarray, np.ndarray]:
    """(divisor, real cells) per output cell of AvgPool2d, as PyTorch's kernel counts them.

    count_include_pad counts padding cells but never the ceil_mode overhang beyond them.
    """
    def axis(n: int, k: int, s: int, p: int) -> tuple[np.ndarray, np.ndarray]:
        out = axis_windows(n, k, s, p, p, 1, spec.ceil_mode).out
        start = np.arange(out) * s - p  # in input coordinates
        end = np.minimum(start + k, n + p)
        with_pad = end - start
        real = np.minimum(end, n) - np.maximum(start, 0)
        return with_pad, real

    (ph, rh), (pw, rw) = (axis(n, k, s, p) for n, k, s, p in
                          zip(spec.size, spec.kernel, spec.stride, spec.padding, strict=True))
    real = np.outer(rh, rw)
    return (np.outer(ph, pw) if spec.count_include_pad else real), real


def unread(axis: AxisWindows) -> list[int]:
    """Input indices no window reads: skipped by a stride larger than the window, or left over
    at the end when the last window does not fit (floor rounding)."""
    seen = {axis.source[c] for window in axis.reads for c in window}
    return [i for i in range(axis.n) if i not in seen]


def receptive_region(grid: SlideGrid, i: int, j: int) -> tuple[range, range]:
    """Input rows and columns (clipped to the input) spanned by output (i, j)'s window."""
    def clip(axis: AxisWindows, k: int) -> range:
        first, last = axis.window(k)
        lo, hi = max(first - axis.before, 0), min(last + 1 - axis.before, axis.n)
        return range(lo, max(hi, lo))

    return clip(grid.rows, i), clip(grid.cols, j)
