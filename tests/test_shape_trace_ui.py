"""The tracer's table conversions and chart builder (pure: data in, frame / figure out)."""

from __future__ import annotations

import math

import pandas as pd

from core.shape_presets import SHAPE_PRESETS
from core.shape_text import parse_stack
from core.shape_trace import trace
from ui.trace_charts import shape_profile
from ui.trace_table import fmt_rf, frame_stack, reference_frame, result_frame, stack_frame


def test_table_round_trip():
    for preset in SHAPE_PRESETS.values():
        layers = parse_stack(preset.stack)
        assert frame_stack(stack_frame(layers)) == (layers, [])


def test_table_order_column_inserts_and_blank_rows_are_skipped():
    frame = stack_frame(parse_stack("conv:8:3|relu|flatten"))
    frame.loc[len(frame)] = [1.5, "BatchNorm2d", None, 0]  # goes between rows 1 and 2
    frame.loc[len(frame)] = [None, "Linear", "out=10", 0]  # no order: last
    frame.loc[len(frame)] = [None, None, None, 0]  # a row just added: ignored
    layers, errors = frame_stack(frame)
    assert errors == []
    assert [layer.code for layer in layers] == ["conv", "bn", "relu", "flatten", "linear"]


def test_table_errors_name_the_row():
    frame = pd.DataFrame({"#": [1.0, 2.0], "layer": ["Conv2d", "Dropout"],
                          "settings": ["out=8", "p=2"], "_v": [0, 0]})
    layers, errors = frame_stack(frame)
    assert layers == ()
    assert errors[0].startswith("row #1 (Conv2d): Conv2d needs out and k")
    assert errors[1].startswith("row #2 (Dropout): Dropout p is a probability")


def test_receptive_field_text():
    assert fmt_rf((3.0, 3.0)) == "3"
    assert fmt_rf((3.0, 5.0)) == "3×5"
    assert fmt_rf((2.5, 2.5)) == "≈2.5"
    assert fmt_rf((6.0, 6.0), exact=False) == "≈6"
    assert fmt_rf((math.inf, math.inf)) == "whole input"
    assert fmt_rf((5.0, math.inf)) == "whole width"
    assert fmt_rf(None) == "—"


def test_result_frame_marks_the_stop_and_what_was_not_reached():
    preset = SHAPE_PRESETS["Broken: LeNet-5 fed 28×28 MNIST"]
    layers = parse_stack(preset.stack)
    frame = result_frame(trace(layers, preset.input_shape), [x.kind.title for x in layers])
    assert len(frame) == len(layers) + 1  # the input row, then one per layer
    notes = list(frame["note"])
    assert notes[8].startswith("✗ stops here: Linear expects in_features=400")
    assert notes[9:] == ["not reached"] * 4
    assert list(frame["output shape"])[7] == "(1, 256)"


def test_reference_lists_every_kind():
    ref = reference_frame()
    assert {"Conv2d", "Linear", "Upsample", "BatchNorm1d"} <= set(ref["layer"])
    assert ref.loc[ref["layer"] == "Conv2d", "settings"].item().startswith("out: output")


def test_shape_profile_draws_sizes_rf_and_channels():
    preset = SHAPE_PRESETS["MNIST CNN (pytorch/examples)"]
    layers = parse_stack(preset.stack)
    result = trace(layers, preset.input_shape)
    fig = shape_profile(result, [x.kind.title for x in layers]).to_dict()
    by_name = {t["name"]: t for t in fig["data"]}
    assert set(by_name) == {"output height", "receptive field (height)", "channels / features"}
    assert list(by_name["output height"]["y"][:6]) == [28, 26, 26, 24, 24, 12]
    assert list(by_name["receptive field (height)"]["y"][:6]) == [1, 3, 3, 5, 5, 6]
    assert list(by_name["channels / features"]["y"])[7] == 9216
    assert fig["layout"]["yaxis2"]["type"] == "log"
    assert "template" not in fig["layout"] or not fig["layout"]["template"].get("layout", {}).get(
        "paper_bgcolor")


def test_shape_profile_marks_the_stop_and_non_square_maps():
    layers = parse_stack("conv:4:3x5|maxpool:2|flatten|linear:3:in=7")
    result = trace(layers, (1, 1, 20, 30))
    fig = shape_profile(result, [x.kind.title for x in layers]).to_dict()
    by_name = {t["name"]: t for t in fig["data"]}
    assert list(by_name["output width"]["y"][:3]) == [30, 26, 13]
    lines = [sh for sh in fig["layout"]["shapes"] if sh["type"] == "line"]
    assert {sh["x0"] for sh in lines} == {4}  # position of "4 Linear"
    assert fig["layout"]["annotations"][0]["text"] == "stops here"
    assert list(fig["layout"]["xaxis"]["categoryarray"]) == [
        "input", "1 Conv2d", "2 MaxPool2d", "3 Flatten", "4 Linear"]
