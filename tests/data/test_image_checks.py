import numpy as np
import pytest

from lggseg.data.image_checks import check_rgb


def test_accepts_uint8_rgb_and_returns_the_array():
    image = np.zeros((5, 7, 3), np.uint8)
    assert check_rgb(image, what="x") is image
    assert check_rgb(np.zeros((2, 5, 7, 3), np.uint8), what="x", batch=True).shape == (2, 5, 7, 3)
    assert check_rgb(image, what="x", batch=None).shape == (5, 7, 3)
    assert check_rgb(image[None], what="x", batch=None).shape == (1, 5, 7, 3)


@pytest.mark.parametrize(
    ("image", "batch", "expected"),
    [
        (np.zeros((5, 7, 3), np.float32), False, r"reader: expected uint8 RGB \(H, W, 3\), got shape \(5, 7, 3\) dtype float32"),
        (np.zeros((5, 7), np.uint8), False, r"reader: expected uint8 RGB \(H, W, 3\), got shape \(5, 7\) dtype uint8"),
        (np.zeros((5, 7, 4), np.uint8), False, r"got shape \(5, 7, 4\)"),
        (np.zeros((5, 7, 3), np.uint8), True, r"reader: expected uint8 RGB \(B, H, W, 3\), got shape \(5, 7, 3\)"),
        (np.zeros((5, 7), np.uint8), None, r"\(H, W, 3\) or \(B, H, W, 3\)"),
        (np.uint8(3), False, r"got shape \(\) dtype uint8"),
    ],
)
def test_message_names_the_caller_the_layout_shape_and_dtype(image, batch, expected):
    with pytest.raises(ValueError, match=expected):
        check_rgb(image, what="reader", batch=batch)


def test_unknown_batch_value_is_refused():
    with pytest.raises(ValueError, match="batch must be False, True or None"):
        check_rgb(np.zeros((1, 1, 3), np.uint8), what="x", batch="yes")
