"""The scratch FC-DenseNet baseline is the transfer source's architecture, bound once in gin."""

from __future__ import annotations

from pathlib import Path

import gin
import keras
import pytest

from lggseg import config
from lggseg.models import fc_densenet, scratch_fc_densenet
from lggseg.models.fc_densenet import CLASSIFIER_LAYER

GIN = Path(__file__).resolve().parents[2] / "gin"


def _sources(node) -> list[str]:
    """The layers whose outputs a serialised node reads (their tensors carry shapes, which may differ)."""
    if isinstance(node, dict):
        if "keras_history" in node:
            return [node["keras_history"][0]]
        return [name for value in node.values() for name in _sources(value)]
    if isinstance(node, (list, tuple)):
        return [name for value in node for name in _sources(value)]
    return []


def _architecture(model: keras.Model) -> list[tuple]:
    """Every layer's class, name, config and inputs, without the classifier's class count."""
    layers = []
    for layer in model.get_config()["layers"]:
        layer_config = dict(layer["config"])
        if layer["name"].startswith(CLASSIFIER_LAYER):
            layer_config.pop("filters")
        layers.append((layer["class_name"], layer["name"], layer_config, _sources(layer["inbound_nodes"])))
    return layers


def _ivygap_scratch_entry() -> tuple[list[str], list[str]]:
    """The gin files (names in gin/) and bindings of the IvyGAP suite's scratch entry."""
    from lggseg.benchmark import load_suite

    suite = load_suite(files=[GIN / "benchmark_ivygap.gin"])
    files = [Path(f).name for f in suite.entries["scratch_fc_densenet"]]
    return files, list(suite.params.get("scratch_fc_densenet", ()))


@pytest.mark.parametrize(
    "source_files,scratch_entry",
    [
        # The quick suite: le_focus.gin's source against scratch_fc_densenet.gin, both + quick.gin.
        (["le_focus.gin", "quick.gin"], lambda: (["scratch_fc_densenet.gin", "quick.gin"], [])),
        # The IvyGAP suites: their scratch entry (ivygap_scratch.gin) is the transfer experiment
        # with the model swapped.
        (["ivygap_transfer.gin"], _ivygap_scratch_entry),
    ],
    ids=["quick", "ivygap"],
)
def test_scratch_baseline_is_the_transfer_source_architecture(source_files, scratch_entry):
    # Build only: without initialising the variables (on JAX that compiles a kernel per shape).
    try:
        with keras.StatelessScope(initialize_variables=False):
            # The source as gbm_source builds it (its architecture with 8 classes), without
            # calling gbm_source (which pretrains one).
            config.parse(files=[GIN / f for f in source_files])
            source = gin.query_parameter("gbm_source.architecture").scoped_configurable_fn(num_classes=8)
            # The baseline as the trainer builds it: train.model called with no arguments.
            scratch_files, scratch_params = scratch_entry()
            config.parse(files=[GIN / f for f in scratch_files], params=scratch_params)
            scratch = gin.query_parameter("train.model").scoped_configurable_fn()
            architectures = _architecture(scratch), _architecture(source)
    finally:
        gin.clear_config()
        keras.backend.clear_session()  # forget the uninitialised variables
    assert source.output.shape[-1] == 8 and scratch.output.shape[-1] == 4
    assert len(architectures[0]) == len(source.layers) > 40
    assert scratch.name == "scratch_fc_densenet"
    # Every layer the same (width, dropout, regularisation, padding...) but the class count.
    assert architectures[0] == architectures[1]


def test_deprecated_alias_keeps_old_configs_working():
    old_config = [
        "lggseg.training.train.model = @scratch_fc_densenet",
        "scratch_fc_densenet.initial_filters = 8",
        "scratch_fc_densenet.growth_rate = 4",
        "scratch_fc_densenet.down_blocks = (1,)",
        "scratch_fc_densenet.bottleneck_layers = 1",
        "scratch_fc_densenet.up_blocks = (1,)",
    ]
    try:
        with keras.StatelessScope(initialize_variables=False):
            config.parse(params=old_config)
            with pytest.warns(FutureWarning, match="train.model = @scratch/fc_densenet"):
                model = gin.query_parameter("train.model").scoped_configurable_fn()
            expected = fc_densenet(
                num_classes=4, initial_filters=8, growth_rate=4, down_blocks=(1,), bottleneck_layers=1,
                up_blocks=(1,), name="scratch_fc_densenet",
            )
            assert model.get_config() == expected.get_config()
        with pytest.raises(ValueError, match="doesn't have a parameter named 'growth_rat'"):
            config.parse(params=["scratch_fc_densenet.growth_rat = 4"])
    finally:
        gin.clear_config()
        keras.backend.clear_session()
    with pytest.warns(FutureWarning), pytest.raises(TypeError, match="growth_rat"):
        scratch_fc_densenet(growth_rat=4)
