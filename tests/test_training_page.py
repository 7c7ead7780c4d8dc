"""The training page's form through AppTest: defaults, every widget group, presets, invalid
settings, the LR page's hand-off, which fields show for which choices."""

# ruff: noqa: F811 - the fixtures apps/media are imported from tests/training_helpers.py
from __future__ import annotations

import dataclasses

import pytest

from core.config import TrainConfig
from core.lr_handoff import from_train_params, link_params, to_train_params
from tests.training_helpers import apps, keys  # noqa: F401 - apps: a pytest fixture
from ui.train_form import RELEVANT, default_of


def test_default_render(apps):
    at = apps()
    assert at.selectbox(key="train_dataset").value == "spiral"
    assert at.selectbox(key="train_model").value == "mlp"
    assert at.number_input(key="train_lr").value == pytest.approx(0.01)
    assert not at.button(key="train_start").disabled
    assert not at.error and "Press **Start**" in at.info[0].value
    assert at.query_params == {}  # defaults stay out of the URL
    assert "train_spiral_arms" in keys(at, "number_input")
    assert "train_momentum" not in keys(at, "number_input")  # adam: no momentum field
    assert any("torchrun" in c.value for c in at.code)


@pytest.mark.parametrize("key, value, shown, hidden", [
    ("train_dataset", "blobs", "train_blob_centers", "train_spiral_arms"),
    ("train_activation", "swish", "train_swish_beta", None),
    ("train_optimizer", "sgd", "train_momentum", "train_beta1"),
    ("train_scheduler", "onecycle", "train_pct_start", "train_step_size"),
    ("train_scheduler", "step", "train_step_size", "train_pct_start"),
    ("train_clip_mode", "norm", "train_clip_value", None),
])
def test_each_group_shows_only_relevant_fields(apps, key, value, shown, hidden):
    at = apps()
    at.selectbox(key=key).set_value(value).run()
    assert not at.exception
    present = keys(at, "number_input") | keys(at, "selectbox") | keys(at, "toggle")
    assert shown in present and (hidden is None or hidden not in present)
    assert at.query_params[key] == [value] or at.query_params[key] == value


@pytest.mark.parametrize("model", ["mlp", "cnn", "lenet5", "resnet"])
def test_dropout_is_offered_for_every_model_that_uses_it(apps, model):
    """LeNet-5 and ResNet use dropout too; the form once hid it and dropped it from links."""
    at = apps({"train_dataset": "digits", "train_model": model, "train_dropout": "0.3"})
    assert "train_dropout" in keys(at, "number_input") | keys(at, "slider")
    assert at.query_params["train_dropout"] in (["0.3"], "0.3")


def test_number_and_toggle_widgets_go_to_the_url(apps):
    at = apps()
    at.number_input(key="train_early_stop_patience").set_value(3).run()
    assert "train_early_stop_metric" in keys(at, "selectbox")
    at.number_input(key="train_width").set_value(16).run()
    assert str(at.query_params["train_width"]).strip("[]'") == "16"
    assert at.selectbox(key="train_device").value == "auto"
    assert any(o.startswith("CPU") for o in at.selectbox(key="train_device").options)
    at.selectbox(key="train_device").set_value("cpu").run()
    at.toggle(key="train_grad_checkpointing").set_value(True).run()
    assert str(at.query_params["train_grad_checkpointing"]).strip("[]'") == "1"
    assert "trains on **cpu**" in " ".join(c.value for c in at.caption)


def test_preset_sets_every_field(apps):
    at = apps()
    at.selectbox(key="train_preset_pick").set_value("digits-mlp").run()
    assert at.selectbox(key="train_dataset").value == "digits"
    assert at.number_input(key="train_width").value == 128
    assert at.number_input(key="train_lr").value == pytest.approx(3e-3)
    assert "train_augment" in keys(at, "toggle")  # an image set


def test_mnist99_preset_sets_the_cnn_channels(apps):
    at = apps()
    assert "train_cnn_channels" not in keys(at, "number_input")  # the MLP has no convs
    at.selectbox(key="train_preset_pick").set_value("mnist-99").run()
    assert at.selectbox(key="train_model").value == "cnn"
    assert at.number_input(key="train_cnn_channels").value == 16
    assert str(at.query_params["train_cnn_channels"]).strip("[]'") == "16"
    at.number_input(key="train_cnn_channels").set_value(32).run()
    assert "train_cnn_channels" not in at.query_params  # back to the default


