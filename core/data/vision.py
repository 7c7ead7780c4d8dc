"""Image sets: scikit-learn's 8x8 digits, and MNIST / FashionMNIST / CIFAR-10 via torchvision.

MNIST-style idx files are read straight into uint8 tensors (no per-sample PIL round trip);
CIFAR-10 and MNIST's legacy .pt files go through torchvision's dataset classes. torchvision is
imported only then: importing it pulls in torch._dynamo, about 2 s of a 10 s MNIST run. When files are absent we try torchvision's
download only if the network looks reachable (and never when TORCH_PLAYGROUND_OFFLINE=1);
otherwise DatasetMissingError says exactly which files belong where.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import shutil
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import torch

from core.data.bundle import DataBundle, DatasetMissingError
from core.data.splits import image_bundle

OFFLINE_ENV = "TORCH_PLAYGROUND_OFFLINE"
PROBE_TIMEOUT = 1.5  # seconds to decide whether the download host answers at all
DOWNLOAD_TIMEOUT = 20.0  # seconds a stalled download socket may wait before giving up


def _torchvision_class(name: str) -> type:
    """torchvision's dataset class for `name`, imported on first use (see the docstring)."""
    from torchvision import datasets as tvd

    if name != "cifar10":
        return tvd.MNIST if name == "mnist" else tvd.FashionMNIST

    class _CIFAR10(tvd.CIFAR10):
        """torchvision's CIFAR10 without the MD5 checks: they hash 170 MB on every load, and
        they would refuse the tiny files our tests write. A damaged file still fails when
        unpickled."""

        train_list = [[f, None] for f, _ in tvd.CIFAR10.train_list]
        test_list = [[f, None] for f, _ in tvd.CIFAR10.test_list]
        meta = {**tvd.CIFAR10.meta, "md5": None}

    return _CIFAR10


_IDX = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
# torchvision's class names (tests check they still match), so reading idx files needs no import
MNIST_CLASSES = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
                 "6 - six", "7 - seven", "8 - eight", "9 - nine"]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
