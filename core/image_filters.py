"""Real-image mode: a picture convolved with a hand-made kernel through F.conv2d.

PyTorch's conv2d is cross-correlation (the kernel is not flipped), so Sobel x as written here
responds positively where brightness grows from left to right.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

SOURCES = ("digit", "photo", "upload")


def _gauss(size: int) -> np.ndarray:
    row = np.array([1, 2, 1] if size == 3 else [1, 4, 6, 4, 1], dtype=np.float64)
    k = np.outer(row, row)
    return k / k.sum()


def _sobel(size: int, axis: str) -> np.ndarray:
    smooth = np.array([1, 2, 1] if size == 3 else [1, 4, 6, 4, 1], dtype=np.float64)
    diff = np.array([-1, 0, 1] if size == 3 else [-1, -2, 0, 2, 1], dtype=np.float64)
    return np.outer(smooth, diff) if axis == "x" else np.outer(diff, smooth)


def _identity(size: int) -> np.ndarray:
    k = np.zeros((size, size))
    k[size // 2, size // 2] = 1.0
    return k


def _laplacian(size: int) -> np.ndarray:
    if size == 3:
        return np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)
    k = -np.ones((5, 5))
    k[2, 2] = 24.0
    return -k  # same sign convention as the 3x3: negative centre


# name -> builder(size) for size 3 or 5
KERNELS: dict[str, Callable[[int], np.ndarray]] = {
    "identity": _identity,
    "sobel x (vertical edges)": lambda n: _sobel(n, "x"),
    "sobel y (horizontal edges)": lambda n: _sobel(n, "y"),
    "laplacian (all edges)": _laplacian,
    "box blur": lambda n: np.full((n, n), 1.0 / (n * n)),
    "gaussian blur": _gauss,
    "sharpen": lambda n: 2 * _identity(n) - _gauss(n),
}


def kernel_preset(name: str, size: int) -> np.ndarray:
    """A named kernel of size 3 or 5."""
    if name not in KERNELS:
        raise ValueError(f"unknown kernel {name!r}; choose one of {list(KERNELS)}")
    if size not in (3, 5):
        raise ValueError(f"kernel size must be 3 or 5, got {size}")
    return KERNELS[name](size)


def load_digit(index: int, upscale: int = 4) -> np.ndarray:
    """Digit `index` of scikit-learn's bundled 8×8 set, scaled to 0..1 and enlarged (bilinear)."""
    from sklearn.datasets import load_digits

    images = load_digits().images
    if not 0 <= index < len(images):
        raise ValueError(f"digit index must be in 0..{len(images) - 1}, got {index}")
    x = torch.tensor(images[index] / 16.0, dtype=torch.float32)[None, None]
    if upscale > 1:
        x = F.interpolate(x, scale_factor=upscale, mode="bilinear", align_corners=False)
    return x[0, 0].numpy()


def digit_label(index: int) -> int:
    """The class of digit `index`."""
    from sklearn.datasets import load_digits

    return int(load_digits().target[index])


def load_photo(max_side: int = 128) -> np.ndarray:
    """scikit-learn's bundled sample photo (a temple in China), grey, 0..1."""
    from PIL import Image
    from sklearn.datasets import load_sample_image

    return _fit(Image.fromarray(load_sample_image("china.jpg")), max_side)


def load_picture(data: bytes, max_side: int = 128) -> np.ndarray:
    """An uploaded picture, grey, shrunk so its longer side is at most max_side, 0..1."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError("that file is not a picture PIL can read (try PNG or JPEG)") from exc
    return _fit(image, max_side)


def _fit(image, max_side: int) -> np.ndarray:
    if max_side < 4:
        raise ValueError(f"max size must be at least 4 pixels, got {max_side}")
    grey = image.convert("L")
    grey.thumbnail((max_side, max_side))  # keeps the aspect ratio, never enlarges
    return np.asarray(grey, dtype=np.float32) / 255.0


def apply_kernel(image: np.ndarray, kernel: np.ndarray, stride: int = 1,
                 padding: str = "same") -> np.ndarray:
    """F.conv2d(image, kernel): the feature map."""
    if not np.all(np.isfinite(kernel)):
        raise ValueError("every kernel entry must be a number")
    if padding == "same" and stride != 1:
        raise ValueError("padding='same' needs stride 1; choose 'valid' or stride 1")
    kh, kw = kernel.shape
    if padding == "valid" and (kh > image.shape[0] or kw > image.shape[1]):
        raise ValueError("the kernel is larger than the picture; use padding 'same'")
    x = torch.tensor(image, dtype=torch.float32)[None, None]
    w = torch.tensor(kernel, dtype=torch.float32)[None, None]
    return F.conv2d(x, w, stride=stride, padding=padding)[0, 0].numpy()


def filter_code(kernel: np.ndarray, stride: int, padding: str) -> str:
    """A runnable snippet applying this kernel to a picture."""
    rows = ",\n    ".join("[" + ", ".join(f"{float(v):.8g}" for v in row) + "]" for row in kernel)
    return (  # dtype: whole-number kernels (Sobel) would otherwise be int64, which conv2d refuses
        "import torch\nimport torch.nn.functional as F\n\n"
        f"kernel = torch.tensor([\n    {rows},\n], dtype=torch.float32)[None, None]"
        "  # (out=1, in=1, kh, kw)\n"
        "image = torch.rand(1, 1, 64, 64)  # (N, C, H, W) grey picture in 0..1\n"
        f"feature_map = F.conv2d(image, kernel, stride={stride}, padding={padding!r})\n"
        "print(tuple(feature_map.shape))\n"
    )
