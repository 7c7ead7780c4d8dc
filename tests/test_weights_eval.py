"""Evaluating uploaded weights: checkpoints carry their config, plain weights use the given one."""

from __future__ import annotations

import pytest

from core.config import TrainConfig
from core.evaluate import evaluate
from core.export import weights_pt_bytes, weights_safetensors_bytes
from core.trainer import Trainer
from core.weights_eval import evaluate_upload, read_checkpoint

CFG = TrainConfig(n_samples=300, epochs=2, width=16)


@pytest.fixture(scope="module")
def trained():
    trainer = Trainer(CFG)
    result = trainer.run()
    return trainer, result


def test_plain_weights_match_the_trainers_own_evaluation(trained):
    _, result = trained
    expected = evaluate(result.model, result.data, "test")
    for name, data in (("w.pt", weights_pt_bytes(result.model)),
                       ("w.safetensors", weights_safetensors_bytes(result.model))):
        ev = evaluate_upload(data, name, CFG)
        assert ev.source == "settings" and ev.result.split == "test"
        assert ev.result.accuracy == pytest.approx(expected.accuracy)
        assert ev.result.confusion == expected.confusion


def test_a_checkpoint_brings_its_own_config(trained):
    trainer, result = trained
    data = trainer.checkpoint()
    assert read_checkpoint(data, "c.pt")["config"] == CFG
    assert read_checkpoint(weights_pt_bytes(result.model), "w.pt") is None
    ev = evaluate_upload(data, "c.pt", TrainConfig(width=8))  # the form's width is ignored
    assert ev.source == "checkpoint" and ev.cfg == CFG


def test_weights_of_another_model_are_refused_by_key_and_shape(trained):
    _, result = trained
    with pytest.raises(ValueError, match=r"shape mismatches: .*file \(16, 2\) vs model \(8, 2\)"):
        evaluate_upload(weights_pt_bytes(result.model), "w.pt", CFG.replace(width=8))
    with pytest.raises(ValueError, match="not a valid safetensors"):
        evaluate_upload(b"junk", "w.safetensors", CFG)
