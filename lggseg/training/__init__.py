"""Training: samplers, the tile pipeline, unfreeze schedules, the GBM source and the trainer."""

import gin

from lggseg.training.distribution import configure_distribution, data_parallel
from lggseg.training.pipeline import TileDataset
from lggseg.training.samplers import ClassCenteredSampler, RareClassOversampler, UniformSampler
from lggseg.training.schedule import Phase, phase
from lggseg.training.source_model import (
    SourceNotPretrained,
    SourcePretraining,
    gbm_source,
    synthetic_reference,
    train_with_source,
)
from lggseg.training.trainer import TrainingDiverged, train

# Registration with gin, in one place for the package.
gin.external_configurable(train, name="train", module="lggseg.training")
gin.external_configurable(phase, name="phase", module="lggseg.training")
gin.external_configurable(gbm_source, name="gbm_source", module="lggseg.training")
gin.external_configurable(synthetic_reference, name="synthetic_reference", module="lggseg.training")
gin.external_configurable(UniformSampler, name="uniform", module="lggseg.training")
gin.external_configurable(RareClassOversampler, name="rare_class_oversampling", module="lggseg.training")
gin.external_configurable(ClassCenteredSampler, name="class_centered", module="lggseg.training")
gin.external_configurable(TileDataset, name="tile_dataset", module="lggseg.training")
gin.external_configurable(configure_distribution, name="distribution", module="lggseg.training")
gin.external_configurable(data_parallel, name="data_parallel", module="lggseg.training")

__all__ = [
    "ClassCenteredSampler",
    "Phase",
    "RareClassOversampler",
    "TileDataset",
    "SourceNotPretrained",
    "SourcePretraining",
    "TrainingDiverged",
    "UniformSampler",
    "configure_distribution",
    "data_parallel",
    "gbm_source",
    "phase",
    "synthetic_reference",
    "train",
    "train_with_source",
]
