"""The slide class map is a palette-colour pyramid: viewers show the class colours, values stay indices."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lggseg.classes import LGG_4
from lggseg.slides import predict_slide, write_label_pyramid


def test_every_level_carries_the_scheme_colours(tmp_path, slide_path, tiny_model):
    import tifffile
    from PIL import Image

    res = predict_slide(model=tiny_model, slide_path=slide_path, out_dir=tmp_path, tile_size=128, batch_size=4)
    expected = np.zeros((3, 256), np.uint16)
    expected[:, :4] = LGG_4.palette_array().T.astype(np.uint16) * 257
    with tifffile.TiffFile(res.class_map) as tf:
        assert len(tf.pages) == len(res.pyramid_levels) >= 2
        for page, shape in zip(tf.pages, res.pyramid_levels):
            assert page.shape == shape
            assert page.photometric == tifffile.PHOTOMETRIC.PALETTE
            np.testing.assert_array_equal(page.colormap, expected)
        values = tf.pages[0].asarray()
        described = json.loads(tf.pages[0].description)
    assert [c["code"] for c in described["classes"]] == list(LGG_4.codes)
    assert [tuple(c["colour"]) for c in described["classes"]] == list(LGG_4.colours)
    # The stored values are the class indices, not colours.
    assert values.dtype == np.uint8 and values.max() < LGG_4.num_classes
    assert sum(np.bincount(values.ravel(), minlength=4)) == sum(res.pixels.values())
    np.testing.assert_array_equal(np.bincount(values.ravel(), minlength=4), [res.pixels[c] for c in LGG_4.codes])

    with Image.open(res.class_map) as im:
        assert im.mode == "P"
        assert im.getpalette()[:12] == [v for rgb in LGG_4.colours for v in rgb]
        np.testing.assert_array_equal(np.asarray(im), values)
        shown = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(shown, LGG_4.encode_rgb(values))


def test_palette_is_checked(tmp_path):
    with pytest.raises(ValueError, match="palette must be"):
        write_label_pyramid(tmp_path / "unused.tif", rows=[], height=1, width=1, palette=np.zeros((4, 3), np.int64))
