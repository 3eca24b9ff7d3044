"""evaluate(): whole images through the predictor, class-scheme reconciliation, examples."""

import numpy as np
import pytest

from lggseg.classes import IVYGAP_8, LGG_4, ClassScheme, ivygap_to_lgg
from lggseg.data.source import DataSource, Sample
from lggseg.evaluation import ConfusionAccumulator, SlidingWindowPredictor, evaluate, prior_correction


def _source(scheme, *, n=3, size=(24, 20), seed=0):
    rng = np.random.default_rng(seed)
    samples = [
        Sample(
            image=rng.integers(0, 256, size + (3,), dtype=np.uint8),
            mask=rng.integers(0, scheme.num_classes, size, dtype=np.uint8),
            name=f"img{i}",
        )
        for i in range(n)
    ]
    return DataSource(samples=samples, scheme=scheme)


def test_metrics_cover_all_pixels_of_whole_images(fc_model):
    model = fc_model()
    predictor = SlidingWindowPredictor(model=model, tile_size=16, overlap=0.25)
    source = _source(LGG_4)
    done = []
    result = evaluate(predictor=predictor, source=source, keep_examples=2, progress=lambda i, n: done.append(i))
    assert done == [1, 2, 3]
    assert result.notes == [] and result.metrics["notes"] == []
    assert result.metrics["pixels"] == 3 * 24 * 20
    assert result.scheme == LGG_4 and result.metrics["classes"] == list(LGG_4.codes)
    # The same numbers as accumulating the predictor's output by hand.
    acc = ConfusionAccumulator(num_classes=4)
    for s in source:
        acc.update(y_true=s.mask, probs=predictor.predict(s.image))
    assert result.metrics == {**acc.result(class_names=list(LGG_4.codes)), "notes": []}
    assert [e.name for e in result.examples] == ["img0", "img1"]
    ex = result.examples[0]
    assert ex.image.shape == (24, 20, 3) and ex.mask.shape == ex.prediction.shape == (24, 20)
    np.testing.assert_array_equal(ex.prediction, ex.probs.argmax(axis=-1))


def test_ivygap_masks_are_mapped_for_a_four_class_model_and_said(fc_model):
    source = _source(IVYGAP_8)
    predictor = SlidingWindowPredictor(model=fc_model(num_classes=4), tile_size=16)
    result = evaluate(predictor=predictor, source=source, keep_examples=1)
    assert result.scheme == LGG_4
    assert result.metrics["classes"] == ["BG", "CT", "LE", "IT"]
    assert any("IvyGAP -> LGG" in n for n in result.notes) and result.metrics["notes"] == result.notes
    lut = ivygap_to_lgg().lookup()
    expected = np.bincount(np.concatenate([lut[s.mask].ravel() for s in source]), minlength=4)
    assert [result.metrics["per_class"][c]["support"] for c in LGG_4.codes] == expected.tolist()
    np.testing.assert_array_equal(result.examples[0].mask, lut[source[0].mask])


def test_an_eight_class_model_on_four_class_masks_sums_probabilities(fc_model):
    source = _source(LGG_4, n=1)
    predictor = SlidingWindowPredictor(model=fc_model(num_classes=8), tile_size=16)
    result = evaluate(predictor=predictor, source=source)
    assert result.scheme == LGG_4 and "summed" in result.notes[0]
    probs8 = predictor.predict(source[0].image)
    lut = ivygap_to_lgg().lookup()
    expected = np.stack([probs8[..., lut == t].sum(-1) for t in range(4)], axis=-1)
    np.testing.assert_allclose(result.examples[0].probs, expected, atol=1e-6)


def test_unrelated_schemes_need_a_mapping(fc_model):
    three = ClassScheme(codes=("A", "B", "C"), colours=((0, 0, 0), (1, 1, 1), (2, 2, 2)), names=("a", "b", "c"))
    predictor = SlidingWindowPredictor(model=fc_model(num_classes=4), tile_size=16)
    with pytest.raises(ValueError, match="ClassMapping"):
        evaluate(predictor=predictor, source=_source(three, n=1))


def test_decision_rules_and_pixel_samples_come_beside_the_argmax(fc_model):
    source = _source(LGG_4)
    predictor = SlidingWindowPredictor(model=fc_model(), tile_size=16)
    rule = prior_correction(train_priors=[0.4, 0.4, 0.1, 0.1], class_names=list(LGG_4.codes))
    result = evaluate(predictor=predictor, source=source, decision_rules=[rule], sample_pixels_per_class=20)
    assert len(result.decisions) == 1 and result.decisions[0].rule == rule
    plain = evaluate(predictor=predictor, source=source)
    assert result.metrics == plain.metrics  # the argmax results are never replaced
    assert result.decisions[0].metrics["per_class"]["LE"]["predicted"] >= plain.metrics["per_class"]["LE"]["predicted"]
    assert len(result.pixels) <= 3 * 4 * 20
    assert result.pixels.weight.sum() == pytest.approx(3 * 24 * 20)


@pytest.mark.realdata
def test_ivygap_images_with_the_run_normaliser(ivygap_dir, fc_model):
    from lggseg.data import FolderSource
    from lggseg.stain.macenko import Macenko

    source = FolderSource(directory=ivygap_dir, pattern="W30-1-1-F.0*")
    normalizer = Macenko().fit(source[0].image)
    predictor = SlidingWindowPredictor(model=fc_model(), tile_size=256, overlap=0.25, batch_size=8,
                                       normalizer=normalizer)
    result = evaluate(predictor=predictor, source=source, keep_examples=1)
    assert result.metrics["pixels"] == len(source) * 1024 * 1024
    assert result.metrics["per_class"]["LE"]["support"] > 0  # these images hold large LE regions
    assert "IvyGAP -> LGG" in result.notes[0]
    # The normaliser is applied to the whole image before tiling.
    direct = SlidingWindowPredictor(model=predictor.model, tile_size=256).predict(normalizer.transform(source[0].image))
    np.testing.assert_allclose(result.examples[0].probs, direct, atol=1e-6)
