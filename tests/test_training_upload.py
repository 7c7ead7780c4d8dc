"""Uploads on the training page: evaluate weights (.pt, .safetensors), refuse code and
weights of another model, resume a checkpoint."""

# ruff: noqa: F811 - the fixtures apps/media are imported from tests/training_helpers.py
from __future__ import annotations

import io

import torch

from core.config import TrainConfig
from core.export import weights_pt_bytes, weights_safetensors_bytes
from core.trainer import Trainer
from tests.training_helpers import apps, finished, poll  # noqa: F401 - apps: a fixture


def _trained(**kw):
    trainer = Trainer(TrainConfig(n_samples=300, epochs=3, **kw))
    result = trainer.run()
    return trainer, result


def test_upload_weights_and_evaluate(apps):
    _, result = _trained()
    at = apps({"train_n_samples": "300"})
    for name, data in (("w.pt", weights_pt_bytes(result.model)),
                       ("w.safetensors", weights_safetensors_bytes(result.model))):
        at.file_uploader(key="train_upload").set_value((name, data, "application/octet-stream"))
        at.run()
        at.button(key="train_evaluate").click().run()
        assert not at.exception and not at.error
        assert f"{name} on the test split" in at.success[0].value and "accuracy" in \
            at.success[0].value


class Evil:
    """Unpickling this would call print: any function could be there instead."""

    def __reduce__(self):
        return (print, ("pwned",))


def _evil_pt() -> bytes:
    buf = io.BytesIO()
    torch.save({"weight": torch.zeros(1), "payload": Evil()}, buf)
    return buf.getvalue()


def test_upload_refuses_code_and_misfits(apps):
    at = apps({"train_width": "8"})
    _, result = _trained()  # width 64: does not fit width 8
    for name, data, words in (("evil.pt", _evil_pt(), "Refused"),
                              ("w.pt", weights_pt_bytes(result.model), "do not fit")):
        at.file_uploader(key="train_upload").set_value((name, data, "application/octet-stream"))
        at.run()
        at.button(key="train_evaluate").click().run()
        assert words in at.error[0].value


def test_upload_checkpoint_and_resume(apps):
    trainer, _ = _trained()
    at = apps()
    buf = io.BytesIO(trainer.checkpoint())
    at.file_uploader(key="train_upload").set_value(("ck.pt", buf.getvalue(), "application/x"))
    at.run()
    at.number_input(key="train_resume_epochs").set_value(5).run()
    at.button(key="train_resume_upload").click().run()
    poll(at, finished)
    run = at.session_state["_train_session"].current
    assert "(resumed)" in run.label and run.reason == "completed"
    assert run.history.snapshot()["epochs"]["epoch"] == [1, 2, 3, 4, 5]
