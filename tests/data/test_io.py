"""read_image / read_mask: conversions with warnings, truncated and corrupt files, mask kinds."""

import re

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

from lggseg.classes import IVYGAP_8, LGG_4
from lggseg.data import list_images, read_image, read_mask


@pytest.fixture
def image(rng):
    return rng.integers(0, 256, size=(24, 32, 3), dtype=np.uint8)


def _warns_naming(path):
    return pytest.warns(UserWarning, match=re.escape(str(path)))


def test_rgb_png_round_trips_without_warning(tmp_path, image, recwarn):
    path = tmp_path / "a.png"
    Image.fromarray(image).save(path)
    out = read_image(path)
    assert out.dtype == np.uint8 and out.shape == (24, 32, 3)
    np.testing.assert_array_equal(out, image)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_grayscale_is_replicated_with_warning(tmp_path, image):
    path = tmp_path / "gray.png"
    Image.fromarray(image[..., 0]).save(path)
    with _warns_naming(path):
        out = read_image(path)
    assert out.shape == (24, 32, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], image[..., 0])


def test_rgba_is_composited_on_white_with_warning(tmp_path, image):
    alpha = np.full(image.shape[:2], 255, np.uint8)
    alpha[:, :8] = 0  # fully transparent strip -> white background
    path = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([image, alpha])).save(path)
    with _warns_naming(path):
        out = read_image(path)
    assert (out[:, :8] == 255).all()
    np.testing.assert_array_equal(out[:, 8:], image[:, 8:])


def test_16_bit_rgb_is_scaled_with_warning(tmp_path, image):
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), (image.astype(np.uint16) * 257)[..., ::-1])  # BGR on disk
    with _warns_naming(path) as record:
        out = read_image(path)
    assert any("16-bit" in str(w.message) for w in record)
    np.testing.assert_array_equal(out, image)


def test_16_bit_grayscale_is_scaled_with_warning(tmp_path, image):
    path = tmp_path / "deep_gray.png"
    cv2.imwrite(str(path), image[..., 0].astype(np.uint16) * 257)
    with _warns_naming(path):
        out = read_image(path)
    np.testing.assert_array_equal(out[..., 1], image[..., 0])


def test_palette_image_is_read_as_colour_without_warning(tmp_path, image, recwarn):
    path = tmp_path / "pal.png"
    Image.fromarray(image).quantize(16).save(path)
    expected = np.asarray(Image.open(path).convert("RGB"))
    np.testing.assert_array_equal(read_image(path), expected)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_file_is_an_error_naming_it(tmp_path, image, suffix):
    full = tmp_path / f"full{suffix}"
    Image.fromarray(image).save(full)
    data = full.read_bytes()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=re.escape(str(path)) + r".*truncated"):
        read_image(path)


def test_truncated_file_fails_even_if_pil_is_told_to_pad(tmp_path, image, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    full = tmp_path / "full.jpg"
    Image.fromarray(image).save(full)
    path = tmp_path / "cut.jpg"
    path.write_bytes(full.read_bytes()[:-300])
    with pytest.raises(ValueError, match="truncated"):
        read_image(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the caller's setting is restored


def test_not_an_image_and_missing_file(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_text("not a png")
    with pytest.raises(ValueError, match=re.escape(str(junk)) + ".*not an image"):
        read_image(junk)
    with pytest.raises(FileNotFoundError, match="nothere.png"):
        read_image(tmp_path / "nothere.png")


def test_index_masks_l_and_p(tmp_path, rng):
    mask = rng.integers(0, 4, size=(10, 12)).astype(np.uint8)
    Image.fromarray(mask).save(tmp_path / "l.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "l.png", scheme=LGG_4), mask)
    # A P image with a palette unrelated to the scheme: its values are the indices.
    p = Image.fromarray(mask)
    p.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0])
    p.save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "p.png", scheme=LGG_4), mask)


def test_indexed_colour_mask_is_decoded_by_colour(tmp_path, rng):
    """An RGB colour mask saved as a palette PNG, its palette in another order."""
    mask = rng.integers(0, 8, size=(10, 12)).astype(np.uint8)
    order = np.array([3, 7, 0, 5, 1, 6, 2, 4])  # palette entry i holds IVYGAP_8 colour order[i]
    inverse = np.argsort(order)
    p = Image.fromarray(inverse[mask].astype(np.uint8))
    p.putpalette(IVYGAP_8.palette_array()[order].ravel().tolist())
    p.save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "p.png", scheme=IVYGAP_8), mask)


def test_rgb_mask_decoded_and_unknown_colour_listed(tmp_path, rng):
    mask = rng.integers(0, 8, size=(10, 12)).astype(np.uint8)
    rgb = IVYGAP_8.encode_rgb(mask)
    Image.fromarray(rgb).save(tmp_path / "ok.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "ok.png", scheme=IVYGAP_8), mask)
    rgb[0, :5] = (1, 2, 3)
    Image.fromarray(rgb).save(tmp_path / "bad.png")
    with pytest.raises(ValueError, match=r"bad\.png.*\(1, 2, 3\): 5 px.*Palette colours"):
        read_mask(tmp_path / "bad.png", scheme=IVYGAP_8)


def test_index_out_of_range_lists_values(tmp_path):
    mask = np.zeros((6, 6), np.uint8)
    mask[0, :2] = 255
    mask[1, 0] = 4
    Image.fromarray(mask).save(tmp_path / "m.png")
    # 255 is the unlabelled value, so only 4 is out of range; the listing shows both.
    with pytest.raises(ValueError, match=r"m\.png.*\[4\] outside 0\.\.3.*not 255.*255: 2 px"):
        read_mask(tmp_path / "m.png", scheme=LGG_4)


def test_unsupported_mask_mode(tmp_path):
    Image.fromarray(np.zeros((4, 4, 2), np.uint8), mode="LA").save(tmp_path / "la.png")
    with pytest.raises(ValueError, match=r"la\.png.*mode LA"):
        read_mask(tmp_path / "la.png", scheme=LGG_4)


def test_list_images_filters_and_rejects_duplicate_stems(tmp_path, image):
    for name in ["b.JPG", "a.png", "c.txt", ".hidden.png", "W30-x.tif"]:
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["W30-x.tif", "a.png", "b.JPG"]
    assert [p.name for p in list_images(tmp_path, pattern="W30-*")] == ["W30-x.tif"]
    (tmp_path / "a.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="stem 'a'"):
        list_images(tmp_path)
