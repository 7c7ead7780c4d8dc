"""Your own pictures: a folder (or a .zip of one) in torchvision's ImageFolder layout.

    pets/cat/001.png, pets/cat/002.jpg, pets/dog/001.png, ...   -> classes "cat", "dog"

Every image is decoded once with PIL at load time, converted to RGB, resized (squashed) to
image_size x image_size and stacked into one uint8 tensor, so training never touches PIL.
Classes are the sub-folder names in sorted order, as ImageFolder numbers them. Files that are
not images are skipped and counted in the bundle's notes; a class without any image is refused.
If the folder (or zip) holds a single folder that holds the classes, that one is used.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from core.data.bundle import DataBundle
from core.data.splits import image_bundle

# torchvision.datasets.folder.IMG_EXTENSIONS, copied: importing torchvision costs about 2 s.
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

MAX_BYTES = 2 * 1024**3  # refuse to build an image tensor larger than 2 GB
IGNORED = ("__MACOSX",)


MAX_FILES = 200_000  # a bigger tree is almost surely the wrong folder (e.g. a home directory)


def _hidden(part: str) -> bool:
    return part.startswith(".") or part in IGNORED


def _zip_files(zf: zipfile.ZipFile) -> dict[tuple[str, ...], str]:
    """{path parts: member name} of a zip's files, hidden ones and macOS resource forks left out."""
    files = {}
    for info in zf.infolist():
        parts = PurePosixPath(info.filename).parts
        if not info.is_dir() and not any(_hidden(p) for p in parts):
            files[parts] = info.filename
    return files


def _dir_files(path: Path) -> dict[tuple[str, ...], str]:
    """The same for a folder on disk."""
    files = {}
    for f in path.rglob("*"):
        rel = f.relative_to(path).parts
        if not any(_hidden(p) for p in rel) and f.is_file():
            files[rel] = str(f)
            if len(files) > MAX_FILES:
                raise ValueError(f"{path} holds more than {MAX_FILES:,} files: is it the right "
                                 "folder? Point image_folder at the folder of class folders.")
    return files


def _class_files(files: dict[tuple[str, ...], str], where: Path) -> dict[str, list[str]]:
    """{class name: files}, sorted like ImageFolder; files anywhere below a class folder count."""
    base: tuple[str, ...] = ()
    tops = {parts[0] for parts in files if len(parts) > 1}
    loose = [parts for parts in files if len(parts) == 1]
    if len(tops) == 1 and not loose and any(len(parts) > 2 for parts in files):
        base = (next(iter(tops)),)  # e.g. pets.zip holding pets/cat/..., pets/dog/...
    classes: dict[str, list[str]] = {}
    for parts, name in files.items():
        if len(parts) > len(base) + 1 and parts[: len(base)] == base:
            classes.setdefault(parts[len(base)], []).append(name)
    if not classes:
        raise ValueError(f"{where} has no class folders. Put the images in one sub-folder per "
                         "class, e.g. cat/001.png and dog/001.png.")
    return {k: sorted(v) for k, v in sorted(classes.items())}


def _decode(data: bytes, size: int) -> np.ndarray | None:
    """One image file -> uint8 (size, size, 3), or None if PIL cannot read it."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            rgb = img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(rgb, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def read_image_folder(path: Path, size: int) -> tuple[torch.Tensor, torch.Tensor, list[str], list[str]]:
    """All images as uint8 (N, 3, size, size), int64 labels, class names and notes."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                return _decode_all(_class_files(_zip_files(zf), path), zf.read, path, size)
        except zipfile.BadZipFile as e:
            raise ValueError(f"{path} is not a valid .zip file ({e}).") from e
    return _decode_all(_class_files(_dir_files(path), path), lambda f: Path(f).read_bytes(),
                       path, size)


def _decode_all(
    classes: dict[str, list[str]], read: Callable[[str], bytes], path: Path, size: int
) -> tuple[torch.Tensor, torch.Tensor, list[str], list[str]]:
    """Decode every file of every class; skip unreadable ones, refuse an empty class."""
    total = sum(len(files) for files in classes.values())
    if total * 3 * size * size > MAX_BYTES:
        raise ValueError(f"{total} images at {size}x{size} would need more than 2 GB of memory: "
                         "choose a smaller image_size or use fewer images.")
    images, labels, skipped = [], [], []
    for label, (name, files) in enumerate(classes.items()):
        found = 0
        for f in files:
            arr = _decode(read(f), size) if f.lower().endswith(IMG_EXTENSIONS) else None
            if arr is None:
                skipped.append(f)
                continue
            images.append(arr)
            labels.append(label)
            found += 1
        if not found:
            raise ValueError(f"The class folder {name!r} in {path} has no readable images "
                             f"(e.g. {PurePosixPath(files[0]).name} is not one). "
                             f"Supported: {', '.join(IMG_EXTENSIONS)}.")
    notes = []
    if skipped:
        notes.append(f"Skipped {len(skipped)} file(s) that are not readable images, "
                     f"e.g. {skipped[0]}.")
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor(labels, dtype=torch.int64), list(classes), notes


def load_image_folder(cfg: Any, device: torch.device | str = "cpu") -> DataBundle:
    """Load cfg.image_folder (folder or .zip), resize to cfg.image_size and split."""
    if not cfg.image_folder:
        raise ValueError("dataset=image_folder needs image_folder: a folder (or .zip) with one "
                         "sub-folder of images per class.")
    path = Path(cfg.image_folder).expanduser()
    if not path.exists():
        raise ValueError(f"Image folder not found: {path.resolve()}")
    if path.is_file() and path.suffix.lower() != ".zip":
        raise ValueError(f"{path} is a file, not a folder or a .zip of one.")
    size = int(cfg.image_size)
    if not 4 <= size <= 512:
        raise ValueError(f"image_size must be between 4 and 512 pixels, got {size}.")
    x, y, classes, notes = read_image_folder(path, size)
    if len(classes) < 2:
        notes.append(f"Only one class ({classes[0]!r}): every prediction is trivially right.")
    return image_bundle("image_folder", x, y, cfg, device, class_names=classes, notes=notes)
