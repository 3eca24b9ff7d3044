"""Cropped region images: class tokens, tissue-aware masks, CropSource, `lggseg masks`."""

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from lggseg.classes import LGG_4
from lggseg.data import CropSource, crop_mask, detect_tissue, parse_class_token, read_mask, write_crop_masks
from lggseg_cli.main import app


@pytest.mark.parametrize(
    "name, code",
    [
        ("231920_04_LE1_preprocessed.png", "LE"),
        ("231920_04_le_preprocessed", "LE"),
        ("IT-slide7.jpg", "IT"),
        ("case-3_ct9", "CT"),
        ("x_CT", "CT"),
        ("a_LE1_le2", "LE"),  # the same class twice is fine
        ("231920_04_preprocessed.png", None),
        ("LEFT_side", None),  # letters after the token: not a token
        ("x_LE12", None),  # one trailing digit only
        ("octopus_CTX", None),
        ("W3-1-1-A.1.01", None),
    ],
)
def test_parse_class_token(name, code):
    assert parse_class_token(name) == code


@pytest.mark.parametrize("name", ["a_LE_IT", "LE-CT1.png", "it_x_ct"])
def test_two_different_tokens_are_an_error(name):
    with pytest.raises(ValueError, match="different class tokens"):
        parse_class_token(name)


def crop(height=30, width=40):
    """A pink region (tissue) on white, as a cropped annotation looks."""
    image = np.full((height, width, 3), 255, np.uint8)
    image[5:25, 8:30] = (190, 110, 160)
    return image


@pytest.fixture
def crops_dir(tmp_path):
    d = tmp_path / "crops"
    d.mkdir()
    for name in ("p1_01_LE1_pre", "p1_02_it_pre", "p2_01_CT2_pre", "p2_02_none_pre", "p3_LE_IT"):
        Image.fromarray(crop()).save(d / f"{name}.png")
    return d


def test_crop_mask_is_tissue_aware():
    image = crop()
    mask = crop_mask(image, code="LE")
    tissue = detect_tissue(image)
    assert (mask[tissue] == LGG_4.index("LE")).all()
    assert (mask[~tissue] == LGG_4.index("BG")).all()
    assert 0.3 < tissue.mean() < 0.5


def test_crop_source_masks_groups_and_skips(crops_dir):
    src = CropSource(directory=crops_dir, group_pattern=r"^(p\d+)_")
    assert src.scheme == LGG_4
    assert src.names == ["p1_01_LE1_pre", "p1_02_it_pre", "p2_01_CT2_pre"]
    assert src.groups == ["p1", "p1", "p2"]
    classes = [set(np.unique(s.mask)) for s in src]
    assert classes == [{0, 2}, {0, 3}, {0, 1}]
    assert [n for n, _ in src.skipped] == ["p2_02_none_pre.png", "p3_LE_IT.png"]
    assert "no class token" in src.skipped[0][1] and "LE, IT" in src.skipped[1][1]


def test_crop_source_with_nothing_usable(tmp_path):
    Image.fromarray(crop()).save(tmp_path / "plain.png")
    with pytest.raises(ValueError, match="no usable crop.*plain.png: the name carries no class token"):
        CropSource(directory=tmp_path)


def test_write_crop_masks_round_trip(crops_dir, tmp_path):
    out = tmp_path / "masks"
    written, skipped = write_crop_masks(crops_dir, out)
    assert [w.name for w in written] == ["p1_01_LE1_pre", "p1_02_it_pre", "p2_01_CT2_pre"]
    assert len(skipped) == 2
    expected_fraction = detect_tissue(crop()).mean()
    for w in written:
        assert w.path == out / f"{w.name}.png"
        assert Image.open(w.path).mode == "P"  # index values, LGG_4 colours for viewers
        mask = read_mask(w.path, scheme=LGG_4)
        np.testing.assert_array_equal(mask, crop_mask(crop(), code=w.code))
        assert w.tissue_fraction == pytest.approx(expected_fraction)
    with pytest.raises(ValueError, match="crops folder itself"):
        write_crop_masks(crops_dir, crops_dir)


def test_unreadable_crop_is_skipped_by_writer_but_fails_the_source(crops_dir, tmp_path):
    (crops_dir / "p4_CT_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    written, skipped = write_crop_masks(crops_dir, tmp_path / "masks")
    assert len(written) == 3 and "p4_CT_broken.png" in dict(skipped)
    with pytest.raises(ValueError, match="p4_CT_broken.png"):
        CropSource(directory=crops_dir)


def test_cli_masks(crops_dir, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["masks", str(crops_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "p1_01_LE1_pre" in result.output and "LE" in result.output
    coverage = 100 * detect_tissue(crop()).mean()
    assert f"tissue {coverage:5.1f} %" in result.output
    assert "skipped p2_02_none_pre.png" in result.output and "skipped p3_LE_IT.png" in result.output
    assert "3 masks written" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["p1_01_LE1_pre.png", "p1_02_it_pre.png", "p2_01_CT2_pre.png"]


def test_cli_masks_fails_when_nothing_written(tmp_path):
    Image.fromarray(crop()).save(tmp_path / "plain.png")
    result = CliRunner().invoke(app, ["masks", str(tmp_path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "skipped plain.png" in result.output and "0 masks written" in result.output


def test_crop_source_rejects_bad_group_pattern(crops_dir):
    with pytest.raises(ValueError, match="not a valid regular expression"):
        CropSource(directory=crops_dir, group_pattern="(")