# name -> (torchvision class name, folder under data_root, files, hflip allowed, where to get it)
_SETS: dict[str, tuple[str, str, list[str], bool, str]] = {
    "mnist": ("MNIST", "MNIST/raw", _IDX, False, "https://ossci-datasets.s3.amazonaws.com/mnist/"),
    "fashion_mnist": ("FashionMNIST", "FashionMNIST/raw", _IDX, True,
                      "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
    "cifar10": ("CIFAR10", "cifar-10-batches-py",
                [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"],
                True, "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),
}


def offline() -> bool:
    """True when TORCH_PLAYGROUND_OFFLINE is set (the tests set it): never try to download."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _host_reachable(url: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """Can we open a TCP connection to the URL's host? DNS can hang, so probe in a thread."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    ok: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((parsed.hostname, port), timeout=timeout).close()
            ok.append(True)
        except OSError:
            pass

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    return bool(ok)


def _missing(root: Path, name: str) -> list[str]:
    """Files of `name` not present under root (MNIST's .gz variants count as present)."""
    _, folder, files, _, _ = _SETS[name]
    base = root / folder
    legacy = base.parent / "processed"  # torchvision still reads MNIST's old training.pt/test.pt
    if name != "cifar10" and (legacy / "training.pt").is_file() and (legacy / "test.pt").is_file():
        return []
    return [f for f in files if not (base / f).is_file() and not (base / f"{f}.gz").is_file()]


def _gunzip(root: Path, name: str) -> None:
    """Unpack MNIST-style .gz files next to themselves: torchvision reads only the plain ones."""
    _, folder, files, _, _ = _SETS[name]
    for f in files:
        plain, packed = root / folder / f, root / folder / f"{f}.gz"
        if plain.is_file() or not packed.is_file():
            continue
        try:
            tmp = plain.with_suffix(".part")
            with gzip.open(packed, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            tmp.replace(plain)
        except (OSError, EOFError) as e:
            raise DatasetMissingError(
                f"Could not unpack {packed} ({e}). Unpack it yourself (gunzip -k {packed}) "
                f"so that {plain} exists.") from e


def missing_message(root: Path, name: str, reason: str = "") -> str:
    """Which files go where, and how to get them."""
    cls, folder, files, _, source = _SETS[name]
    where = (root / folder).resolve()
    absent = _missing(root, name)
    lines = [f"{cls} is not in {root.resolve()} (data_root).",
             f"Put these files in {where}/:"]
    lines += [f"  {where / f}" + ("" if f in absent else "  (found)") for f in files]
    if name == "cifar10":
        lines.append(f"Get them by downloading {source} and extracting it into "
                     f"{root.resolve()}/ (the archive holds the cifar-10-batches-py folder).")
    else:
        lines.append(f"The .gz files are fine too. Get them from {source} "
                     "(e.g. train-images-idx3-ubyte.gz).")
    lines.append("Or run once with internet access (downloads automatically), or set "
                 "data_root to a folder that already holds the data.")
    if reason:
        lines.append(f"(Automatic download failed: {reason})")
    return "\n".join(lines)


def _download(root: Path, name: str) -> None:
    """Let torchvision download the set, with a bounded socket timeout; errors become messages."""
    source = _SETS[name][4]
    if offline():
        raise DatasetMissingError(missing_message(root, name, f"{OFFLINE_ENV} is set"))
    if not _host_reachable(source):
        raise DatasetMissingError(missing_message(root, name, "no network connection"))
    # torchvision's urllib calls use the process-wide default timeout (None = wait forever).
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        root.mkdir(parents=True, exist_ok=True)
        _torchvision_class(name)(str(root), train=True, download=True)
    except Exception as e:  # any network / disk / checksum error: explain instead of a traceback
        raise DatasetMissingError(missing_message(root, name, f"{type(e).__name__}: {e}")) from e
    finally:
        socket.setdefaulttimeout(previous)


def _read(root: Path, name: str, train: bool) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """One split: uint8 (N, C, H, W), int64 labels, class names."""
    if name != "cifar10" and _has_idx(root, name):
        return _read_idx(root, name, train)
    try:
        ds = _torchvision_class(name)(str(root), train=train, download=False)
    except RuntimeError as e:
        if "not found" in str(e):  # torchvision's own "Dataset not found" check
            raise DatasetMissingError(missing_message(root, name, str(e))) from e
        raise ValueError(f"The {name} files in {root.resolve()} look damaged ({e}). Delete them "
                         "and get fresh copies.") from e
    except Exception as e:  # truncated idx file, bad pickle...
        raise ValueError(f"The {name} files in {root.resolve()} look damaged ({type(e).__name__}: "
                         f"{e}). Delete them and get fresh copies.") from e
    data = torch.as_tensor(np.asarray(ds.data))
    x = data.unsqueeze(1) if data.dim() == 3 else data.permute(0, 3, 1, 2)  # CIFAR is NHWC
    y = torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64)
    if x.dtype != torch.uint8 or len(x) != len(y):
        raise ValueError(f"The {name} files in {root.resolve()} look damaged: "
                         f"{len(x)} images of type {x.dtype} but {len(y)} labels.")
    return x.contiguous(), y, list(ds.classes)


def _has_idx(root: Path, name: str) -> bool:
    return all((root / _SETS[name][1] / f).is_file() for f in _SETS[name][2])


def _idx_array(path: Path, ndim: int) -> np.ndarray:
    """An IDX file of uint8 (magic 0x0000 08 <ndim>, big-endian sizes, then the raw bytes)."""
    data = path.read_bytes()
    head = 4 * (ndim + 1)
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else -1
    sizes = [int.from_bytes(data[4 * i:4 * i + 4], "big") for i in range(1, ndim + 1)]
    if magic != 0x0800 + ndim or len(data) != head + int(np.prod(sizes)):
        raise ValueError(f"The files in {path.parent.resolve()} look damaged ({path.name} is not "
                         "a complete uint8 IDX file). Delete them and get fresh copies.")
    return np.frombuffer(data, dtype=np.uint8, offset=head).reshape(sizes)


def _read_idx(root: Path, name: str, train: bool) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """MNIST / FashionMNIST straight from the idx files, as torchvision reads them."""
    base = root / _SETS[name][1]
    prefix = "train" if train else "t10k"
    x = torch.from_numpy(_idx_array(base / f"{prefix}-images-idx3-ubyte", 3).copy())
    y = torch.from_numpy(_idx_array(base / f"{prefix}-labels-idx1-ubyte", 1).astype(np.int64))
    if len(x) != len(y):
        raise ValueError(f"The {name} files in {root.resolve()} look damaged: "
                         f"{len(x)} images but {len(y)} labels.")
    return x.unsqueeze(1), y, MNIST_CLASSES if name == "mnist" else FASHION_CLASSES


def load_torchvision(cfg: Any, device: torch.device | str = "cpu") -> DataBundle:
    """MNIST, FashionMNIST or CIFAR-10 from cfg.data_root (downloaded if absent and online)."""
    name = cfg.dataset
    root = Path(cfg.data_root or ".").expanduser()
    if _missing(root, name):
        _download(root, name)
    if name != "cifar10":
        _gunzip(root, name)
    x, y, classes = _read(root, name, train=True)
    xt, yt, _ = _read(root, name, train=False)
    for labels in (y, yt):
        if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < len(classes):
            raise ValueError(f"The {name} labels in {root.resolve()} are outside 0..{len(classes) - 1}: "
                             "the files look damaged.")
    return image_bundle(name, x, y, cfg, device, class_names=classes, test=(xt, yt),
                        hflip=_SETS[name][3])


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits as (1797, 64) values 0..16 and (1797,) labels.

    Read straight from sklearn's digits.csv.gz when it is where sklearn keeps it: importing
    sklearn just to call load_digits takes over a second (tests check both agree).
    """
    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    origin = Path(spec.origin).parent if spec and spec.origin else None
    csv_gz = origin / "datasets" / "data" / "digits.csv.gz" if origin else None
    if csv_gz is not None and csv_gz.is_file():
        table = np.loadtxt(csv_gz, delimiter=",")
        return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    return d.data, d.target


def load_digits(cfg: Any, device: torch.device | str = "cpu") -> DataBundle:
    """scikit-learn's 1,797 real 8x8 digits (bundled, offline) as uint8 images (1, 8, 8)."""
    data, target = _digits_arrays()
    # Pixel values are 0..16 (counts of set pixels in 4x4 blocks); stretch to 0..255 like a photo.
    x = torch.from_numpy(np.rint(data * (255.0 / 16.0)).astype(np.uint8)).view(-1, 1, 8, 8)
    y = torch.from_numpy(target).long()
    return image_bundle("digits", x, y, cfg, device, class_names=[str(i) for i in range(10)],
                        hflip=False)
