"""Export and import: bytes that round-trip, and files that are refused with a clear reason."""

from __future__ import annotations

import io
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.config import TrainConfig
from core.export import (
    checkpoint_bytes,
    config_json_bytes,
    load_checkpoint,
    load_weights,
    metrics_csv_bytes,
    standalone_script,
    weights_pt_bytes,
    weights_safetensors_bytes,
)
from core.models import build_model
from core.trainer import train
from tests.engine_helpers import one_torch_thread  # noqa: F401 (autouse)

ROOT = Path(__file__).resolve().parents[1]
CFG = TrainConfig(dataset="spiral", n_samples=200, depth=2, width=16, epochs=3, batch_size=32,
                  threads=1)


@pytest.fixture(scope="module")
def run():
    result = train(CFG)
    assert result.reason == "completed"
    return result


def fresh(cfg: TrainConfig = CFG, outputs: int = 3):
    return build_model(cfg, (2,), outputs)


def same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values(), strict=True))


@pytest.mark.parametrize("fmt", ["pt", "safetensors"])
def test_weights_round_trip(run, fmt):
    data = weights_pt_bytes(run.model) if fmt == "pt" else weights_safetensors_bytes(run.model)
    model = load_weights(fresh(), data, f"model.{fmt}")
    assert same(model, run.model)


def test_pt_weights_are_a_plain_state_dict(run):
    state = torch.load(io.BytesIO(weights_pt_bytes(run.model)), weights_only=True)
    assert set(state) == set(run.model.state_dict())


def test_weights_of_another_model_are_refused_by_key_and_shape(run):
    data = weights_pt_bytes(run.model)
    wider = CFG.replace(width=32)
    with pytest.raises(ValueError, match="shape mismatches") as info:
        load_weights(fresh(wider), data, "model.pt")
    assert "(16" in str(info.value) and "32" in str(info.value)
    deeper = CFG.replace(depth=3)
    with pytest.raises(ValueError, match="missing keys") as info:
        load_weights(fresh(deeper), data, "model.pt")
    with pytest.raises(ValueError, match="unexpected keys"):
        load_weights(fresh(CFG.replace(depth=1)), data, "model.pt")


def test_a_checkpoint_of_another_model_is_refused(run):
    from core.trainer import Trainer

    ck = checkpoint_bytes(run.model, None, None, CFG, 3, run.history, None)
    # weights from a checkpoint load into the same model...
    assert same(load_weights(fresh(), ck, "checkpoint.pt"), run.model)
    # ...and are refused, by name, by a different one
    with pytest.raises(ValueError, match="do not fit"):
        load_weights(fresh(CFG.replace(width=8)), ck, "checkpoint.pt")
    result = Trainer(CFG.replace(width=8)).run(resume_from=ck)
    assert result.reason == "failed" and "width" in result.message


