"""The one stain policy (lggseg.stain.source_stain): the same region gets the same pixels on every path.

The paths: (1) training, the image a TileDataset serves tiles of; (2) image prediction,
``SlidingWindowPredictor.normalize``; (3) slide prediction, the tiles ``predict_slide``
feeds the model (``slide_tiles`` with ``estimate_slide_stain``), from a pyramidal TIFF
holding the same pixels. Tolerance: one grey level, the float32 rounding of the same
per-pixel maths on arrays of other sizes before the uint8 cast.
"""

from __future__ import annotations

import numpy as np
import pytest

from lggseg.classes import LGG_4
from lggseg.data.source import DataSource, Sample
from lggseg.data.synthetic import SyntheticSource
from lggseg.evaluation import SlidingWindowPredictor
from lggseg.slides import SlideReader, estimate_slide_stain, predict_slide, slide_tiles, write_synthetic_slide
from lggseg.stain import STAIN_SAMPLE_PIXELS, Identity, Macenko, Reinhard, StaintoolsMacenko, stain_sample
from lggseg.stain.source_stain import image_reader
from lggseg.training.pipeline import TileDataset

SIZE, TILE, OVERLAP = 384, 64, 0.25


@pytest.fixture(scope="module")
def slide(tmp_path_factory):
    """A one-level lossless slide of tissue blocks and glass, and its pixels as an image."""
    path = write_synthetic_slide(tmp_path_factory.mktemp("policy") / "slide.tif", width=SIZE, height=SIZE,
                                 block=128, distinct=4, glass_share=0.3, compression="zlib", seed=4)
    with SlideReader(path) as reader:
        image = reader.read_level(0)
    return path, image


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inp)
    return keras.Model(inp, keras.layers.Softmax()(x))


def _reference() -> np.ndarray:
    return SyntheticSource(count=1, size=256, num_classes=4, seed=20091, stain="gbm")[0].image


NORMALIZERS = {
    "macenko": Macenko,
    "reinhard": Reinhard,
    "staintools-macenko": StaintoolsMacenko,
    "none": Identity,
}


@pytest.mark.parametrize("method", list(NORMALIZERS))
def test_training_image_and_slide_prediction_normalise_a_region_alike(slide, model, method):
    path, image = slide
    normalizer = NORMALIZERS[method]().fit(_reference())
    # (1) Training: a tile as large as the image is the whole normalised image.
    source = DataSource(samples=[Sample(image=image, mask=np.zeros(image.shape[:2], np.uint8), name="slide")],
                        scheme=LGG_4)
    served = [np.rint(TileDataset(source=source, tile_size=SIZE, batch_size=1, normalizer=normalizer, seed=0,
                                  normalize_whole_images=whole)[0][0][0] * 255).astype(np.uint8)
              for whole in (True, False)]
    # (2) Image prediction.
    predictor = SlidingWindowPredictor(model=model, tile_size=TILE, overlap=OVERLAP, normalizer=normalizer)
    predicted = predictor.normalize(image)
    # (3) Slide prediction: the tiles of the sliding-window grid, as predict_slide reads them.
    origins = predictor.tile_origins(SIZE, SIZE)
    with SlideReader(path) as reader:
        stain = estimate_slide_stain(reader, level=0, normalizer=normalizer)
        fed = slide_tiles(reader, level=0, origins=origins, tile_size=TILE, normalizer=normalizer, stain=stain)
        raw = slide_tiles(reader, level=0, origins=origins, tile_size=TILE)

    assert stain.reason is None and stain.pixels == SIZE * SIZE
    for other in (served[1], predicted):
        assert np.abs(other.astype(int) - served[0]).max() <= 1
    regions = np.stack([served[0][y:y + TILE, x:x + TILE] for y, x in origins])
    assert np.abs(fed.astype(int) - regions).max() <= 1
    if method != "none":
        assert not np.array_equal(predicted, image)  # normalisation did something
        # The discriminating case: estimating per batch of tiles (the slide path before
        # the policy) or per tile gives other pixels, glass tiles passing through unchanged.
        per_batch = np.concatenate([normalizer.transform(raw[i:i + 8]) for i in range(0, len(raw), 8)])
        assert np.abs(per_batch.astype(int) - regions).max() > 8


