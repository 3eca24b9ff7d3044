"""predict_slide(probabilities=True): one uint8 probability pyramid per class, beside an unchanged class map."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from lggseg.classes import LGG_4, write_palette
from lggseg.slides import predict_slide

TILE, BATCH = 128, 4


@pytest.fixture(scope="module")
def runs(tmp_path_factory, slide_path, tiny_model):
    """The same slide predicted with and without probabilities."""
    out = tmp_path_factory.mktemp("probs")
    kw = dict(model=tiny_model, slide_path=slide_path, tile_size=TILE, batch_size=BATCH)
    return (predict_slide(out_dir=out / "with", probabilities=True, **kw),
            predict_slide(out_dir=out / "without", **kw))


def _levels(path):
    import tifffile

    with tifffile.TiffFile(path) as tf:
        return [page.asarray() for page in tf.pages]


def test_one_pyramid_per_class_with_the_class_map_levels(runs):
    import tifffile

    with_probs, without = runs
    assert [p.name for p in with_probs.probability_maps] == [f"small_prob_{c}.tif" for c in LGG_4.codes]
    assert without.probability_maps == ()
    assert not list(without.class_map.parent.glob("*_prob_*"))
    for c, path in enumerate(with_probs.probability_maps):
        with tifffile.TiffFile(path) as tf:
            assert [page.shape for page in tf.pages] == with_probs.pyramid_levels
            assert all(page.photometric == tifffile.PHOTOMETRIC.MINISBLACK for page in tf.pages)
            assert json.loads(tf.pages[0].description)["class"]["code"] == LGG_4.codes[c]
    # Writing probabilities leaves the class map as it was.
    for a, b in zip(_levels(with_probs.class_map), _levels(without.class_map), strict=True):
        np.testing.assert_array_equal(a, b)
    assert with_probs.pixels == without.pixels


def test_probabilities_sum_to_255_and_argmax_is_the_class_map(runs):
    res = runs[0]
    probs = [_levels(p) for p in res.probability_maps]
    classes = _levels(res.class_map)
    for k, labels in enumerate(classes):
        stack = np.stack([p[k] for p in probs], axis=-1).astype(np.int32)
        assert stack.shape[:2] == res.pyramid_levels[k]
        # Each class is rounded by at most half a step.
        assert np.abs(stack.sum(-1) - 255).max() <= LGG_4.num_classes / 2
        # Rounding can tie the top two classes; those pixels may disagree, no others.
        top2 = np.sort(stack, axis=-1)[..., -2:]
        agree = (stack.argmax(-1) == labels) | (top2[..., 1] - top2[..., 0] <= 1)
        assert agree.all()
        assert (stack.argmax(-1) != labels).mean() < 0.01
    # The glass on the left is never predicted: background with certainty.
    assert np.all(probs[LGG_4.index("BG")][0][:, :200 - TILE] == 255)


def test_cli_flag_writes_the_probability_pyramids(tmp_path, slide_path, tiny_model, keras_backend):
    from lggseg_cli.main import app

    tiny_model.save(tmp_path / "model.keras")
    write_palette(LGG_4, tmp_path / "classes.tsv")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["--backend", keras_backend, "predict", str(tmp_path), str(slide_path),
                                      "--out", str(out), "--level", "1", "--tile", "64", "--probabilities"])
    assert result.exit_code == 0, result.output
    for code in LGG_4.codes:
        assert (out / f"small_prob_{code}.tif").is_file()
    assert (out / "small_classes.tif").is_file()