def test_invalid_config_is_explained_and_kept(apps):
    at = apps({"train_optimizer": "sgd", "train_nesterov": "1", "train_momentum": "0"})
    assert "nesterov=True needs momentum > 0" in at.error[0].value
    assert at.button(key="train_start").disabled
    assert at.toggle(key="train_nesterov").value is True  # nothing the user set is lost
    at.number_input(key="train_momentum").set_value(0.9).run()
    assert not at.error and not at.button(key="train_start").disabled


@pytest.mark.parametrize("spec, run, expected", [
    ({"kind": "CosineAnnealingLR", "params": {"T_max": 12, "eta_min": 0.001}},
     {"lr": 0.05, "epochs": 15}, {"train_scheduler": "cosine", "train_t_max": 12}),
    ({"kind": "MultiStepLR", "params": {"milestones": [3, 7]}}, {"lr": 0.02, "epochs": 9},
     {"train_scheduler": "multistep", "train_milestones": "3,7"}),
    ({"kind": "SequentialLR", "params": {"milestones": [3]},
      "children": [{"kind": "LinearLR", "params": {"start_factor": 0.2, "total_iters": 3}},
                   {"kind": "OneCycleLR", "params": {}}]},
     {"lr": 0.05, "epochs": 20, "step_every": "batch"},
     {"train_scheduler": "onecycle", "train_warmup_steps": 3}),
])
def test_lr_page_handoff_fills_the_form(apps, spec, run, expected):
    params = to_train_params(spec, run)
    at = apps(params)
    assert not at.error
    for key, value in expected.items():
        assert [w.value for w in at.get(_kind(key)) if w.key == key] == [value]
    assert at.number_input(key="train_lr").value == pytest.approx(run["lr"])
    assert at.number_input(key="train_epochs").value == run["epochs"]
    at.button(key="train_start").click().run()  # the run gets exactly the handed-over config
    started = at.session_state["_train_session"].current.cfg
    assert started == TrainConfig.from_dict(from_train_params(params))


def _kind(key):
    return {"train_scheduler": "selectbox", "train_milestones": "text_input"}.get(
        key, "number_input")


def test_handoff_link_wins_over_a_warmup_kept_from_an_earlier_visit():
    """A warmup kept from an earlier visit (or an earlier SequentialLR hand-off) stayed in the
    form, and the run's LR then differed from the curve the LR page showed."""
    from tests.conftest import make_app

    spec, run = {"kind": "CosineAnnealingLR", "params": {"T_max": 30}}, {"epochs": 30}
    at = make_app("pages/training.py", link_params(spec, run))
    at.session_state["_kept_train_warmup_steps"] = 250  # what ui/state keeps between visits
    at.session_state["_kept_train_warmup_start_factor"] = 0.5
    at.run()
    assert not at.exception
    assert at.number_input(key="train_warmup_steps").value == 0
    assert at.selectbox(key="train_scheduler").value == "cosine"
    at.button(key="train_start").click().run()
    cfg = at.session_state["_train_session"].current.cfg
    at.session_state["_train_session"].stop_and_wait()
    assert (cfg.warmup_steps, cfg.warmup_start_factor, cfg.t_max) == (0, 0.1, 30)


@pytest.mark.parametrize("key", ["train_dataset", "train_model", "train_optimizer",
                                 "train_scheduler", "train_loss", "train_norm"])
def test_every_choice_renders(apps, key):
    """Each option of the choice fields that decide which other fields show."""
    at = apps()
    for option in at.selectbox(key=key).options:
        at.selectbox(key=key).set_value(option).run()
        assert not at.exception, (key, option, [e.value for e in at.exception])


def test_relevance_rules_read_only_fields_rendered_before_them():
    fields = dataclasses.fields(TrainConfig)
    names = [f.name for f in fields]
    for name, rule in RELEVANT.items():
        earlier = {n: default_of(n) for n in names[:names.index(name)]}
        for f in fields[:names.index(name)]:
            for option in f.metadata.get("choices", ()):
                rule({**earlier, f.name: option})  # a KeyError here: a later field is read


def test_every_field_belongs_to_a_shown_group():
    from ui.train_form import GROUPS

    groups = {g for g, _, _ in GROUPS}
    assert {f.metadata["group"] for f in dataclasses.fields(TrainConfig)} <= groups


def test_chart_choice_is_in_the_link_and_kept_across_pages(apps):
    """The "Show" choice was a plain widget: Streamlit dropped it when the page was left."""
    at = apps({"train_views": "Curves,LR and speed"})
    assert at.session_state["train_views"] == ["Curves", "LR and speed"]
    from tests.conftest import make_app

    back = make_app("pages/training.py")
    back.session_state["_kept_train_views"] = ["Layers"]  # what ui/state keeps between pages
    back.run()
    assert back.session_state["train_views"] == ["Layers"]
    assert back.query_params["train_views"] in (["Layers"], "Layers")
