"""make_normalizer / load_normalizer and the fit -> save -> load round trip of every method."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from lggseg.data.synthetic import SyntheticSource
from lggseg.stain import NORMALIZERS, Identity, Macenko, load_normalizer, make_normalizer


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return SyntheticSource(count=1, size=96, num_classes=4, seed=11, stain="gbm")[0].image


@pytest.fixture(scope="module")
def tiles() -> np.ndarray:
    return np.stack([s.image for s in SyntheticSource(count=2, size=48, num_classes=4, seed=4, stain="lgg")])


def test_registry_names():
    assert set(NORMALIZERS) == {"macenko", "staintools-macenko", "staintools-vahadane", "reinhard", "none"}
    assert isinstance(make_normalizer("none"), Identity)


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'macenco'.*valid methods: macenko, staintools-macenko"):
        make_normalizer("macenco")


@pytest.mark.parametrize("method", sorted(NORMALIZERS))
def test_fit_save_load_round_trip(method, reference, tiles, tmp_path):
    norm = make_normalizer(method).fit(reference)
    norm.reference_name = "ref.png"
    path = norm.save(tmp_path / "normalizer.json")
    loaded = load_normalizer(path)
    assert type(loaded) is type(norm) and loaded.reference_name == "ref.png"
    assert loaded.get_config() == norm.get_config()
    batch = tiles[:1] if method == "staintools-vahadane" else tiles  # Vahadane: ~1 s a tile
    assert np.array_equal(loaded.transform(batch), norm.transform(batch))


def test_make_normalizer_fits_on_a_reference_file(reference, tmp_path):
    path = tmp_path / "ref.png"
    Image.fromarray(reference).save(path)
    norm = make_normalizer("macenko", reference=path)
    assert norm.is_fitted and norm.reference_name == str(path)
    assert np.allclose(norm.stain_matrix, Macenko().fit(reference).stain_matrix)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json"):
        load_normalizer(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json: not a saved stain normaliser"):
        load_normalizer(bad)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"method": "vahadane", "config": {}}))
    with pytest.raises(ValueError, match="unknown.json: unknown stain normalisation method 'vahadane'"):
        load_normalizer(unknown)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"method": "macenko", "config": {"stain_matrix": [[1, 0]], "max_concentrations": [1, 1]}}))
    with pytest.raises(ValueError, match="broken.json: cannot restore the macenko normaliser"):
        load_normalizer(broken)
