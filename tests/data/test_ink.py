"""detect_ink on a real marker rectangle and drawn strokes; the Otsu tissue rule beside the HSV one."""

import numpy as np
import pytest

from lggseg.data import detect_tissue
from lggseg.data.ink import detect_ink
from lggseg.data.synthetic import generate

# W30-1-1-C.01's black marker rectangle (rows, columns of the 1024 x 1024 image).
MARKER = (slice(2, 30), slice(705, 750))


def draw_stroke(image: np.ndarray, colour, *, thickness: int = 9) -> np.ndarray:
    """The image with a diagonal pen stroke drawn across it; also returns the stroke's mask."""
    import cv2

    h, w = image.shape[:2]
    drawn = image.copy()
    cv2.line(drawn, (w // 8, h // 8), (7 * w // 8, 6 * h // 8), colour, thickness)
    stroke = np.zeros((h, w), np.uint8)
    cv2.line(stroke, (w // 8, h // 8), (7 * w // 8, 6 * h // 8), 1, thickness)
    return drawn, stroke.astype(bool)


@pytest.mark.parametrize("colour", [(20, 20, 25), (30, 140, 60), (30, 120, 210)], ids=["black", "green", "blue"])
def test_drawn_strokes_are_ink_and_the_tissue_is_not(colour):
    image = generate(size=256, seed=1, index=0).image
    assert not detect_ink(image).any()
    drawn, stroke = draw_stroke(image, colour)
    ink = detect_ink(drawn)
    assert ink[stroke].mean() > 0.99
    # Beyond the stroke, only its rim: the 5x5 dilation (2 pixels), and dark tissue pixels
    # touching the stroke that the open keeps with it (2 more).
    import cv2

    rim = cv2.dilate(stroke.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert not (ink & ~rim).any()


@pytest.mark.realdata
def test_real_marker_and_drawn_stroke_on_an_ivygap_image(ivygap_dir):
    from lggseg.data import read_image

    image = read_image(ivygap_dir / "images" / "W30-1-1-C.01.jpg")
    ink = detect_ink(image)
    assert ink[MARKER].mean() > 0.99
    elsewhere = ink.copy()
    elsewhere[:50, 690:775] = False
    assert elsewhere.mean() < 1e-4  # the stained tissue is not ink
    drawn, stroke = draw_stroke(image, (30, 140, 60))
    assert detect_ink(drawn)[stroke].mean() > 0.99


def test_ink_rejects_bad_thresholds():
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="hue_range"):
        detect_ink(image, hue_range=(120, 30))
    with pytest.raises(ValueError, match="0..255"):
        detect_ink(image, value_max=300)


def test_otsu_finds_the_glass():
    tissue = generate(size=128, seed=2, index=0).image
    image = np.concatenate([np.full((128, 64, 3), 235, np.uint8), tissue], axis=1)
    found = detect_tissue(image, method="otsu")
    assert not found[:, :60].any()
    assert found[:, 70:].mean() > 0.5


@pytest.mark.realdata
def test_otsu_and_hsv_agree_on_a_real_image_with_glass(ivygap_dir):
    from lggseg.data import read_image

    image = read_image(ivygap_dir / "images" / "W30-1-1-C.01.jpg")  # glass along its right edge
    hsv, otsu = detect_tissue(image), detect_tissue(image, method="otsu")
    assert 0.5 < otsu.mean() < 0.99
    assert np.mean(hsv == otsu) > 0.85


def test_tissue_method_is_checked():
    with pytest.raises(ValueError, match="hsv, otsu"):
        detect_tissue(np.zeros((8, 8, 3), np.uint8), method="triangle")
