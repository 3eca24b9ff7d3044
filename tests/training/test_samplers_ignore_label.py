"""Unlabelled pixels (IGNORE_INDEX) in training data: samplers skip them, batches keep them."""

from __future__ import annotations

import logging

import numpy as np

from lggseg.classes import IGNORE_INDEX, LGG_4
from lggseg.data.source import DataSource, Sample
from lggseg.training.pipeline import TileDataset
from lggseg.training.samplers import ClassCenteredSampler, RareClassOversampler, effective_class_shares

BG, CT, LE, IT = range(4)


def _source() -> DataSource:
    """Two 32x32 images: the top half unlabelled, CT below it, an LE patch in the first."""
    samples = []
    for i in range(2):
        mask = np.full((32, 32), CT, np.uint8)
        mask[:16] = IGNORE_INDEX
        if i == 0:
            mask[20:24, 4:8] = LE
        samples.append(Sample(image=np.full((32, 32, 3), 120, np.uint8), mask=mask, name=f"s{i}"))
    return DataSource(samples=samples, scheme=LGG_4)


def test_class_centred_tiles_are_centred_on_labelled_pixels_of_the_class():
    source = _source()
    specs = ClassCenteredSampler(classes=("LE", "BG"), probability=1.0, tiles_per_image=20).epoch(
        source, rng=np.random.default_rng(0)
    )
    centred = [s for s in specs if s.center is not None]
    assert centred and all(s.index == 0 for s in centred)  # only image 0 holds LE; none holds BG
    assert all(source[0].mask[s.center] == LE for s in centred)


def test_effective_shares_and_oversampling_count_labelled_pixels_only():
    source = _source()
    assert source.class_histograms().tolist() == [[0, 512 - 16, 16, 0], [0, 512, 0, 0]]
    assert source.ignored_pixels().tolist() == [512, 512]
    assert RareClassOversampler(rates={"LE": 2.0}).assignment(source) == {"LE": [0], "": [1]}
    specs = ClassCenteredSampler(classes=("LE",), probability=1.0).epoch(source, rng=np.random.default_rng(0))
    for tile_size in (None, 16, 32):
        shares = effective_class_shares(source, specs, tile_size=tile_size)
        assert set(shares) == set(LGG_4.codes) and shares["BG"] == 0.0
        assert sum(shares.values()) == 1.0 or abs(sum(shares.values()) - 1.0) < 1e-12


def test_batches_keep_the_unlabelled_value_for_the_loss(caplog):
    with caplog.at_level(logging.INFO, logger="lggseg.training.pipeline"):
        ds = TileDataset(source=_source(), tile_size=32, batch_size=2, seed=0, shuffle=False)
    _, masks = ds[0]
    assert masks.dtype == np.int32 and (masks == IGNORE_INDEX).sum() == 2 * 512
    assert "1,024 source pixels unlabelled" in caplog.text
