"""The fast path computes what the plain path computes: per-batch normalising of uint8 tensors
equals torchvision's ToTensor + Normalize; bf16 autocast + channels_last matches fp32 within bf16
tolerance; fused optimizers match the for-loop ones; the idx reader needs no torchvision import;
the mnist-99 preset validates and trains on a tiny MNIST written in the on-disk format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.config import TrainConfig
from core.data import load_data
from core.data.augment import normalise
from core.models import build_model
from core.optim import build_optimizer
from core.presets import PRESETS
from tests.engine_helpers import one_torch_thread  # noqa: F401 - autouse fixture
from tests.test_data_files import write_mnist

ROOT = Path(__file__).resolve().parents[1]


def test_per_batch_normalise_equals_totensor_normalize():
    from PIL import Image
    from torchvision import transforms

    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(16, 28, 28), dtype=np.uint8)
    mean, std = torch.tensor([0.1307]), torch.tensor([0.3081])
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    expected = torch.stack([tf(Image.fromarray(a, mode="L")) for a in imgs])
    got = normalise(torch.from_numpy(imgs).unsqueeze(1), mean, std)
    assert got.dtype == torch.float32 and got.shape == expected.shape == (16, 1, 28, 28)
    torch.testing.assert_close(got, expected, rtol=0, atol=2e-6)


def test_bundle_prepare_on_real_loader_equals_torchvision_dataset(tmp_path):
    """The engine's batches equal what the notes' torchvision Dataset gives for the same rows."""
    from torchvision import datasets, transforms

    write_mnist(tmp_path, "MNIST")
    b = load_data(TrainConfig(dataset="mnist", data_root=str(tmp_path), val_split=0.0))
    m, s = float(b.mean[0]), float(b.std[0])
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((m,), (s,))])
    ds = datasets.MNIST(str(tmp_path), train=False, transform=tf)
    (xb, yb), = list(b.batches("test", 64, shuffle=False))
    expected = torch.stack([ds[i][0] for i in range(len(ds))])
    torch.testing.assert_close(xb, expected, rtol=0, atol=2e-6)
    assert yb.tolist() == [ds[i][1] for i in range(len(ds))]


@pytest.mark.parametrize("norm", ["none", "batch"])
def test_bf16_channels_last_step_matches_fp32_within_bf16_tolerance(norm):
    cfg = TrainConfig(dataset="mnist", model="cnn", norm=norm)
    torch.manual_seed(0)
    plain = build_model(cfg, (1, 28, 28), 10)
    fast = build_model(cfg, (1, 28, 28), 10).to(memory_format=torch.channels_last)
    fast.load_state_dict(plain.state_dict())
    for m in [*plain.modules(), *fast.modules()]:  # train mode (BatchNorm), same masks: none
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    x = torch.randn(32, 1, 28, 28)
    y = torch.randint(0, 10, (32,))
    loss_p = F.cross_entropy(plain(x), y)
    loss_p.backward()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = fast(x.contiguous(memory_format=torch.channels_last))
    loss_f = F.cross_entropy(out.float(), y)
    loss_f.backward()
    assert loss_f.item() == pytest.approx(loss_p.item(), rel=2e-2)
    for (name, p), q in zip(plain.named_parameters(), fast.parameters(), strict=True):
        g, h = p.grad.flatten(), q.grad.flatten()
        cos = float(F.cosine_similarity(g, h, dim=0))
        assert cos > 0.98, f"{name}: gradient direction differs (cosine {cos:.4f})"
        assert float(h.norm()) == pytest.approx(float(g.norm()), rel=5e-2)


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_fused_optimizer_step_equals_for_loop(name):
    cfg = TrainConfig(optimizer=name, lr=1e-2, weight_decay=0.01)
    torch.manual_seed(0)
    a = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(7))]
    b = [torch.nn.Parameter(p.detach().clone()) for p in a]
    fused, plain = build_optimizer(cfg, a, fast="fused"), build_optimizer(cfg, b, fast="off")
    for _ in range(3):
        for p, q in zip(a, b, strict=True):
            g = torch.randn_like(p)
            p.grad, q.grad = g.clone(), g.clone()
        fused.step()
        plain.step()
    for p, q in zip(a, b, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_cli_imports_no_torchvision():
    """torchvision pulls in torch._dynamo (about 2 s): the CLI path must not import it."""
    code = ("import sys, core.train, core.trainer, core.data, core.models, core.presets; "
            "assert 'torchvision' not in sys.modules, 'torchvision was imported'")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_idx_reader_matches_torchvision(tmp_path):
    from torchvision import datasets

    write_mnist(tmp_path, "MNIST", n_train=20, n_test=6)
    b = load_data(TrainConfig(dataset="mnist", data_root=str(tmp_path), val_split=0.0))
    tv = datasets.MNIST(str(tmp_path), train=False)
    assert torch.equal(b.test.x[:, 0], tv.data) and torch.equal(b.test.y, tv.targets)
    assert b.class_names == tv.classes


def test_mnist_presets_use_the_batchnorm_cnn():
    for name in ("mnist-99", "mnist-cnn-fast"):
        cfg = TrainConfig(**PRESETS[name])
        assert (cfg.model, cfg.norm, cfg.channels_last) == ("cnn", "batch", True)
    fast = TrainConfig(**PRESETS["mnist-99"])
    assert fast.epochs == 1 and fast.scheduler == "onecycle" and fast.label_smoothing > 0
    assert fast.cnn_channels == 16 and fast.subset == 0  # 2.3x faster steps; every image


def test_mnist99_preset_trains_on_tiny_mnist_through_the_cli(tmp_path, capsys):
    from core.train import main

    write_mnist(tmp_path, "MNIST", n_train=40, n_test=10)
    code = main(["--preset", "mnist-99", "--data_root", str(tmp_path), "--no-progress",
                 "--batch_size", "16"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Trained 1 epochs (3 steps)" in out.err
    assert "test accuracy:" in out.out


def test_cpu_threads_respects_requests_and_busy_cores(monkeypatch):
    from core import device

    torch.set_num_threads(2)
    try:
        assert device.cpu_threads(3) == 3  # an explicit request wins
        monkeypatch.setattr(device, "idle_cores", lambda: 1.9)
        assert device.cpu_threads(0) == 2  # idle machine: torch's own count
        monkeypatch.setattr(device, "idle_cores", lambda: 0.1)
        assert device.cpu_threads(0) == 1  # busy machine: one thread, never 0
        monkeypatch.setattr(device, "idle_cores", lambda: None)
        assert device.cpu_threads(0) == 2  # no /proc/stat: keep torch's choice
        torch.set_num_threads(1)
        monkeypatch.setattr(device, "idle_cores", lambda: 2.0)
        assert device.cpu_threads(0) == 1  # never more than the caller's setting
    finally:
        torch.set_num_threads(1)


def test_idle_cores_is_a_fraction_of_the_cores():
    from core.device import idle_cores

    idle = idle_cores(0.05)
    if idle is not None:  # Linux
        assert 0.0 <= idle <= len(__import__("os").sched_getaffinity(0)) + 1e-9


def test_keep_freed_memory_applies_on_glibc():
    import platform

    from core.device import keep_freed_memory

    ok = keep_freed_memory()
    assert isinstance(ok, bool)
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert ok
