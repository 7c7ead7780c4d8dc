"""core.data.folder: your own pictures, as a folder or a .zip in ImageFolder layout."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.datasets import ImageFolder

from core.config import TrainConfig
from core.data import load_data
from core.data.folder import read_image_folder

COLOURS = {"cat": (200, 30, 30), "dog": (30, 200, 30), "eel": (30, 30, 200)}


def make_folder(root: Path, per_class: int = 5, junk: bool = True) -> Path:
    """root/<class>/<i>.png|jpg of one flat colour per class, of varied sizes, plus junk files."""
    for name, colour in COLOURS.items():
        d = root / name
        d.mkdir(parents=True)
        for i in range(per_class):
            img = Image.new("RGB", (10 + 3 * i, 12 + i), colour)
            if i == 0:
                img = img.convert("L")  # a greyscale picture becomes RGB too
            img.save(d / f"{i}.{'png' if i % 2 else 'jpg'}")
    if junk:
        (root / "cat" / "notes.txt").write_text("not an image")
        (root / "dog" / "broken.png").write_bytes(b"this is no png")
        (root / ".DS_Store").write_bytes(b"\x00")
    return root


def load(path: Path, **kw):
    return load_data(TrainConfig(dataset="image_folder", image_folder=str(path), **kw))


def test_folder_loads_resized_rgb_uint8_with_imagefolder_classes(tmp_path):
    root = make_folder(tmp_path / "pets")
    b = load(root, image_size=16, val_split=0.2, test_split=0.2)
    assert b.is_image and b.input_shape == (3, 16, 16) and b.train.x.dtype == torch.uint8
    assert b.class_names == ImageFolder(str(make_folder(tmp_path / "ref", junk=False))).classes
    assert len(b.train) + len(b.val) + len(b.test) == 15
    assert any("Skipped 2 file(s)" in n for n in b.notes)
    # each picture is its class's flat colour (jpeg is lossy: allow a little)
    for split in (b.train, b.val, b.test):
        for img, label in zip(split.x, split.y, strict=True):
            want = COLOURS[b.class_names[int(label)]]
            grey = img[0].float().mean() == img[1].float().mean() == img[2].float().mean()
            if not grey:
                assert np.abs(img.float().mean((1, 2)).numpy() - want).max() < 8
    assert b.mean.shape == (3,)


def test_zip_with_a_wrapping_folder_equals_the_folder(tmp_path):
    root = make_folder(tmp_path / "pets")
    archive = tmp_path / "pets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(root.rglob("*")):
            zf.write(f, f.relative_to(tmp_path).as_posix())  # members: pets/cat/0.jpg ...
        zf.writestr("__MACOSX/pets/cat/._0.jpg", b"resource fork")
    x_dir, y_dir, classes_dir, notes_dir = read_image_folder(root, 12)
    x_zip, y_zip, classes_zip, notes_zip = read_image_folder(archive, 12)
    assert classes_zip == classes_dir == ["cat", "dog", "eel"]
    assert torch.equal(x_zip, x_dir) and torch.equal(y_zip, y_dir)
    assert len(notes_zip) == len(notes_dir) == 1
    assert load(archive, image_size=12).input_shape == (3, 12, 12)


def test_files_in_nested_folders_belong_to_their_class(tmp_path):
    root = make_folder(tmp_path / "pets", per_class=2, junk=False)
    (root / "cat" / "more").mkdir()
    Image.new("RGB", (8, 8), COLOURS["cat"]).save(root / "cat" / "more" / "x.png")
    x, y, classes, _ = read_image_folder(root, 8)
    assert classes == ["cat", "dog", "eel"] and y.tolist().count(0) == 3


@pytest.mark.parametrize("setup,message", [
    (lambda p: None, "not found"),
    (lambda p: p.mkdir(), "no class folders"),
    (lambda p: (p.mkdir(), (p / "a.png").write_bytes(b"x")), "no class folders"),
    (lambda p: (p.mkdir(), (p / "cat").mkdir(), (p / "cat" / "readme.md").write_text("hi")),
     "'cat' .* no readable images \\(e.g. readme.md"),
])
def test_bad_folders_get_clear_messages(tmp_path, setup, message):
    path = tmp_path / "imgs"
    setup(path)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_bad_zip_and_plain_file_are_refused(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a valid .zip"):
        load(tmp_path / "x.zip")
    (tmp_path / "x.png").write_bytes(b"")
    with pytest.raises(ValueError, match="not a folder or a .zip"):
        load(tmp_path / "x.png")


def test_one_class_gets_a_note(tmp_path):
    d = tmp_path / "only" / "cat"
    d.mkdir(parents=True)
    for i in range(6):
        Image.new("RGB", (9, 9), (i * 40, 0, 0)).save(d / f"{i}.png")
    b = load(tmp_path / "only", image_size=8)
    assert b.num_classes == 1 and any("Only one class" in n for n in b.notes)
