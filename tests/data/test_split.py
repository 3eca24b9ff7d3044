"""Splits by group: no leakage, determinism, rare classes on both sides, fixed name lists."""

import numpy as np
import pytest

from lggseg.classes import LGG_4
from lggseg.data import DataSource, Sample, split_by_group, split_by_names


def source(groups, rare=()):
    """One 8x8 sample per group label; samples whose index is in ``rare`` hold IT pixels."""
    samples = []
    for i, g in enumerate(groups):
        mask = np.zeros((8, 8), np.uint8)
        mask[:4] = LGG_4.index("CT")
        if i in rare:
            mask[0, :3] = LGG_4.index("IT")
        samples.append(Sample(image=np.zeros((8, 8, 3), np.uint8), mask=mask, name=f"img{i}", group=g))
    return DataSource(samples=samples, scheme=LGG_4)


def check_partition(groups, train, val):
    groups = np.asarray(groups)
    assert len(np.intersect1d(train, val)) == 0
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(len(groups)))
    assert not set(groups[train]) & set(groups[val]), "a group on both sides"


@pytest.mark.parametrize("seed", range(5))
def test_groups_never_straddle(seed):
    groups = [f"patient{i % 7}" for i in range(30)]
    train, val = split_by_group(groups, val_fraction=0.3, seed=seed)
    check_partition(groups, train, val)
    assert len(set(np.asarray(groups)[val])) == 2  # round(0.3 * 7) groups


def test_deterministic_and_seeded():
    groups = [f"g{i}" for i in range(40)]
    first = split_by_group(groups, seed=3)
    again = split_by_group(groups, seed=3)
    np.testing.assert_array_equal(first[1], again[1])
    others = {tuple(split_by_group(groups, seed=s)[1]) for s in range(6)}
    assert len(others) == 6


def test_stratified_split_is_deterministic_and_leak_free():
    groups = [f"p{i // 2}" for i in range(20)]
    src = source(groups, rare=(0, 7, 12))
    first = split_by_group(src, seed=1)
    np.testing.assert_array_equal(first[1], split_by_group(src, seed=1)[1])
    check_partition(groups, *first)


@pytest.mark.parametrize("seed", range(4))
def test_rare_class_lands_on_both_sides(seed):
    src = source([f"g{i}" for i in range(10)], rare=(2, 7))
    train, val = split_by_group(src, val_fraction=0.2, seed=seed)
    it = LGG_4.index("IT")
    has_it = src.class_histograms()[:, it] > 0
    assert has_it[val].sum() == 1 and has_it[train].sum() == 1


@pytest.mark.parametrize("seed", range(4))
def test_class_of_a_single_group_stays_in_training(seed):
    src = source([f"g{i}" for i in range(10)], rare=(4,))
    train, _ = split_by_group(src, val_fraction=0.3, seed=seed)
    assert 4 in train


def test_without_stratify_the_source_splits_like_its_groups():
    groups = [f"g{i}" for i in range(10)]
    src = source(groups, rare=(2, 7))
    np.testing.assert_array_equal(
        split_by_group(src, seed=5, stratify=False)[1], split_by_group(groups, seed=5)[1]
    )


def test_too_few_groups_and_bad_fraction():
    with pytest.raises(ValueError, match="at least 2 groups.*got 1"):
        split_by_group(["a", "a", "a"])
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        split_by_group(["a", "b"], val_fraction=1.0)


def test_split_by_names():
    src = source(["pA", "pA", "pB", "pC"])
    train, val = split_by_names(src, val_names=["img2"])
    assert train.tolist() == [0, 1, 3] and val.tolist() == [2]
    with pytest.raises(ValueError, match=r"Unknown sample names.*\['nope'\].*e\.g\. img0"):
        split_by_names(src, val_names=["img2", "nope"])
    with pytest.raises(ValueError, match=r"Groups \['pA'\] have samples on both sides"):
        split_by_names(src, val_names=["img0"])
    with pytest.raises(ValueError, match="empty"):
        split_by_names(src, val_names=[])
    with pytest.raises(ValueError, match="every sample"):
        split_by_names(src, val_names=["img0", "img1", "img2", "img3"])
    with pytest.raises(ValueError, match="single string"):
        split_by_names(src, val_names="img2")
