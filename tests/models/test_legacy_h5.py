"""Keras 2 HDF5 weights (the GBM_WSSM.h5 format) load into the Keras 3 FC-DenseNet."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from lggseg.models import fc_densenet, load_gbm_wssm_weights, load_weights

pytestmark = pytest.mark.legacy_h5


@pytest.fixture(scope="module")
def tiny8(tiny_config):
    return fc_densenet(num_classes=8, flatten_output=True, **tiny_config)


@pytest.mark.parametrize("layout", ["tf_keras_save_weights", "keras224_save_weights", "tf_keras_model_save"])
def test_predictions_match_keras2(legacy_h5_files, tiny8, layout):
    path = legacy_h5_files["files"][layout]
    pairs = load_gbm_wssm_weights(tiny8, path)
    assert len(pairs) == sum(1 for layer in tiny8.layers if layer.weights)
    got = np.asarray(tiny8(legacy_h5_files["image"], training=False))
    np.testing.assert_allclose(got, legacy_h5_files["expected"], atol=1e-4)


def test_file_has_gaps_of_the_unused_transition(legacy_h5_files):
    # The original builds a transition down after the bottleneck that is not in the
    # model: its conv is missing from the file, so the counters have a gap.
    with h5py.File(legacy_h5_files["files"]["keras224_save_weights"], "r") as f:
        names = [n.decode() for n in f.attrs["layer_names"]]
    convs = sorted(int(n.rsplit("_", 1)[1]) for n in names if n.startswith("conv2d_") and "transpose" not in n)
    assert len(convs) < convs[-1]


def test_load_weights_dispatches_on_suffix(legacy_h5_files, tiny8):
    load_weights(tiny8, legacy_h5_files["files"]["keras224_save_weights"])
    got = np.asarray(tiny8(legacy_h5_files["image"], training=False))
    np.testing.assert_allclose(got, legacy_h5_files["expected"], atol=1e-4)


def test_other_class_count_is_named(legacy_h5_files, tiny_config):
    model = fc_densenet(num_classes=4, **tiny_config)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="trained for 8 classes, the model has 4"):
        load_gbm_wssm_weights(model, legacy_h5_files["files"]["keras224_save_weights"])
    # Nothing was assigned.
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def _edited_copy(src, dst, *, drop=None, widen=None):
    """Copies a Keras 2 weights file without layer ``drop`` / with a wider BN ``widen``."""
    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        names = [n.decode() for n in fin.attrs["layer_names"] if n.decode() != drop]
        fout.attrs["layer_names"] = np.array([n.encode() for n in names])
        for name in names:
            fin.copy(fin[name], fout, name=name)
        if widen:
            for key in list(fout[widen][widen]):
                data = np.asarray(fout[widen][widen][key])
                del fout[widen][widen][key]
                fout[widen][widen].create_dataset(key, data=np.concatenate([data, data[:1]]))


def test_other_architecture_is_named(legacy_h5_files, tiny8, tmp_path):
    src = legacy_h5_files["files"]["keras224_save_weights"]
    _edited_copy(src, tmp_path / "fewer.h5", drop="conv2d_3")
    with pytest.raises(ValueError, match=r"another architecture: .* file \{.*'conv2d': 15.* model \{.*'conv2d': 16"):
        load_gbm_wssm_weights(tiny8, tmp_path / "fewer.h5")
    _edited_copy(src, tmp_path / "wider.h5", widen="batch_normalization_2")
    with pytest.raises(ValueError, match="1 layers have other weight shapes.*batch_normalization_2"):
        load_gbm_wssm_weights(tiny8, tmp_path / "wider.h5")


def test_missing_and_foreign_files(tmp_path, tiny8):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        load_gbm_wssm_weights(tiny8, tmp_path / "nope.h5")
    path = tmp_path / "keras3.weights.h5"
    tiny8.save_weights(path)
    with pytest.raises(ValueError, match="no 'layer_names' attribute"):
        load_gbm_wssm_weights(tiny8, path)
