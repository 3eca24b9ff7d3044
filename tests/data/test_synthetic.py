"""The synthetic H&E generator: reproducibility, class shares, stains, realism checks, CLI."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from lggseg.classes import IVYGAP_8, LGG_4, read_palette
from lggseg.data.synthetic import (
    DEFAULT_SHARES,
    GBM_LAB,
    LGG_LAB,
    StainPreset,
    SyntheticSource,
    generate,
    stain_preset,
    write_dataset,
)

# The seed's LGG data; the issue asks for each within 3 points over 32 tiles of 256 x 256.
LGG_TARGETS = {"BG": 0.456, "CT": 0.371, "LE": 0.116, "IT": 0.057}


@pytest.fixture(scope="module")
def default_source() -> SyntheticSource:
    return SyntheticSource()


def test_same_seed_same_arrays_and_tiles_independent_of_count():
    a = generate(seed=3, index=5, size=64)
    b = generate(seed=3, index=5, size=64)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert a.name == "synth-0005" and a.group == a.name

    short = SyntheticSource(count=3, size=64, seed=3)
    long = SyntheticSource(count=6, size=64, seed=3)
    for i in range(3):
        np.testing.assert_array_equal(short[i].image, long[i].image)
        np.testing.assert_array_equal(short[i].mask, long[i].mask)
    np.testing.assert_array_equal(long[5].image, generate(seed=3, index=5, size=64).image)

    other = generate(seed=4, index=5, size=64)
    assert not np.array_equal(other.image, a.image)


def test_default_shares_match_the_lgg_data(default_source):
    assert default_source.scheme == LGG_4
    assert len(default_source) == 32 and default_source[0].image.shape == (256, 256, 3)
    shares = default_source.class_shares()
    for code, target in LGG_TARGETS.items():
        assert abs(shares[code] - target) <= 0.03, (code, shares)
    # Tiles vary: some lack LE or IT, so image-level oversampling has something to do.
    hist = default_source.class_histograms()
    assert (hist[:, LGG_4.index("LE")] == 0).sum() >= 3
    assert (hist[:, LGG_4.index("IT")] == 0).sum() >= 3
    bg = hist[:, 0] / hist.sum(axis=1)
    assert bg.min() < 0.15 and bg.max() > 0.75


def test_shares_hold_for_another_seed():
    shares = SyntheticSource(count=32, size=96, seed=11).class_shares()
    for code, target in LGG_TARGETS.items():
        assert abs(shares[code] - target) <= 0.03, (code, shares)


def test_custom_class_shares():
    wanted = {"BG": 0.1, "CT": 0.3, "LE": 0.35, "IT": 0.25}
    shares = SyntheticSource(count=32, size=64, class_shares=wanted).class_shares()
    for code, target in wanted.items():
        assert abs(shares[code] - target) <= 0.04, (code, shares)


def test_eight_class_variant_has_every_class():
    source = SyntheticSource(count=12, size=128, num_classes=8, stain="gbm")
    assert source.scheme == IVYGAP_8
    present = source.class_histograms().sum(axis=0)
    assert (present > 0).all(), dict(zip(IVYGAP_8.codes, present))
    shares = source.class_shares()
    # Close to the IvyGAP development set's shares, loosely (12 small tiles).
    for code in ("BG", "CT", "CTne"):
        assert abs(shares[code] - DEFAULT_SHARES[8][code]) < 0.1, shares


def _mean_od_direction(sample) -> np.ndarray:
    tissue = sample.mask != LGG_4.index("BG")
    od = -np.log((sample.image[tissue].astype(np.float64) + 1.0) / 256.0).mean(axis=0)
    return od / np.linalg.norm(od)


def test_stain_presets_change_colour_not_mask():
    for index in range(3):
        lgg = generate(index=index, size=96, stain="lgg")
        gbm = generate(index=index, size=96, stain=GBM_LAB)
        np.testing.assert_array_equal(lgg.mask, gbm.mask)
        angle = np.degrees(np.arccos(np.clip(_mean_od_direction(lgg) @ _mean_od_direction(gbm), -1, 1)))
        assert angle > 4.0, angle  # measured: 8-9 degrees
        # The GBM lab absorbs more red: purple-blue rather than pink.
        assert _mean_od_direction(gbm)[0] > _mean_od_direction(lgg)[0] + 0.05

    matrix = np.asarray([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11]])
    ruifrok = generate(index=0, size=96, stain=matrix)
    np.testing.assert_array_equal(ruifrok.mask, generate(index=0, size=96).mask)
    assert not np.array_equal(ruifrok.image, generate(index=0, size=96).image)
    assert stain_preset("lgg") is LGG_LAB
    strengths = [[LGG_LAB.hematoxylin_strength], [LGG_LAB.eosin_strength]]
    np.testing.assert_allclose(np.linalg.norm(LGG_LAB.matrix / strengths, axis=1), 1.0, rtol=1e-6)


def test_drawing_follows_the_mask(default_source):
    """Background is unstained glass; nuclear density orders CT > IT > LE."""
    dark = {code: [] for code in LGG_4.codes}
    for sample in default_source[:16]:
        gray = sample.image.astype(np.float32).mean(axis=-1)
        for c, code in enumerate(LGG_4.codes):
            inner = cv2.erode((sample.mask == c).astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
            dark[code].append(gray[inner] < 120)
    frac = {code: float(np.concatenate(v).mean()) for code, v in dark.items()}
    assert frac["BG"] == 0.0
    assert frac["CT"] > frac["IT"] > frac["LE"] > 0.0, frac
    bg = np.concatenate([s.image[s.mask == 0] for s in default_source[:8]])
    assert bg.mean() > 235 and np.percentile(bg.min(axis=1), 1) > 215


def _balanced_accuracy_colour_and_density(samples, a: int, b: int) -> tuple[float, float]:
    """Nearest-mean per-pixel colour, and best threshold on local dark-pixel density."""
    colours, density = [[], []], [[], []]
    for s in samples:
        dark = (s.image.astype(np.float32).mean(axis=-1) < 120).astype(np.float32)
        local = cv2.blur(dark, (15, 15))
        for j, c in enumerate((a, b)):
            inside = s.mask == c
            colours[j].append(s.image[inside].astype(np.float32))
            inner = cv2.erode(inside.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
            density[j].append(local[inner])
    colours = [np.concatenate(x) for x in colours]
    density = [np.concatenate(x) for x in density]
    means = [x.mean(axis=0) for x in colours]
    colour_acc = np.mean(
        [
            np.mean(np.linalg.norm(x - means[j], axis=1) < np.linalg.norm(x - means[1 - j], axis=1))
            for j, x in enumerate(colours)
        ]
    )
    thresholds = np.quantile(np.concatenate(density), np.linspace(0.01, 0.99, 99))
    density_acc = max(0.5 * ((density[0] < t).mean() + (density[1] >= t).mean()) for t in thresholds)
    return float(colour_acc), float(density_acc)


def test_le_is_confusable_with_ct_by_colour_but_not_by_local_density(default_source):
    le, ct = LGG_4.index("LE"), LGG_4.index("CT")
    colour_acc, density_acc = _balanced_accuracy_colour_and_density(default_source, le, ct)
    # Measured: colour 0.63, density 0.97 (real W30 IvyGAP images: 0.68 and 0.89).
    assert colour_acc < 0.75, colour_acc
    assert density_acc > 0.85, density_acc


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="num_classes must be 4"):
        generate(num_classes=5)
    with pytest.raises(ValueError, match="size must be"):
        generate(size=8)
    with pytest.raises(ValueError, match="missing"):
        generate(class_shares={"BG": 0.5, "CT": 0.5})
    with pytest.raises(ValueError, match="sum to 1"):
        generate(class_shares={"BG": 0.5, "CT": 0.5, "LE": 0.5, "IT": 0.0})
    with pytest.raises(ValueError, match="valid: lgg, gbm"):
        generate(stain="hne")
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        generate(stain=np.ones((3, 3)))
    with pytest.raises(ValueError, match="eosin OD vector"):
        StainPreset(name="bad", hematoxylin=(0.6, 0.7, 0.3), eosin=(0.0, -1.0, 0.0))
    with pytest.raises(ValueError, match="count must be"):
        SyntheticSource(count=0)


def test_write_dataset_round_trips(tmp_path):
    source = SyntheticSource(count=2, size=64, num_classes=8)
    out = write_dataset(tmp_path / "synth", source=source)
    assert read_palette(out / "palette.tsv") == IVYGAP_8
    for sample in source:
        image = np.asarray(Image.open(out / "images" / f"{sample.name}.png"))
        mask = Image.open(out / "masks" / f"{sample.name}.png")
        assert mask.mode == "L"
        np.testing.assert_array_equal(image, sample.image)
        np.testing.assert_array_equal(np.asarray(mask), sample.mask)


def test_cli_data_synth_writes_a_folder_the_folder_source_reads(tmp_path):
    from lggseg.data.folder import FolderSource
    from lggseg_cli.main import app

    out = tmp_path / "synth"
    result = CliRunner().invoke(
        app,
        ["data", "synth", "--out", str(out), "--count", "3", "--size", "64", "--seed", "2", "--stain", "gbm"],
    )
    assert result.exit_code == 0, result.output
    files = ["synth-0000.png", "synth-0001.png", "synth-0002.png"]
    assert sorted(p.name for p in (out / "images").iterdir()) == files
    assert sorted(p.name for p in (out / "masks").iterdir()) == files
    assert read_palette(out / "palette.tsv") == LGG_4
    for code in LGG_4.codes:
        assert code in result.output
    expected = SyntheticSource(count=3, size=64, seed=2, stain="gbm")
    assert f"{100 * expected.class_shares()['CT']:6.2f} %" in result.output

    back = FolderSource(directory=out)
    assert back.scheme == LGG_4 and back.names == expected.names
    for got, want in zip(back, expected):
        np.testing.assert_array_equal(got.image, want.image)
        np.testing.assert_array_equal(got.mask, want.mask)

    bad = CliRunner().invoke(app, ["data", "synth", "--out", str(out), "--classes", "5"])
    assert bad.exit_code != 0 and "4 or 8" in bad.output
