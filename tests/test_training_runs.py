"""Runs on the training page through AppTest: start to finish with downloads, stop midway,
errors (missing data, divergence, out of memory), overlays and views, leaving the page."""

# ruff: noqa: F811 - the fixtures apps/media are imported from tests/training_helpers.py
from __future__ import annotations

import json

import pytest
import torch

from core.config import TrainConfig
from core.export import load_weights
from core.models import build_model
from tests.conftest import make_app
from tests.training_helpers import (  # noqa: F401 - apps, media: pytest fixtures
    LONG,
    QUICK,
    all_views,
    apps,
    chart_keys,
    chart_specs,
    download,
    finished,
    keys,
    media,
    poll,
    steps_seen,
)


def test_short_run_finishes_with_downloads(apps, media):
    at = apps(QUICK)
    at.button(key="train_start").click().run()
    poll(at, finished)
    assert at.success and "Trained 3 epochs" in at.success[0].value
    labels = {b.label for b in at.get("download_button")}
    assert labels == {"Weights (.pt)", "Weights (.safetensors)", "Full checkpoint (.pt)",
                      "Metrics (CSV)", "Config (JSON)", "Standalone script (.py)"}
    cfg = TrainConfig(n_samples=300, epochs=3)
    assert TrainConfig.from_dict(json.loads(download(at, media, "Config (JSON)"))) == cfg
    csv = download(at, media, "Metrics (CSV)").decode()
    assert csv.startswith("epoch,train_loss") and len(csv.splitlines()) == 4
    compile(download(at, media, "Standalone script (.py)").decode(), "train.py", "exec")
    model = build_model(cfg, (2,), 3)
    load_weights(model, download(at, media, "Weights (.pt)"), "w.pt")
    load_weights(model, download(at, media, "Weights (.safetensors)"), "w.safetensors")
    assert model(torch.zeros(4, 2)).shape == (4, 3)
    assert not at.button(key="train_start").disabled


def test_stop_a_run_midway(apps):
    at = apps(LONG)
    at.button(key="train_start").click().run()
    assert at.button(key="train_start").disabled  # one run at a time per session
    poll(at, steps_seen)
    assert "train_pause" in keys(at)
    at.button(key="train_pause").click().run()
    assert "train_resume" in keys(at)
    at.button(key="train_resume").click().run()
    at.button(key="train_stop").click().run()
    poll(at, finished, timeout=30)
    assert "Stopped on request" in at.info[0].value
    assert {b.label for b in at.get("download_button")} >= {"Weights (.pt)"}


def test_missing_dataset_says_where_files_go(apps, tmp_path):
    at = apps({"train_dataset": "mnist", "train_data_root": str(tmp_path)})
    at.button(key="train_start").click().run()
    poll(at, finished, timeout=60)
    text = at.error[0].value
    assert "dataset is missing" in text and "train-images-idx3-ubyte" in text
    assert str(tmp_path) in text


def test_diverging_run_says_what_to_try(apps):
    at = apps({**QUICK, "train_optimizer": "sgd", "train_lr": "1000"})
    at.button(key="train_start").click().run()
    poll(at, finished)
    assert "diverged" in at.error[0].value and "10x smaller" in at.error[0].value


def test_run_survives_leaving_the_page():
    at = make_app("app.py").run()
    at.switch_page("pages/training.py").run()
    at.number_input(key="train_epochs").set_value(5000).run()  # hours: stopped below
    at.button(key="train_start").click().run()
    try:
        at.switch_page("pages/activations.py").run()
        assert not at.exception and at.session_state["_train_session"].active is not None
        at.switch_page("pages/training.py").run()
        assert not at.exception and "train_stop" in keys(at)
        assert at.number_input(key="train_epochs").value == 5000  # the form came back too
        at.button(key="train_stop").click().run()
        poll(at, finished, timeout=30)
        assert "Stopped on request" in at.info[0].value and at.get("download_button")
    finally:
        at.session_state["_train_session"].stop_and_wait()


def test_earlier_runs_overlay_and_every_view(apps):
    at = apps({**QUICK, "train_epochs": "2"})
    for _ in range(2):
        at.button(key="train_start").click().run()
        poll(at, finished)
    overlay = at.multiselect(key="train_overlay")
    assert overlay.options == ["run 1: spiral/mlp/adam lr=0.01"]
    overlay.set_value(list(overlay.options)).run()
    at.segmented_control(key="train_views").set_value(list(all_views())).run()
    assert not at.exception
    specs = chart_specs(at)
    assert "run 1: spiral" in specs and "run 2: spiral" in specs  # both on the curves
    assert {"train_loss_chart", "train_acc_chart", "train_lr_chart", "train_speed_chart",
            "train_boundary", "train_confusion", "train_layer_stats",
            "train_layer_hist"} <= chart_keys(at)
    at.selectbox(key="train_layer_kind").set_value("weight_std").run()
    assert not at.exception
    assert at.selectbox(key="train_download_run").options[0].startswith("run 2")


@pytest.mark.parametrize("query, view", [
    ({"train_dataset": "digits", "train_epochs": "1", "train_width": "16"}, "train_images"),
    ({"train_dataset": "regression", "train_loss": "mse", "train_epochs": "2",
      "train_n_samples": "200"}, "train_curve"),
])
def test_image_and_regression_sets_get_their_view(apps, query, view):
    at = apps(query)
    at.button(key="train_start").click().run()
    poll(at, finished)
    at.segmented_control(key="train_views").set_value(list(all_views())).run()
    assert not at.exception and not at.error
    assert view in chart_keys(at)


def test_out_of_memory_says_what_to_try(apps, monkeypatch):
    from core.events import Callback, RunStarted
    from ui import train_run

    class OutOfMemory(Callback):
        def on_event(self, event):
            if isinstance(event, RunStarted):
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")

        def snapshot(self, only=None):
            return {}

    monkeypatch.setattr(train_run, "_default_probe", OutOfMemory)
    at = apps(QUICK)
    at.button(key="train_start").click().run()
    poll(at, finished)
    text = at.error[0].value
    assert "Out of memory" in text and "smaller batch_size" in text and "8.00 GiB" in text
    assert not at.button(key="train_start").disabled  # the app keeps working
