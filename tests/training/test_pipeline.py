"""TileDataset: batch contents, determinism for a seed, epochs, normalisation modes, fit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import keras
import numpy as np
import pytest

from lggseg.classes import LGG_4
from lggseg.data.source import DataSource, Sample
from lggseg.stain.base import StainNormalizer
from lggseg.stain.source_stain import SourceStain
from lggseg.training.pipeline import TileDataset
from lggseg.training.samplers import ClassCenteredSampler, RareClassOversampler, UniformSampler

BG, CT, LE, IT = range(4)


def _source(n: int = 6, *, h: int = 48, w: int = 64) -> DataSource:
    """Images whose pixels encode (row, col, image index), so a tile says where it came from."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:h, 0:w]
    samples = []
    for i in range(n):
        image = np.stack([rows, cols, np.full_like(rows, i)], axis=-1).astype(np.uint8)
        mask = np.where(cols < w // 2, BG, CT).astype(np.uint8)
        r, c = rng.integers(0, h - 4), rng.integers(0, w - 4)
        mask[r : r + 4, c : c + 4] = LE if i % 2 else IT
        samples.append(Sample(image=image, mask=mask, name=f"s{i}"))
    return DataSource(samples=samples, scheme=LGG_4)


def _where(x: np.ndarray) -> tuple[int, int, int]:
    """(image index, top, left) of a tile in [0, 1] cut from a position-encoding image."""
    px = np.rint(x[0, 0] * 255).astype(int)
    return int(px[2]), int(px[0]), int(px[1])


def _flip(image, mask, *, rng):
    # A joint augmentation: image and mask move together.
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(mask)


class _GreyWorld(StainNormalizer):
    """Scales each image's channel means to the reference's: depends on the whole input."""

    method = "greyworld"

    def __init__(self) -> None:
        super().__init__()
        self.means: list[float] | None = None

    def fit(self, reference):
        self.means = [float(v) for v in reference.reshape(-1, 3).mean(axis=0)]
        return self

    @property
    def is_fitted(self) -> bool:
        return self.means is not None

    def _estimate_source(self, sample):
        own = sample.reshape(-1, 3).mean(axis=0)
        return SourceStain(method=self.method, parameters={"means": own}, reason=None, pixels=own.size)

    def _apply_source(self, batch, source):
        out = batch * (np.asarray(self.means) / np.maximum(source.parameters["means"], 1.0))
        return np.clip(np.rint(out), 0, 255).astype(np.uint8), [None] * len(batch)

    def get_config(self) -> dict[str, Any]:
        return {"means": self.means}

    @classmethod
    def from_config(cls, config):
        out = cls()
        out.means = config["means"]
        return out


def _all_batches(ds: TileDataset) -> list[tuple[np.ndarray, np.ndarray]]:
    return [ds[i] for i in range(len(ds))]


def test_batches_have_the_model_shapes_and_masks_match_their_tiles():
    source = _source()
    ds = TileDataset(source=source, tile_size=32, batch_size=4, seed=0)
    assert len(ds) == 2  # 6 tiles, batch 4: the last batch wraps around to stay full
    for x, y in _all_batches(ds):
        assert x.shape == (4, 32, 32, 3) and x.dtype == np.float32
        assert y.shape == (4, 32, 32) and y.dtype == np.int32
        assert 0.0 <= x.min() and x.max() <= 1.0
        for xt, yt in zip(x, y):
            i, top, left = _where(xt)
            np.testing.assert_array_equal(yt, source[i].mask[top : top + 32, left : left + 32])
    seen = {_where(xt)[0] for x, _ in _all_batches(ds) for xt in x}
    assert seen == set(range(6))


def test_same_seed_same_batches_whatever_the_order_or_threads():
    source = _source()
    sampler = ClassCenteredSampler(classes=("LE", "IT"), probability=0.5, tiles_per_image=2)
    kwargs = dict(source=source, sampler=sampler, tile_size=32, batch_size=4, augmentation=_flip)
    a = TileDataset(seed=3, **kwargs)
    b = TileDataset(seed=3, workers=2, **kwargs)
    first = _all_batches(a)
    # Batches fetched by two threads in reverse order are the same batches.
    with ThreadPoolExecutor(max_workers=2) as pool:
        reverse = list(pool.map(b.__getitem__, reversed(range(len(b)))))[::-1]
    for (xa, ya), (xb, yb) in zip(first, reverse):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    # A new epoch draws new tiles; both datasets move in step.
    a.on_epoch_end()
    b.on_epoch_end()
    assert a.epoch == b.epoch == 1 and a.specs == b.specs
    second = _all_batches(a)
    assert any(not np.array_equal(x1, x2) for (x1, _), (x2, _) in zip(first, second))
    for (xa, ya), (xb, yb) in zip(second, _all_batches(b)):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    # Another seed gives other batches.
    other = _all_batches(TileDataset(seed=4, **kwargs))
    assert any(not np.array_equal(x1, x2) for (x1, _), (x2, _) in zip(first, other))
    # Resuming at an epoch reproduces it.
    c = TileDataset(seed=3, **kwargs)
    c.set_epoch(1)
    np.testing.assert_array_equal(c[0][0], second[0][0])


def test_augmentation_moves_image_and_mask_together():
    source = _source()
    ds = TileDataset(source=source, tile_size=32, batch_size=6, augmentation=_flip, seed=1)
    x, y = ds[0]
    flipped = 0
    for xt, yt in zip(x, y):
        cols = np.rint(xt[0, :, 1] * 255).astype(int)
        i, top = int(np.rint(xt[0, 0, 2] * 255)), int(np.rint(xt[0, 0, 0] * 255))
        left = int(cols.min())
        crop = source[i].mask[top : top + 32, left : left + 32]
        if cols[0] > cols[-1]:
            flipped += 1
            crop = crop[:, ::-1]
        np.testing.assert_array_equal(yt, crop)
    assert 0 < flipped < 6
    # The augmentation worked on copies: the source is untouched.
    assert _source()[0].mask.tobytes() == source[0].mask.tobytes()


def test_steps_per_epoch_fixes_the_number_of_batches_and_cycles_the_list():
    source = _source(n=3)
    ds = TileDataset(source=source, tile_size=32, batch_size=4, steps_per_epoch=5, seed=0, shuffle=False)
    assert len(ds) == 5
    images = [_where(xt)[0] for i in range(5) for xt in ds[i][0]]
    assert images == [k % 3 for k in range(20)]
    with pytest.raises(IndexError):
        ds[5]


def test_both_normalisation_modes_serve_crops_of_the_image_normalised_with_its_own_estimate():
    source = _source(n=4)
    rng = np.random.default_rng(0)
    reference = rng.integers(100, 200, (16, 16, 3), dtype=np.uint8)
    normalizer = _GreyWorld().fit(reference)
    whole = TileDataset(source=source, tile_size=32, batch_size=4, normalizer=normalizer, seed=0, shuffle=False)
    tiles = TileDataset(
        source=source, tile_size=32, batch_size=4, normalizer=normalizer, seed=0, shuffle=False,
        normalize_whole_images=False,
    )
    plain = TileDataset(source=source, tile_size=32, batch_size=4, seed=0, shuffle=False)
    xw, yw = whole[0]
    xt, yt = tiles[0]
    xp, _ = plain[0]
    np.testing.assert_array_equal(yw, yt)  # the same tiles were cut
    for k in range(4):
        i, top, left = _where(xp[k])
        full = normalizer.transform(source[i].image)
        np.testing.assert_array_equal(np.rint(xw[k] * 255), full[top : top + 32, left : left + 32])
        np.testing.assert_array_equal(np.rint(xt[k] * 255), full[top : top + 32, left : left + 32])
        # A tile estimated by itself would differ: the grey world of a crop is not the image's.
        assert not np.array_equal(normalizer.transform(source[i].image[top : top + 32, left : left + 32]),
                                  full[top : top + 32, left : left + 32])


def test_class_shares_are_logged_per_epoch_and_match_the_batches():
    source = _source(n=8, h=64, w=64)
    sampler = ClassCenteredSampler(classes=("LE", "IT"), probability=1.0, tiles_per_image=6)
    ds = TileDataset(source=source, sampler=sampler, tile_size=16, batch_size=8, seed=2)
    counts = np.zeros(4)
    for _, y in _all_batches(ds):
        counts += np.bincount(y.ravel(), minlength=4)
    measured = counts / counts.sum()
    expected = np.array([ds.last_epoch_class_shares[c] for c in LGG_4.codes])
    # Centred tiles are exact; the shares agree up to the wrap-around of the last batch.
    np.testing.assert_allclose(measured, expected, atol=0.01)
    assert expected[LE] + expected[IT] > 5 * (source.class_shares()["LE"] + source.class_shares()["IT"])
    before = dict(ds.last_epoch_class_shares)
    ds.on_epoch_end()
    assert ds.last_epoch_class_shares != before

    over = TileDataset(source=source, sampler=RareClassOversampler(rates={"LE": 3.0}), tile_size=16, seed=0)
    uniform = TileDataset(source=source, sampler=UniformSampler(), tile_size=16, seed=0)
    # 4 of 8 images hold LE; at 3x they are 12 of 16 tiles: LE's share rises 1.5-fold.
    assert over.last_epoch_class_shares["LE"] == pytest.approx(1.5 * uniform.last_epoch_class_shares["LE"])


def test_images_smaller_than_the_tile_fail_at_construction():
    with pytest.raises(ValueError, match=r"64x64 tile: s0 \(48x64\).*smaller tile_size.*pad"):
        TileDataset(source=_source(n=2), tile_size=64)
    with pytest.raises(ValueError, match="batch_size"):
        TileDataset(source=_source(n=2), tile_size=32, batch_size=0)


def test_fit_with_two_worker_threads_trains_and_advances_the_epochs():
    from lggseg.losses import FocalLoss

    ds = TileDataset(source=_source(), tile_size=16, batch_size=4, seed=0, workers=2, steps_per_epoch=2)
    inputs = keras.Input((16, 16, 3))
    outputs = keras.layers.Conv2D(4, 3, padding="same", activation="softmax")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=FocalLoss())
    history = model.fit(ds, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    # Each fit epoch drew a new list (Keras also calls on_epoch_end once as fit starts).
    assert ds.epoch >= 2


def test_default_configuration_with_macenko_and_the_default_augmentation():
    from lggseg.augment import default_augmentation
    from lggseg.data.synthetic import SyntheticSource
    from lggseg.stain import Macenko

    source = SyntheticSource(count=4, size=128, seed=1)
    normalizer = Macenko().fit(SyntheticSource(count=1, size=128, seed=2, stain="gbm")[0].image)
    kwargs = dict(source=source, sampler=RareClassOversampler(rates={"LE": 3.0}), tile_size=64, batch_size=4,
                  normalizer=normalizer, seed=5)
    a = TileDataset(augmentation=default_augmentation(), **kwargs)
    b = TileDataset(augmentation=default_augmentation(), **kwargs)
    (xa, ya), (xb, yb) = a[1], b[1]
    assert xa.shape == (4, 64, 64, 3) and xa.dtype == np.float32 and ya.dtype == np.int32
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(ya, yb)
    # Both modes apply each image's one Macenko estimate (to the whole image, or to its
    # tiles): the same pixels up to float32 rounding before the uint8 cast.
    whole, tiles = TileDataset(**kwargs)[0], TileDataset(normalize_whole_images=False, **kwargs)[0]
    np.testing.assert_array_equal(whole[1], tiles[1])
    assert np.abs(whole[0] - tiles[0]).max() * 255 <= 1.0 + 1e-4
