"""core.data loaders that read files: torchvision's on-disk formats (tiny files written here),
the missing-file messages, and the download attempt. No test touches the network."""

from __future__ import annotations

import gzip
import pickle
import socket
import struct
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from torchvision import datasets as tvd

from core.config import TrainConfig
from core.data import DatasetMissingError, load_data, vision

MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv(vision.OFFLINE_ENV, "1")


def idx_bytes(a: np.ndarray) -> bytes:
    """The IDX format of MNIST: magic 0x0000 08 <ndim> (08 = uint8), big-endian sizes, raw bytes."""
    return struct.pack(">I", 0x0800 + a.ndim) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()


def images_with_ids(n: int, start: int, shape: tuple[int, ...]) -> np.ndarray:
    """uint8 images whose first pixel is a unique id, so a test can follow them through splits."""
    rng = np.random.default_rng(start)
    x = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    x.reshape(n, -1)[:, 0] = np.arange(start, start + n)
    return x


def write_mnist(root: Path, folder: str, n_train=30, n_test=8, gz=False) -> dict[str, np.ndarray]:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    arrays = {"train-images-idx3-ubyte": images_with_ids(n_train, 0, (28, 28)),
              "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
              "t10k-images-idx3-ubyte": images_with_ids(n_test, 100, (28, 28)),
              "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8)}
    for name, a in arrays.items():
        if gz:
            with gzip.open(raw / f"{name}.gz", "wb") as f:
                f.write(idx_bytes(a))
        else:
            (raw / name).write_bytes(idx_bytes(a))
    return arrays


def write_cifar(root: Path, per_batch=4, n_test=6) -> tuple[np.ndarray, np.ndarray]:
    """cifar-10-batches-py as torchvision reads it: pickled dicts, rows of 1024 R, G then B bytes.
    The real files are Python 2 pickles whose str keys load as 'data'/'labels' with latin1."""
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    all_x = []
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        n = n_test if name == "test_batch" else per_batch
        x = images_with_ids(n, 10 * i, (3, 32, 32))
        entry = {"batch_label": name, "data": x.reshape(n, 3072), "labels": [j % 10 for j in range(n)]}
        (base / name).write_bytes(pickle.dumps(entry, protocol=2))
        all_x.append(x)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    meta = {"label_names": names, "num_cases_per_batch": per_batch, "num_vis": 3072}
    (base / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return np.concatenate(all_x[:5]), all_x[5]


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**kw)


def ids(x: torch.Tensor) -> list[int]:
    return x.reshape(len(x), -1)[:, 0].tolist()


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_style_sets_read_torchvision_idx_files(tmp_path, name, folder):
    arrays = write_mnist(tmp_path, folder)
    b = load_data(cfg(dataset=name, data_root=str(tmp_path), val_split=0.2))
    assert b.input_shape == (1, 28, 28) and b.train.x.dtype == torch.uint8 and b.is_image
    assert (len(b.train), len(b.val), len(b.test)) == (24, 6, 8)
    assert b.class_names == getattr(tvd, folder).classes
    assert b.hflip == (name == "fashion_mnist")  # digits are not mirror-symmetric; clothes are
    # every image keeps its own label through the split, and train + val is the training file
    train_x, train_y = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    for split in (b.train, b.val):
        for img, label in zip(split.x, split.y, strict=True):
            k = int(img[0, 0, 0])
            assert np.array_equal(img[0].numpy(), train_x[k]) and int(label) == train_y[k]
    assert sorted(ids(b.train.x) + ids(b.val.x)) == list(range(30))
    assert ids(b.test.x) == list(range(100, 108))  # the official test split, in order
    # normalisation statistics come from the training split only
    assert float(b.mean[0]) == pytest.approx(b.train.x.double().mean().item() / 255, abs=1e-6)


def test_mnist_gz_files_are_unpacked_and_read(tmp_path):
    write_mnist(tmp_path, "MNIST", gz=True)
    b = load_data(cfg(dataset="mnist", data_root=str(tmp_path)))
    assert len(b.train) + len(b.val) == 30 and (tmp_path / "MNIST/raw/t10k-images-idx3-ubyte").is_file()


def test_cifar10_reads_torchvision_pickles(tmp_path):
    train_x, test_x = write_cifar(tmp_path)
    b = load_data(cfg(dataset="cifar10", data_root=str(tmp_path), val_split=0.25, subset=12))
    assert b.input_shape == (3, 32, 32) and b.class_names[:2] == ["airplane", "automobile"]
    assert (len(b.train), len(b.val), len(b.test)) == (12, 4, 6) and b.hflip
    by_id = {int(x.reshape(-1)[0]): x for x in train_x}
    for img in b.train.x:  # channels come back in CHW order, exactly as written
        assert np.array_equal(img.numpy(), by_id[int(img.reshape(-1)[0])])
    assert np.array_equal(b.test.x.numpy(), test_x)
    assert b.mean.shape == (3,) and b.std.shape == (3,)


@pytest.mark.parametrize("name,folder,expected", [
    ("mnist", "MNIST/raw", MNIST_FILES),
    ("fashion_mnist", "FashionMNIST/raw", MNIST_FILES),
    ("cifar10", "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]),
])
def test_missing_files_message_names_every_file_and_folder(tmp_path, monkeypatch, name, folder,
                                                           expected):
    monkeypatch.setattr(vision, "_host_reachable", lambda url: pytest.fail("must not probe offline"))
    with pytest.raises(DatasetMissingError) as err:
        load_data(cfg(dataset=name, data_root=str(tmp_path / "data")))
    msg = str(err.value)
    for f in expected:
        assert str((tmp_path / "data" / folder / f).resolve()) in msg
    assert "http" in msg and vision.OFFLINE_ENV in msg


def test_message_marks_the_files_already_there(tmp_path):
    raw = tmp_path / "MNIST/raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(b"x")
    with pytest.raises(DatasetMissingError, match=r"train-images-idx3-ubyte  \(found\)"):
        load_data(cfg(dataset="mnist", data_root=str(tmp_path)))


def test_failed_download_is_explained_and_timeout_restored(tmp_path, monkeypatch):
    monkeypatch.delenv(vision.OFFLINE_ENV)
    monkeypatch.setattr(vision, "_host_reachable", lambda url: True)

    def no_network(self):
        assert socket.getdefaulttimeout() == vision.DOWNLOAD_TIMEOUT  # a stalled socket gives up
        raise URLError("connection refused")

    monkeypatch.setattr(tvd.MNIST, "download", no_network)
    before = socket.getdefaulttimeout()
    with pytest.raises(DatasetMissingError, match="Automatic download failed: URLError"):
        load_data(cfg(dataset="mnist", data_root=str(tmp_path)))
    assert socket.getdefaulttimeout() == before


def test_unreachable_host_skips_the_download(tmp_path, monkeypatch):
    monkeypatch.delenv(vision.OFFLINE_ENV)
    monkeypatch.setattr(vision, "_host_reachable", lambda url: False)
    monkeypatch.setattr(tvd.CIFAR10, "download", lambda self: pytest.fail("must not download"))
    with pytest.raises(DatasetMissingError, match="no network connection"):
        load_data(cfg(dataset="cifar10", data_root=str(tmp_path)))


def test_probe_of_a_closed_port_is_quick():
    assert vision._host_reachable("http://127.0.0.1:9/", timeout=0.5) is False


def test_damaged_idx_file_is_a_clear_error(tmp_path):
    write_mnist(tmp_path, "MNIST")
    path = tmp_path / "MNIST/raw/train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match="look damaged"):
        load_data(cfg(dataset="mnist", data_root=str(tmp_path)))
