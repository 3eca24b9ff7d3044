"""Unlabelled pixels (IGNORE_INDEX): read, mapped, counted apart, and made from unannotated tissue."""

import numpy as np
import pytest
from PIL import Image

from lggseg.classes import IGNORE_INDEX, IVYGAP_8, LGG_4, ClassScheme, apply_lookup, ivygap_to_lgg, write_palette
from lggseg.data import FolderSource
from lggseg.data.source import DataSource, Sample
from lggseg.data.tissue import detect_tissue

TISSUE = (200, 110, 170)  # H&E pink: saturated and not bright
GLASS = (245, 245, 245)


def _tissue_folder(root, *, scheme=IVYGAP_8):
    """One 32x32 image: tissue on the left half, glass on the right; LE on the top-left quarter, BG elsewhere."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    image = np.empty((32, 32, 3), np.uint8)
    image[:, :16], image[:, 16:] = TISSUE, GLASS
    mask = np.full((32, 32), scheme.index("BG"), np.uint8)
    mask[:16, :16] = scheme.index("LE")
    Image.fromarray(image).save(root / "images" / "a.png")
    Image.fromarray(scheme.encode_rgb(mask)).save(root / "masks" / "a.png")
    write_palette(scheme, root / "palette.tsv")
    return image, mask


def test_background_on_tissue_becomes_ignored_after_the_mapping(tmp_path):
    image, _ = _tissue_folder(tmp_path)
    src = FolderSource(directory=tmp_path, mapping=ivygap_to_lgg(), ignore_background_tissue=True)
    mask = src[0].mask
    assert src.scheme == LGG_4
    assert (mask[16:, :16] == IGNORE_INDEX).all()  # tissue labelled BG: not annotated
    assert (mask[:, 16:] == LGG_4.index("BG")).all()  # white glass stays Background
    assert (mask[:16, :16] == LGG_4.index("LE")).all()  # other classes untouched
    tissue = detect_tissue(image)
    plain = FolderSource(directory=tmp_path, mapping=ivygap_to_lgg())[0].mask
    np.testing.assert_array_equal(mask, np.where((plain == 0) & tissue, IGNORE_INDEX, plain))
    # Counted apart: the class histogram leaves them out, ignored_pixels has them.
    assert src.ignored_pixels().tolist() == [16 * 16]
    assert src.class_histograms()[0].tolist() == [32 * 16, 0, 16 * 16, 0]
    assert src.class_shares() == pytest.approx({"BG": 2 / 3, "CT": 0.0, "LE": 1 / 3, "IT": 0.0})


def test_the_option_is_off_by_default_and_needs_a_background_class(tmp_path):
    _tissue_folder(tmp_path)
    assert (FolderSource(directory=tmp_path)[0].mask != IGNORE_INDEX).all()
    (tmp_path / "palette.tsv").write_text(
        (tmp_path / "palette.tsv").read_text().replace("\tBG\t", "\tGlass\t").replace("Background", "Glass")
    )
    with pytest.raises(ValueError, match="ignore_background_tissue needs a Background class.*Glass"):
        FolderSource(directory=tmp_path, ignore_background_tissue=True)


def test_index_masks_may_hold_255_and_only_255_beyond_the_classes(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(tmp_path / "images" / "a.png")
    mask = np.zeros((8, 8), np.uint8)
    mask[0] = IGNORE_INDEX
    Image.fromarray(mask, mode="L").save(tmp_path / "masks" / "a.png")
    src = FolderSource(directory=tmp_path, scheme=LGG_4)
    np.testing.assert_array_equal(src[0].mask, mask)
    assert src.ignored_pixels().tolist() == [8]
    mask[1] = 254
    Image.fromarray(mask, mode="L").save(tmp_path / "masks" / "a.png")
    with pytest.raises(ValueError, match=r"values \[254\].*not 255 \(unlabelled\)"):
        FolderSource(directory=tmp_path, scheme=LGG_4)


def test_mappings_keep_255_and_reject_other_unknown_values():
    mask = np.array([[0, 7, IGNORE_INDEX]], np.uint8)
    mapping = ivygap_to_lgg()
    np.testing.assert_array_equal(mapping(mask), [[LGG_4.index("LE"), LGG_4.index("BG"), IGNORE_INDEX]])
    with pytest.raises(ValueError, match=r"values \[8\].*0\.\.7 nor 255"):
        apply_lookup(mapping.lookup(), np.array([8]))
    rng = np.random.default_rng(0)
    samples = [Sample(image=np.zeros((4, 4, 3), np.uint8), mask=np.where(rng.random((4, 4)) < 0.5, 3, 255).astype(np.uint8),
                      name="x")]
    mapped = DataSource(samples=samples, scheme=IVYGAP_8).mapped(mapping)
    np.testing.assert_array_equal(mapped[0].mask == IGNORE_INDEX, samples[0].mask == IGNORE_INDEX)
    with pytest.raises(ValueError, match=r"values \[9\]"):
        DataSource(samples=[Sample(image=np.zeros((2, 2, 3), np.uint8), mask=np.full((2, 2), 9, np.uint8), name="y")],
                   scheme=IVYGAP_8)


def test_a_scheme_cannot_have_a_class_index_255():
    n = IGNORE_INDEX + 1
    with pytest.raises(ValueError, match="at most 255 classes"):
        ClassScheme(codes=tuple(f"c{i}" for i in range(n)), colours=tuple((i, 0, 0) for i in range(n)),
                    names=tuple(f"c{i}" for i in range(n)))
    assert LGG_4.background_index == 0 and IVYGAP_8.background_index == 7
