"""Chart builders of the convolution page, inspected through fig.to_dict(), and the real-image
filters against a hand-written cross-correlation."""

from __future__ import annotations

import base64
import contextlib
import io

import numpy as np
import pytest
import torch
from PIL import Image

from core.conv_arith import ConvSpec
from core.conv_visual import conv_grid, pool_grid
from core.image_filters import (
    KERNELS,
    apply_kernel,
    filter_code,
    kernel_preset,
    load_digit,
    load_photo,
    load_picture,
)
from core.pool_arith import PoolSpec
from core.tconv_arith import TConvSpec
from core.tconv_steps import tconv_steps
from core.upsample_arith import UpsampleSpec, source_coords
from tests.test_conv_arith import run_snippet
from ui.conv_channel_charts import connectivity, feature_maps, panels_for
from ui.conv_charts import MAX_VIEW, frame_positions, sliding_window
from ui.conv_step_charts import pattern, tconv_figure, upsample_figure


def arr(value) -> np.ndarray:
    """A to_dict() array: Plotly 7 ships numpy arrays base64-encoded ({dtype, bdata, shape})."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = tuple(int(v) for v in str(value.get("shape", len(data))).split(","))
        return data.reshape(shape)
    return np.array(value)


def traces(fig, kind: str) -> list[dict]:
    return [t for t in fig.to_dict()["data"] if t["type"] == kind]


def polygons(trace: dict) -> int:
    return sum(v is None for v in trace["x"])


def test_sliding_window_highlights_the_taps_and_animates():
    spec = ConvSpec((5, 6), (3, 2), (1, 2), (1, 0), (2, 1))
    grid = conv_grid(spec)
    fig = sliding_window(grid, 1, 2)
    heat = traces(fig, "heatmap")
    assert arr(heat[0]["z"]).shape == (7, 6)  # padded input: 5 + 2 rows, 6 columns
    assert arr(heat[1]["z"]).shape == grid.out_shape == (3, 3)
    taps = traces(fig, "scatter")[0]
    assert polygons(taps) == 3 * 2  # a 3×2 kernel reads six cells
    rows = sorted({round(v) for v in taps["y"] if v is not None})
    assert rows == [0, 2, 4]  # output row 1, stride 1, dilation 2, in input coordinates
    d = fig.to_dict()
    assert len(d["frames"]) == 9 and d["layout"]["sliders"][0]["active"] == 5
    assert "padding" in str(heat[0]["text"])


def test_large_grid_is_cropped_and_not_animated():
    spec = ConvSpec((500, 300), (3, 3), (1, 1), (1, 1), (1, 1))
    fig = sliding_window(conv_grid(spec), 250, 10)
    z = arr(traces(fig, "heatmap")[0]["z"])
    assert z.shape == (MAX_VIEW, MAX_VIEW)
    assert "frames" not in fig.to_dict() or not fig.to_dict()["frames"]
    assert "rows" in fig.to_dict()["layout"]["annotations"][0]["text"]


def test_frame_budget_falls_back_to_one_row():
    assert len(frame_positions(10, 10, 9, 0)) == 100
    assert frame_positions(30, 30, 9, 4) == [(4, b) for b in range(30)]
    assert frame_positions(500, 500, 121, 0) == []


def test_ceil_mode_overhang_and_divisor_text():
    spec = PoolSpec("avg", (5, 5), (3, 3), (3, 3), (0, 0), ceil_mode=True)
    fig = sliding_window(pool_grid(spec), 1, 1, out_values=np.array([[9, 6], [6, 4]]),
                         out_label="÷")
    heat = traces(fig, "heatmap")
    assert arr(heat[0]["z"]).max() == 2  # overhang cells exist
    assert heat[1]["text"][1][1] == "÷4"


def test_tconv_figure_shows_the_four_steps():
    spec = TConvSpec((3, 3), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1))
    steps = tconv_steps(spec)
    fig = tconv_figure(steps, 0, 0, spec.dilation)
    heat = traces(fig, "heatmap")
    assert len(heat) == 5
    np.testing.assert_array_equal(arr(heat[4]["z"]), steps.conv_out)
    titles = [a["text"] for a in fig.to_dict()["layout"]["annotations"]]
    assert titles[1].startswith("1") and titles[4].startswith("4")


def test_connectivity_panels_and_big_channel_counts():
    assert [g for _, g in panels_for(4, 8, 2)] == [1, 2, 4]
    assert [g for _, g in panels_for(6, 6, 1)] == [1, 3, 6]  # an example grouping in between
    fig = connectivity(4, 8, 2, kernel_cells=9)
    assert "288 weights" in fig.to_dict()["layout"]["annotations"][0]["text"]
    big = connectivity(256, 256, 1)
    assert traces(big, "heatmap")  # 65k links become a matrix, not lines
    huge = traces(connectivity(4096, 4096, 64), "heatmap")[0]
    assert arr(huge["z"]).shape == (160, 160)  # sampled, not 16 million cells


def test_upsample_and_feature_map_figures():
    spec = UpsampleSpec((4, 5), "bilinear", scale=(2.0, 1.5))
    before = pattern(4, 5)
    fig = upsample_figure(source_coords(spec, 0), source_coords(spec, 1), 4, 5, before,
                          np.zeros((8, 7)))
    assert len(traces(fig, "scatter")) == 2 and len(traces(fig, "heatmap")) == 2
    fig = feature_maps(before, kernel_preset("sobel x (vertical edges)", 3),
                       np.array([[-1.0, 2.0]]))
    assert traces(fig, "heatmap")[2]["zmin"] == -2.0  # signed maps are centred on zero


# --------------------------------------------------------------------------- image filters
def correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = (image[r:r + kh, c:c + kw] * kernel).sum()
    return out


@pytest.mark.parametrize("name", list(KERNELS))
@pytest.mark.parametrize("size", [3, 5])
def test_filters_are_cross_correlation(name, size):
    image = np.random.default_rng(0).random((9, 11)).astype(np.float32)
    kernel = kernel_preset(name, size)
    np.testing.assert_allclose(apply_kernel(image, kernel, 1, "valid"), correlate(image, kernel),
                               rtol=1e-5, atol=1e-5)
    assert apply_kernel(image, kernel, 1, "same").shape == image.shape


def test_kernel_facts():
    ramp = np.tile(np.arange(8, dtype=np.float32), (6, 1))  # brighter to the right
    assert (apply_kernel(ramp, kernel_preset("sobel x (vertical edges)", 3), 1, "valid") > 0).all()
    for name in ("box blur", "gaussian blur", "sharpen", "identity"):
        assert kernel_preset(name, 5).sum() == pytest.approx(1.0)
    assert kernel_preset("laplacian (all edges)", 5).sum() == 0


def test_pictures_load_grey_and_shrunk():
    digit = load_digit(3)
    assert digit.shape == (32, 32) and 0 <= digit.min() and digit.max() <= 1
    buf = io.BytesIO()
    Image.new("RGB", (300, 100), (255, 0, 0)).save(buf, format="PNG")
    picture = load_picture(buf.getvalue(), 60)
    assert picture.shape == (20, 60) and picture.dtype == np.float32
    assert max(load_photo(96).shape) == 96
    with pytest.raises(ValueError, match="not a picture"):
        load_picture(b"nope", 60)
    with pytest.raises(ValueError, match="digit index"):
        load_digit(5000)
    with pytest.raises(ValueError, match="stride 1"):
        apply_kernel(digit, kernel_preset("identity", 3), 2, "same")


def test_filter_snippet_runs():
    code = filter_code(kernel_preset("gaussian blur", 5), 2, "valid")
    assert run_snippet(code).strip() == "(1, 1, 30, 30)"


@pytest.mark.parametrize("name", list(KERNELS))
@pytest.mark.parametrize("size", [3, 5])
def test_every_preset_snippet_runs_with_the_page_kernel(name, size):
    """Whole-number kernels (Sobel, Laplacian) once became int64 tensors that conv2d refused."""
    kernel = kernel_preset(name, size)
    ns: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(filter_code(kernel, 1, "same"), "<snippet>", "exec"), ns)  # noqa: S102
    assert out.getvalue().strip() == "(1, 1, 64, 64)"
    assert ns["kernel"].dtype == torch.float32
    assert np.allclose(ns["kernel"][0, 0].numpy(), kernel, rtol=1e-7, atol=0)
