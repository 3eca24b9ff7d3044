"""Samplers: exact epoch composition, class-share effects, centring on rare classes."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from lggseg.classes import LGG_4
from lggseg.data.source import DataSource, Sample
from lggseg.data.tiles import tile_origin
from lggseg.training.samplers import (
    ClassCenteredSampler,
    RareClassOversampler,
    TileSpec,
    UniformSampler,
    effective_class_shares,
)

BG, CT, LE, IT = range(4)


def _source(masks: list[np.ndarray]) -> DataSource:
    rng = np.random.default_rng(0)
    samples = [
        Sample(image=rng.integers(0, 256, (*m.shape, 3), dtype=np.uint8), mask=m.astype(np.uint8), name=f"img{i:02d}")
        for i, m in enumerate(masks)
    ]
    return DataSource(samples=samples, scheme=LGG_4)


def _mask(fill: int, *, patches: tuple[tuple[int, int], ...] = (), size: int = 32) -> np.ndarray:
    """A ``size`` square of class ``fill`` with one ``(class, side)`` square patch per entry."""
    m = np.full((size, size), fill, np.uint8)
    for k, (cls, side) in enumerate(patches):
        m[k * 8 : k * 8 + side, k * 8 : k * 8 + side] = cls
    return m


def test_uniform_sampler_lists_every_image_tiles_per_image_times():
    source = _source([_mask(BG) for _ in range(5)])
    specs = UniformSampler(tiles_per_image=3).epoch(source, rng=np.random.default_rng(0))
    assert Counter(s.index for s in specs) == {i: 3 for i in range(5)}
    assert all(s.center is None for s in specs)
    with pytest.raises(ValueError, match="positive integer"):
        UniformSampler(tiles_per_image=0)


def test_le_oversampling_list_is_others_then_le_images_then_extra_le_images():
    # 10 images, 4 with LE (indices 1, 4, 6, 9): the seed's generator at rate 3.
    le = {1, 4, 6, 9}
    source = _source([_mask(CT, patches=((LE, 4),)) if i in le else _mask(CT) for i in range(10)])
    rng = np.random.default_rng(7)
    specs = RareClassOversampler(rates={"LE": 3.0}).epoch(source, rng=rng)
    order = [s.index for s in specs]
    assert len(order) == 6 + 4 + 2 * 4
    assert order[:6] == [0, 2, 3, 5, 7, 8]
    assert order[6:10] == [1, 4, 6, 9]
    extra = order[10:]
    assert set(extra) <= le
    # The extras are drawn with replacement from the same generator, reproducibly.
    assert extra == list(np.random.default_rng(7).choice([1, 4, 6, 9], size=8, replace=True))
    again = RareClassOversampler(rates={"LE": 3.0}).epoch(source, rng=np.random.default_rng(7))
    assert order == [s.index for s in again]
    # A fractional rate truncates (rate - 1) * n, as the seed did with int().
    specs = RareClassOversampler(rates={"LE": 2.6}).epoch(source, rng=np.random.default_rng(0))
    assert len(specs) == 6 + 4 + int(1.6 * 4)


def test_multi_rate_assigns_each_image_to_its_rarest_rated_class():
    # IT is rarer than LE overall; image 0 holds both and so counts for IT.
    masks = [
        _mask(CT, patches=((LE, 6), (IT, 2))),  # 0: LE + IT -> IT
        _mask(CT, patches=((IT, 3),)),  # 1: IT
        _mask(CT, patches=((LE, 8),)),  # 2: LE
        _mask(CT, patches=((LE, 8),)),  # 3: LE
        _mask(CT),  # 4: other
        _mask(BG),  # 5: other
    ]
    source = _source(masks)
    shares = source.class_shares()
    assert shares["IT"] < shares["LE"]
    sampler = RareClassOversampler(rates={"LE": 5, "IT": 20})
    assert sampler.assignment(source) == {"IT": [0, 1], "LE": [2, 3], "": [4, 5]}
    order = [s.index for s in sampler.epoch(source, rng=np.random.default_rng(3))]
    assert len(order) == 2 + (2 + 19 * 2) + (2 + 4 * 2)
    counts = Counter(order)
    assert counts[4] == counts[5] == 1
    assert counts[0] + counts[1] == 2 + 38 and counts[2] + counts[3] == 2 + 8
    assert order[:2] == [4, 5] and order[2:4] == [0, 1] and order[42:44] == [2, 3]


def test_oversampling_raises_le_share_as_in_the_seed_experiment():
    # 5 of 43 images are LE tissue: 11.6 % of the pixels. At 3x the epoch holds 15 LE
    # images among 53, i.e. 28.3 % -- the seed's "~11.5 % -> ~28 %".
    source = _source([_mask(LE) for _ in range(5)] + [_mask(CT if i % 2 else BG) for i in range(38)])
    uniform = effective_class_shares(source, UniformSampler().epoch(source, rng=np.random.default_rng(0)))
    assert uniform["LE"] == pytest.approx(5 / 43)
    assert uniform == pytest.approx(source.class_shares())
    specs = RareClassOversampler(rates={"LE": 3.0}).epoch(source, rng=np.random.default_rng(0))
    shares = effective_class_shares(source, specs)
    assert shares["LE"] == pytest.approx(15 / 53)
    assert sum(shares.values()) == pytest.approx(1.0)
    # Tile-size weighting gives the same answer when all images have the same size.
    assert effective_class_shares(source, specs, tile_size=16) == pytest.approx(shares)


def test_effective_shares_of_mixed_images_follow_the_histograms():
    masks = [_mask(CT, patches=((LE, 8),)), _mask(BG, patches=((IT, 4), (LE, 2))), _mask(CT)]
    source = _source(masks)
    specs = [TileSpec(0), TileSpec(0), TileSpec(1), TileSpec(2)]
    hist = source.class_histograms()
    expected = (2 * hist[0] + hist[1] + hist[2]) / (4 * 32 * 32)
    shares = effective_class_shares(source, specs)
    np.testing.assert_allclose([shares[c] for c in LGG_4.codes], expected)


def test_unknown_class_names_and_bad_rates_are_rejected():
    source = _source([_mask(CT)])
    with pytest.raises(ValueError, match=r"'XX'.*BG, CT, LE, IT"):
        RareClassOversampler(rates={"XX": 3.0}).epoch(source, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"'NE'.*BG, CT, LE, IT"):
        ClassCenteredSampler(classes=("NE",)).epoch(source, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=">= 1"):
        RareClassOversampler(rates={"LE": 0.5})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ClassCenteredSampler(probability=1.5)


def test_class_centred_tiles_hit_the_chosen_classes_at_the_configured_share():
    # Large images with small LE and IT patches: a random 32-pixel tile rarely holds them.
    rng = np.random.default_rng(1)
    masks = []
    for i in range(20):
        m = np.full((128, 128), CT, np.uint8)
        r, c = rng.integers(0, 120, size=2)
        m[r : r + 6, c : c + 6] = LE if i % 2 else IT
        masks.append(m)
    source = _source(masks)
    sampler = ClassCenteredSampler(classes=("LE", "IT"), probability=0.33, tiles_per_image=10)
    specs = sampler.epoch(source, rng=np.random.default_rng(5))
    assert len(specs) == 200
    centred = [s for s in specs if s.center is not None]
    assert len(centred) == round(0.33 * 200)
    # Every centre lies on a pixel of one of the classes, and its tile contains it.
    for s in centred:
        mask = source[s.index].mask
        assert mask[s.center] in (LE, IT)
        top, left = tile_origin(mask.shape, size=32, center=s.center)
        assert mask[top : top + 32, left : left + 32][s.center[0] - top, s.center[1] - left] in (LE, IT)

    # Random crops (with their own positions) hit a patch far less often than centred ones.
    def hit(spec, top, left):
        return bool(np.isin(source[spec.index].mask[top : top + 32, left : left + 32], (LE, IT)).any())

    crop_rng = np.random.default_rng(9)
    hits = [
        hit(s, *tile_origin(source[s.index].mask.shape, size=32, rng=crop_rng, center=s.center)) for s in specs
    ]
    share_hit = np.mean(hits)
    # Expected: 0.33 centred (always hit) + 0.67 x P(random crop hits a 6-px patch ~ 0.1).
    assert 0.33 <= share_hit <= 0.33 + 0.67 * 0.25
    plain = ClassCenteredSampler(classes=("LE", "IT"), probability=0.0, tiles_per_image=10)
    plain_hits = [
        hit(s, *tile_origin(source[s.index].mask.shape, size=32, rng=crop_rng))
        for s in plain.epoch(source, rng=np.random.default_rng(5))
    ]
    assert np.mean(plain_hits) < 0.2
    # The effective shares count the centred tiles exactly: rare classes rise above the source's share.
    eff = effective_class_shares(source, specs, tile_size=32)
    base = source.class_shares()
    assert eff["LE"] + eff["IT"] > 3 * (base["LE"] + base["IT"])


def test_class_centred_sampler_falls_back_to_random_crops_without_the_class():
    source = _source([_mask(CT) for _ in range(6)])
    specs = ClassCenteredSampler(classes=("LE",), probability=1.0).epoch(source, rng=np.random.default_rng(0))
    assert [s.center for s in specs] == [None] * 6


@pytest.mark.parametrize(
    "sampler",
    [UniformSampler(tiles_per_image=2), RareClassOversampler(rates={"IT": 20, "LE": 5}), ClassCenteredSampler()],
    ids=repr,
)
def test_epochs_are_deterministic_for_the_generator(sampler):
    masks = [
        _mask(CT, patches=((LE, 5),)),
        _mask(CT, patches=((IT, 3),)),
        _mask(BG),
        _mask(CT, patches=((LE, 7), (IT, 2))),
    ]
    source = _source(masks)
    first = sampler.epoch(source, rng=np.random.default_rng(11))
    again = sampler.epoch(source, rng=np.random.default_rng(11))
    assert first == again
