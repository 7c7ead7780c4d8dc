"""The data section of the standalone script (core/script.py).

Synthetic sets, splits, standardisation and the image ops are copied from core/data by
`inspect.getsource`, so the script makes exactly the app's data; file-based sets use torchvision
or scikit-learn the same way core/data does. CSV and image folders get a simpler reader.
"""

from __future__ import annotations

import inspect
from typing import Any

from core.data import augment, splits, synthetic

SYNTHETIC = ("moons", "circles", "spiral", "xor", "blobs", "regression")
TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10"}


def _src(*objs: Any) -> str:
    return "\n\n".join(inspect.getsource(o).rstrip() for o in objs)


def data_imports(cfg: Any) -> list[str]:
    if cfg.dataset in ("moons", "circles"):
        return ["from sklearn.datasets import make_circles, make_moons"]
    if cfg.dataset == "digits":
        return ["from sklearn.datasets import load_digits"]
    if cfg.dataset in TORCHVISION or cfg.dataset == "image_folder":
        return ["import torchvision"]
    if cfg.dataset == "csv":
        return ["import csv"]
    return []


_FEATURES = '''
def load_splits(cfg):
    """(train, val, test) as (x, y) pairs, features standardised with training statistics."""
    x, y = {make}
    x = torch.as_tensor(x, dtype=torch.float32)
    y = {target}
    tr, va, te = split_indices(len(y), cfg, has_official_test=False)
    te = te if te is not None and len(te) > 0 else None
    xs = standardise(x[tr], x[va], *([x[te]] if te is not None else []))
    ys = [y[tr], y[va]] + ([y[te]] if te is not None else [])
    if {std_targets}:
        *ys, _, _ = standardise(*ys)
    test = (xs[2], ys[2]) if te is not None else None
    return (xs[0], ys[0]), (xs[1], ys[1]), test


def prepare(x, train, generator=None):
    return x  # features were standardised once, above
'''

_IMAGES = '''
def load_splits(cfg):
    """(train, val, test) as uint8 images (N, C, H, W) and int64 labels."""
{read}
    y = torch.as_tensor(y, dtype=torch.int64)
    tr, va, te = split_indices(len(y), cfg, has_official_test={official})
    if {official}:
        test = (xt, torch.as_tensor(yt, dtype=torch.int64))
    else:
        test = (x[te], y[te]) if te is not None and len(te) > 0 else None
    global MEAN, STD
    MEAN, STD = channel_stats(x[tr].contiguous())  # statistics of the training split only
    return (x[tr].contiguous(), y[tr]), (x[va].contiguous(), y[va]), test


def prepare(x, train, generator=None):
    """uint8 -> normalised float32, with random crop + flip when training with augment."""
    if train and AUGMENT:
        x = random_crop_flip(x, crop_padding(x.shape[-1]), flip=HFLIP, generator=generator)
    return normalise(x, MEAN, STD)
'''

_READERS = {
    "digits": '''    d = load_digits()
    x = torch.from_numpy(np.rint(d.data * (255.0 / 16.0)).astype(np.uint8)).view(-1, 1, 8, 8)
    y = d.target''',
    "torchvision": '''    def read(train):
        ds = torchvision.datasets.{cls}(cfg.data_root, train=train, download=False)
        data = torch.as_tensor(np.asarray(ds.data))
        x = data.unsqueeze(1) if data.dim() == 3 else data.permute(0, 3, 1, 2)  # CIFAR is NHWC
        return x.contiguous(), np.asarray(ds.targets)

    x, y = read(True)
    xt, yt = read(False)''',
    "image_folder": '''    # A folder with one sub-folder per class (unzip a .zip first).
    T = torchvision.transforms
    ds = torchvision.datasets.ImageFolder(cfg.image_folder, transform=T.Compose([
        T.Lambda(lambda img: img.convert("RGB")),
        T.Resize((cfg.image_size, cfg.image_size)), T.PILToTensor()]))
    x = torch.stack([img for img, _ in ds]).to(torch.uint8)
    y = np.asarray(ds.targets)''',
}

_CSV = '''
def read_csv(cfg):
    """Numeric columns as numbers, text columns one-hot; the label column as classes or numbers.
    (Simpler than the app's reader: no checks for missing values.)"""
    with open(cfg.csv_path, newline="", encoding="utf-8-sig") as f:
        dialect = csv.Sniffer().sniff(f.read(4096), delimiters=",;\\t|")
        f.seek(0)
        rows = [[c.strip() for c in r] for r in csv.reader(f, dialect) if any(r)]
    header, body = rows[0], rows[1:]
    label = cfg.csv_label or header[-1]
    cols = {{h: [r[j] for r in body] for j, h in enumerate(header)}}

    def numeric(cells):
        try:
            return np.array([float(c) for c in cells])
        except ValueError:
            return None

    feats = []
    for h in header:
        if h != label:
            num = numeric(cols[h])
            cats = sorted(set(cols[h]))
            feats.append(num[:, None] if num is not None
                         else np.array([[c == k for k in cats] for c in cols[h]], dtype=float))
    x = np.concatenate(feats, axis=1)
    if TASK == "regression":
        return x, torch.as_tensor(numeric(cols[label])[:, None], dtype=torch.float32)
    num = numeric(cols[label])
    keys = sorted(set(num.tolist())) if num is not None else sorted(set(cols[label]))
    values = num.tolist() if num is not None else cols[label]
    return x, torch.as_tensor([keys.index(v) for v in values], dtype=torch.int64)
'''


def data_section(cfg: Any, task: str) -> str:
    """Functions load_splits(cfg) and prepare(x, train, generator) for cfg.dataset."""
    parts = [_src(splits.split_indices, splits.standardise)]
    name = cfg.dataset
    if name in SYNTHETIC:
        parts.append(_src(synthetic._per_class, synthetic.moons, synthetic.circles,
                          synthetic.spiral, synthetic.xor, synthetic.blobs,
                          synthetic.regression, synthetic.generate))
        target = ("torch.as_tensor(y, dtype=torch.float32)" if task == "regression"
                  else "torch.as_tensor(y, dtype=torch.int64)")
        parts.append(_FEATURES.format(make="generate(cfg)", target=target, std_targets=False))
    elif name == "csv":
        parts.append(_CSV.format())
        parts.append(_FEATURES.format(make="read_csv(cfg)", target="y",
                                      std_targets=task == "regression"))
    else:
        parts.append(_src(augment.crop_padding, augment.channel_stats, augment.normalise,
                          augment._rand, augment.random_crop_flip))
        if name in TORCHVISION:
            read = _READERS["torchvision"].replace("{cls}", TORCHVISION[name])
        else:
            read = _READERS[name]
        parts.append(_IMAGES.format(read=read, official=name in TORCHVISION))
    return "\n\n".join(p.strip("\n") for p in parts)