def test_predict_slide_uses_the_slides_one_estimate_and_equals_image_prediction(tmp_path, slide, model):
    import tiffslide

    path, image = slide
    normalizer = Macenko().fit(_reference())
    res = predict_slide(model=model, slide_path=path, out_dir=tmp_path, tile_size=TILE, overlap=OVERLAP,
                        batch_size=4, normalizer=normalizer, tissue_only=False, mask=None)
    with SlideReader(path) as reader:
        stain = estimate_slide_stain(reader, level=0, normalizer=normalizer)
    for key, value in stain.parameters.items():
        np.testing.assert_array_equal(res.stain.parameters[key], value)
    probs = SlidingWindowPredictor(model=model, tile_size=TILE, overlap=OVERLAP, batch_size=4,
                                   normalizer=normalizer).predict(image)
    with tiffslide.TiffSlide(res.class_map) as s:
        got = np.asarray(s.read_region((0, 0), 0, (SIZE, SIZE), as_array=True))[..., 0]
    # Up to the one-grey-level rounding above, which can only flip near-ties.
    top2 = np.sort(probs, axis=-1)[..., -2:]
    near_tie = (top2[..., 1] - top2[..., 0]) < 0.02
    assert np.all((got == probs.argmax(-1)) | near_tie)


def test_stain_sample_is_the_whole_image_or_an_even_lattice_of_blocks():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)

    def reader(image):
        return lambda *, x, y, width, height: image[y:y + height, x:x + width]

    whole = stain_sample(height=300, width=200, read=reader(small))
    assert whole.shape == small.shape and np.shares_memory(whole, small)  # all of it, not copied
    # 40 blocks of 256^2 pixels at most, spread over a wide image, none overlapping. Pixels
    # say where they are: red = row / 4, green = column / 32.
    rows, cols = np.mgrid[0:1024, 0:8192]
    rgb = np.stack([rows // 4, cols // 32, np.zeros_like(rows)], axis=-1).astype(np.uint8)
    sample = stain_sample(height=1024, width=8192, read=reader(rgb), max_pixels=40 * 256 * 256)
    assert sample.shape[1:] == (256, 3) and sample.shape[0] % 256 == 0
    blocks = sample.shape[0] // 256
    assert 30 <= blocks <= 40
    ys, xs = sample[::256, 0, 0].astype(int) * 4, sample[::256, 0, 1].astype(int) * 32
    assert len(set(zip(ys.tolist(), xs.tolist()))) == blocks
    assert xs.min() < 1024 and xs.max() > 8192 - 1024 - 256 and len(set(ys.tolist())) >= 2
    assert STAIN_SAMPLE_PIXELS >= 1024 * 1024  # the IvyGAP images keep their whole-image estimates
    with pytest.raises(ValueError, match="max_pixels"):
        stain_sample(height=4, width=4, read=reader(small), max_pixels=0)


def test_a_source_estimated_by_another_method_is_refused():
    reference = _reference()
    macenko, reinhard = Macenko().fit(reference), Reinhard().fit(reference)
    stain = macenko.estimate_source(reference)
    with pytest.raises(ValueError, match="reinhard: source must be a SourceStain estimated by reinhard, got macenko"):
        reinhard.transform(reference, source=stain)
    # transform(image) is estimate + apply, so fit/transform code sees no change.
    np.testing.assert_array_equal(macenko.transform(reference), macenko.transform(reference, source=stain))
    # An image with no tissue passes through whole, and is counted once per region.
    glass = np.full((64, 64, 3), 245, np.uint8)
    empty = macenko.estimate_source(glass)
    assert empty.reason.startswith("background")
    macenko.reset_stats()
    np.testing.assert_array_equal(macenko.transform(np.stack([glass, glass]), source=empty), np.stack([glass, glass]))
    assert macenko.passthrough_count == 2 and macenko.passthrough_reasons == {"background": 2}


def test_an_image_above_the_sample_size_is_estimated_from_its_lattice_by_every_entry_point():
    normalizer = Macenko().fit(_reference())
    tissue = SyntheticSource(count=1, size=256, num_classes=4, seed=5)[0].image
    big = np.tile(tissue, (9, 9, 1))  # 2304^2 > 2048^2 pixels
    stain = normalizer.estimate_source(big)
    assert stain.reason is None and stain.pixels < big.shape[0] * big.shape[1]
    assert stain.pixels == stain_sample(height=2304, width=2304, read=image_reader(big)).size // 3
    out = normalizer.transform(np.stack([big, np.full_like(big, 250)]))
    assert normalizer.last_passthrough[0] is None and normalizer.last_passthrough[1].startswith("background")
    np.testing.assert_array_equal(out[0], normalizer.transform(big, source=stain))
    np.testing.assert_array_equal(out[1], 250)
