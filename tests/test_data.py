"""core.data: generated sets, splits, normalisation, augmentation and batching against torch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.utils.data import DistributedSampler
from torchvision import transforms
from torchvision.transforms import functional as TF

from core.config import DATASETS, TrainConfig
from core.data import LOADERS, DataBundle, Split, load_data
from core.data.augment import crop_padding, random_crop_flip

SYNTHETIC = ("moons", "circles", "spiral", "xor", "blobs")


@pytest.fixture
def make_cfg():
    return lambda **kw: TrainConfig(**kw)


def toy_bundle(n: int, *, image: bool = False, augment: bool = False) -> DataBundle:
    """A bundle whose label of row i is i, so batches reveal which rows they hold."""
    y = torch.arange(n)
    x = (torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
         if image else y.float()[:, None])
    stats = (torch.tensor([0.5, 0.4, 0.3]), torch.tensor([0.2, 0.25, 0.3])) if image else (None, None)
    return DataBundle("toy", "classification", tuple(x.shape[1:]), n, [str(i) for i in range(n)],
                      Split(x, y), Split(x[:0], y[:0]), None, *stats, is_image=image, augment=augment)


def test_every_configured_dataset_has_a_loader():
    assert set(LOADERS) == set(DATASETS)


# ---- generated sets ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_classification_sets(make_cfg, name):
    cfg = make_cfg(dataset=name, n_samples=500, noise=0.1, spiral_arms=5, blob_centers=3)
    b = load_data(cfg)
    k = {"spiral": 5, "blobs": 3}.get(name, 2)
    assert (b.task, b.input_shape, b.num_classes, b.is_image) == ("classification", (2,), k, False)
    assert b.class_names == [f"class {i}" for i in range(k)]
    assert len(b.train) + len(b.val) + len(b.test) == 500
    assert (len(b.test), len(b.val)) == (100, 80)  # 20 % held out, then 20 % of the rest
    assert b.train.x.dtype == torch.float32 and b.train.y.dtype == torch.int64
    assert set(b.train.y.tolist()) == set(range(k))
    # standardised with TRAINING statistics: exactly 0 / 1 there, only roughly so elsewhere
    torch.testing.assert_close(b.train.x.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(b.train.x.std(0, unbiased=False), torch.ones(2), atol=1e-5, rtol=0)
    assert b.val.x.mean(0).abs().max() < 0.4
    assert b.mean is None and b.std is None


@pytest.mark.parametrize("n", [11, 200])
def test_moons_and_circles_match_scikit_learn_without_noise(n):
    from sklearn.datasets import make_circles, make_moons

    from core.data.synthetic import circles, moons

    for ours, theirs in [(moons(n, 0.0, 0), make_moons(n, shuffle=False)),
                         (circles(n, 0.0, 0), make_circles(n, shuffle=False, factor=0.5))]:
        np.testing.assert_allclose(ours[0], theirs[0], atol=1e-12)
        assert np.array_equal(ours[1], theirs[1])


def test_spiral_arms_wind_around_the_origin():
    from core.data.synthetic import spiral

    x, y = spiral(300, 0.0, seed=0, arms=3)
    r = np.hypot(x[:, 0], x[:, 1])
    assert x.shape == (300, 2) and np.bincount(y).tolist() == [100, 100, 100]
    assert r.max() == pytest.approx(1.0) and r.min() == pytest.approx(0.0)


def test_regression_set(make_cfg):
    b = load_data(make_cfg(dataset="regression", n_samples=400, noise=0.0, loss="mse"))
    assert (b.task, b.input_shape, b.num_classes) == ("regression", (1,), 1)
    assert b.train.y.dtype == torch.float32 and b.train.y.shape == (len(b.train), 1)
    assert b.train.y.abs().max() <= 1.0  # noise 0: y = sin(3x) exactly, targets left in their units
    assert "class_counts" not in b.describe()


def test_same_seed_same_data_other_seed_other_data(make_cfg):
    a, b = (load_data(make_cfg(dataset="moons", data_seed=3)) for _ in range(2))
    c = load_data(make_cfg(dataset="moons", data_seed=4))
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.y, b.test.y)
    assert not torch.equal(a.train.x, c.train.x)


def test_subset_val_zero_and_test_zero(make_cfg):
    b = load_data(make_cfg(dataset="xor", n_samples=1000, subset=100, val_split=0.2))
    assert (len(b.train), len(b.val), len(b.test)) == (100, 25, 200)
    b = load_data(make_cfg(dataset="xor", n_samples=100, val_split=0.0, test_split=0.0))
    assert (len(b.train), len(b.val), b.test) == (100, 0, None)
    assert list(b.batches("val", 8, shuffle=True)) == [] and b.num_batches("val", 8) == 0
    with pytest.raises(ValueError, match="no test split"):
        next(b.batches("test", 8, shuffle=False))


def test_too_few_rows_is_refused(make_cfg):
    with pytest.raises(ValueError, match="nothing is left for training"):
        load_data(make_cfg(dataset="moons", n_samples=10, val_split=0.9, test_split=0.9))


# ---- digits, normalisation, augmentation -------------------------------------------------------
def test_digits_are_uint8_images_with_train_only_stats(make_cfg):
    b = load_data(make_cfg(dataset="digits"))
    assert b.is_image and b.input_shape == (1, 8, 8) and b.train.x.dtype == torch.uint8
    assert len(b.train) + len(b.val) + len(b.test) == 1797 and b.num_classes == 10
    assert int(b.train.x.max()) == 255 and not b.hflip  # 16 -> 255; a mirrored digit is no digit
    train = b.train.x.numpy() / 255.0
    assert float(b.mean[0]) == pytest.approx(train.mean(), abs=1e-6)
    assert float(b.std[0]) == pytest.approx(train.std(), abs=1e-6)
    d = b.describe()
    assert json.loads(json.dumps(d)) == d and d["train"] == len(b.train) and d["test"] == 359


def test_digits_file_reader_matches_load_digits():
    from sklearn.datasets import load_digits as sk_digits

    from core.data.vision import _digits_arrays

    data, target = _digits_arrays()
    ref = sk_digits()
    assert np.array_equal(data, ref.data) and np.array_equal(target, ref.target)


def test_prepare_matches_torchvision_totensor_and_normalize():
    b = toy_bundle(16, image=True)
    ours = b.prepare(b.train.x, train=False)
    ref = transforms.Compose([transforms.ToTensor(), transforms.Normalize(b.mean.tolist(), b.std.tolist())])
    theirs = torch.stack([ref(img.permute(1, 2, 0).numpy()) for img in b.train.x])
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    feats = toy_bundle(4)
    assert feats.prepare(feats.train.x, train=True) is feats.train.x  # features pass through


def test_augmentation_keeps_shape_changes_pixels_and_is_seeded():
    b = toy_bundle(64, image=True, augment=True)
    plain = b.prepare(b.train.x, train=False)
    aug = b.prepare(b.train.x, train=True, generator=torch.Generator().manual_seed(0))
    again = b.prepare(b.train.x, train=True, generator=torch.Generator().manual_seed(0))
    assert aug.shape == plain.shape and aug.dtype == torch.float32
    assert not torch.equal(aug, plain) and torch.equal(aug, again)
    b.augment = False
    assert torch.equal(b.prepare(b.train.x, train=True), plain)


@pytest.mark.parametrize("flip", [True, False])
def test_each_augmented_image_is_a_torchvision_crop_of_the_padded_image(flip):
    x = torch.randint(0, 256, (24, 3, 10, 10), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    out = random_crop_flip(x, 2, flip=flip, generator=torch.Generator().manual_seed(5))
    assert out.shape == x.shape and out.dtype == torch.uint8
    flips = 0
    for img, got in zip(x, out, strict=True):
        padded = TF.pad(img, [2])  # RandomCrop(padding=2) pads with 0
        crops = [TF.crop(padded, top, left, 10, 10) for top in range(5) for left in range(5)]
        if any(torch.equal(got, c) for c in crops):
            continue
        assert flip and any(torch.equal(got, TF.hflip(c)) for c in crops)
        flips += 1
    assert (flips > 0) == flip


def test_crop_padding_follows_image_size():
    assert [crop_padding(s) for s in (32, 64, 28, 8)] == [4, 4, 2, 1]


# ---- batching ----------------------------------------------------------------------------------
@pytest.mark.parametrize("n,bs,shuffle,drop_last", [(10, 3, True, False), (10, 3, False, False),
                                                    (10, 3, True, True), (12, 4, True, False)])
def test_batches_cover_every_row_once_per_epoch(n, bs, shuffle, drop_last):
    b = toy_bundle(n)
    got = list(b.batches("train", bs, shuffle=shuffle, generator=torch.Generator().manual_seed(0),
                         drop_last=drop_last))
    rows = torch.cat([y for _, y in got]).tolist()
    assert len(got) == b.num_batches("train", bs, drop_last=drop_last)
    if drop_last:
        assert len(rows) == n - n % bs and len(set(rows)) == len(rows)
    else:
        assert sorted(rows) == list(range(n))
    assert (rows == sorted(rows)) == (not shuffle)
    for x, y in got:
        assert torch.equal(x[:, 0], y.float())  # x and y stay paired


def test_reshuffles_with_the_generator():
    b = toy_bundle(50)
    g = torch.Generator().manual_seed(0)
    first, second = ([int(i) for _, y in b.batches("train", 50, shuffle=True, generator=g) for i in y]
                     for _ in range(2))
    assert first != second  # the generator advances: a new order each epoch
    replay = [int(i) for _, y in b.batches("train", 50, shuffle=True, generator=torch.Generator().manual_seed(0))
              for i in y]
    assert replay == first


@pytest.mark.parametrize("n,drop_last", [(20, False), (21, False), (21, True)])
def test_sharding_matches_distributed_sampler(n, drop_last):
    b = toy_bundle(n)
    shards = []
    for rank in (0, 1):
        g = torch.Generator().manual_seed(7)
        rows = [int(i) for _, y in b.batches("train", 4, shuffle=True, generator=g, rank=rank,
                                             world_size=2) for i in y]
        if drop_last:
            g = torch.Generator().manual_seed(7)
            rows = [int(i) for _, y in b.batches("train", 1, shuffle=True, generator=g, rank=rank,
                                                 world_size=2, drop_last=True) for i in y]
        ref = DistributedSampler(range(n), num_replicas=2, rank=rank, shuffle=True, seed=7, drop_last=drop_last)
        assert rows == list(ref)
        shards.append(rows)
    assert len(shards[0]) == len(shards[1])  # same number of steps on each rank
    if n % 2 == 0 or drop_last:
        assert not set(shards[0]) & set(shards[1])
    if n % 2 == 0:
        assert sorted(shards[0] + shards[1]) == list(range(n))


@pytest.mark.parametrize("world_size", [1, 2, 3])
@pytest.mark.parametrize("drop_last", [False, True])
def test_num_batches_matches_what_batches_yields(world_size, drop_last):
    b = toy_bundle(23)
    for bs in (1, 4, 5, 23, 30):
        for rank in range(world_size):
            got = len(list(b.batches("train", bs, shuffle=True, rank=rank, world_size=world_size,
                                     drop_last=drop_last)))
            assert got == b.num_batches("train", bs, world_size=world_size, drop_last=drop_last)


def test_image_batches_are_prepared_and_bad_arguments_are_refused():
    b = toy_bundle(10, image=True, augment=True)
    x, y = next(b.batches("train", 4, shuffle=True, train=True, generator=torch.Generator().manual_seed(0)))
    assert x.shape == (4, 3, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.int64
    for kwargs, msg in [({"split": "valid"}, "Unknown split"), ({"batch_size": 0}, "batch_size"),
                        ({"rank": 2, "world_size": 2}, "rank")]:
        args = {"split": "train", "batch_size": 4, "shuffle": True, **kwargs}
        with pytest.raises(ValueError, match=msg):
            next(b.batches(**args))


def test_to_moves_every_tensor_and_keeps_values():
    b = toy_bundle(6, image=True)
    c = b.to("cpu")
    assert c is not b and c.device == torch.device("cpu") and torch.equal(c.train.x, b.train.x)
    assert torch.equal(c.mean, b.mean) and c.describe() == b.describe()