class Payload:
    """A pickle that, when loaded without weights_only, creates a file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


class ShellPayload(Payload):
    """The classic attack: os.system (torch words its refusal differently for it)."""

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("payload", [Payload, ShellPayload])
@pytest.mark.parametrize("name, loader", [
    ("evil.pt", lambda d: load_weights(fresh(), d, "evil.pt")),
    ("evil.ckpt", load_checkpoint),
])
def test_a_pickle_that_would_run_code_is_refused(tmp_path, name, loader, payload):
    target = tmp_path / "pwned.txt"
    buf = io.BytesIO()
    torch.save({"fc.weight": torch.zeros(1), "x": payload(str(target))}, buf)
    with pytest.raises(ValueError, match="Refused to load") as info:
        loader(buf.getvalue())
    assert "code" in str(info.value)
    assert "weights_only" not in str(info.value)  # never torch's advice to load it unsafely
    assert not target.exists()


def test_garbage_and_wrong_extensions_are_clear_errors():
    with pytest.raises(ValueError, match="not a PyTorch"):
        load_weights(fresh(), b"not a zip file", "model.pt")
    with pytest.raises(ValueError, match="safetensors"):
        load_weights(fresh(), b"\x00" * 20, "model.safetensors")
    with pytest.raises(ValueError, match=r"\.pt"):
        load_weights(fresh(), b"", "model.txt")
    with pytest.raises(ValueError, match="not a torch-playground checkpoint"):
        load_checkpoint(weights_pt_bytes(fresh()))


def test_checkpoint_round_trip(run):
    ck = load_checkpoint(checkpoint_bytes(run.model, None, None, CFG, 3, run.history, None))
    assert ck["config"] == CFG and ck["epoch"] == 3
    assert ck["history"]["epochs"]["epoch"] == [1, 2, 3]
    model = fresh()
    model.load_state_dict(ck["model"])
    assert same(model, run.model)


def test_checkpoint_from_a_gpu_machine_loads_on_the_cpu(run):
    ck = torch.load(io.BytesIO(checkpoint_bytes(run.model, None, None, CFG, 3, None, None)),
                    weights_only=True)
    ck["config"]["device"], ck["config"]["amp"] = "cuda", "fp16"
    buf = io.BytesIO()
    torch.save(ck, buf)
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    loaded = load_checkpoint(buf.getvalue())
    assert loaded["config"].device == "auto" and loaded["config"].amp == "auto"
    assert "cuda" in loaded["notes"][0]


def test_metrics_csv_and_config_json(run):
    csv = metrics_csv_bytes(run.history).decode()
    assert csv.splitlines()[0].split(",")[:3] == ["epoch", "train_loss", "train_acc"]
    assert len(csv.splitlines()) == 4
    cfg = TrainConfig.from_dict(json.loads(config_json_bytes(CFG)))
    assert cfg == CFG


def write_script(tmp_path: Path, cfg: TrainConfig) -> Path:
    path = tmp_path / "standalone.py"
    script = standalone_script(cfg)
    assert "import core" not in script and "from core" not in script
    path.write_text(script)
    return path


def run_script(tmp_path: Path, cfg: TrainConfig, *args: str) -> dict:
    """Run the script in a fresh interpreter, from an empty folder (so it cannot import the
    app), and return its last line: the final metrics as JSON."""
    path = write_script(tmp_path, cfg)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["OMP_NUM_THREADS"] = "1"  # tiny model: one thread is fastest on a shared 2-core box
    proc = subprocess.run([sys.executable, str(path), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_script_here(tmp_path: Path, cfg: TrainConfig, capsys, *args: str) -> dict:
    """The same in this process (runpy; no new torch import), for the cheaper variants."""
    path = write_script(tmp_path, cfg)
    argv = sys.argv
    sys.argv = [str(path), *args]
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = argv
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_standalone_script_reproduces_the_run(tmp_path):
    cfg = TrainConfig(dataset="spiral", n_samples=200, depth=2, width=16, epochs=3,
                      batch_size=32, scheduler="onecycle", warmup_steps=3, clip_mode="norm",
                      grad_accum_steps=2, early_stop_patience=5)
    got = run_script(tmp_path, cfg)
    want = train(cfg).final
    for key in ("val_loss", "test_loss", "test_acc"):
        assert got[key] == pytest.approx(want[key], rel=1e-3, abs=1e-4), key


def test_standalone_script_evaluates_the_apps_weights(tmp_path, run, capsys):
    (tmp_path / "model.pt").write_bytes(weights_pt_bytes(run.model))
    got = run_script_here(tmp_path, CFG, capsys, "--weights", str(tmp_path / "model.pt"))
    assert got["test_acc"] == pytest.approx(run.final["test_acc"])


@pytest.mark.parametrize("kw", [
    # the app's own Dropout draws other random numbers than nn.Dropout: the script copies it
    dict(dataset="digits", model="cnn", epochs=1, subset=400, cnn_channels=8),
    # fused Adam and one thread round differently from the defaults; BatchNorm amplifies it
    dict(dataset="spiral", norm="batch", epochs=3, grad_accum_steps=3, clip_mode="norm",
         clip_value=0.5),
], ids=["cnn-dropout", "mlp-batchnorm"])
def test_standalone_script_repeats_the_run_to_rounding(tmp_path, kw, capsys):
    cfg = TrainConfig(**kw)
    want = train(cfg).final
    got = run_script_here(tmp_path, cfg, capsys)
    for key in ("train_loss", "val_loss", "test_loss", "test_acc"):
        assert got[key] == pytest.approx(want[key], rel=1e-6), key


@pytest.mark.parametrize("kw", [
    dict(dataset="moons", loss="bce_with_logits", optimizer="sgd", scheduler="cosine"),
    dict(dataset="regression", loss="smooth_l1", scheduler="plateau", activation="tanh"),
    dict(dataset="digits", augment=True, optimizer="rmsprop", scheduler="cosine_warm_restarts"),
    dict(dataset="blobs", loss="mse", optimizer="adagrad", scheduler="cyclic", norm="batch"),
])
def test_standalone_scripts_for_other_settings_run(tmp_path, kw, capsys):
    cfg = TrainConfig(**{"epochs": 2, "batch_size": 64, "depth": 1, "width": 16, **kw})
    got = run_script_here(tmp_path, cfg, capsys)
    want = train(cfg).final
    assert got["test_loss"] == pytest.approx(want["test_loss"], rel=1e-3, abs=1e-4)


@pytest.mark.parametrize("kw, shape, outputs", [
    (dict(model="mlp", depth=3, width=8, norm="batch", activation="swish", swish_beta=1.5,
          dropout=0.1), (2,), 3),
    (dict(model="mlp", depth=2, width=8, norm="group", norm_groups=2, activation="prelu"),
     (1, 8, 8), 10),
    (dict(model="mlp", depth=1, width=4, norm="layer", activation="gelu_tanh"), (1,), 1),
    (dict(dataset="mnist", model="cnn"), (1, 28, 28), 10),
    (dict(dataset="mnist", model="cnn", norm="batch", dropout=0.3), (1, 28, 28), 10),
    (dict(dataset="mnist", model="cnn", norm="batch", cnn_channels=16), (1, 28, 28), 10),
    (dict(dataset="fashion_mnist", model="lenet5", dropout=0.2), (1, 28, 28), 10),
    (dict(dataset="cifar10", model="resnet", depth=1, width=4, dropout=0.1), (3, 32, 32), 10),
])
def test_the_scripts_network_is_the_apps_network(kw, shape, outputs):
    """Same seed, same initial weights under the same names: the app's model.pt loads."""
    from collections import OrderedDict

    from core.script_model import model_section

    cfg = TrainConfig(**kw)
    namespace = {"nn": torch.nn, "torch": torch, "OrderedDict": OrderedDict}
    exec(model_section(cfg, shape, outputs), namespace)  # noqa: S102 - our own generated code
    torch.manual_seed(3)
    mine = namespace["build_model"]()
    torch.manual_seed(3)
    app = build_model(cfg, shape, outputs)
    a, b = mine.state_dict(), app.state_dict()
    assert list(a) == list(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    x = torch.randn(4, *shape)
    mine.eval(), app.eval()
    torch.testing.assert_close(mine(x), app(x))
