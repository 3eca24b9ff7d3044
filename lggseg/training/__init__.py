"""Training: samplers, the tile pipeline, unfreeze schedules, the GBM source and the trainer."""

from lggseg.registry import register
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

# Registration with gin, in one place for the package (see lggseg.registry).
for _name, _component in [
    ("train", train),
    ("phase", phase),
    ("gbm_source", gbm_source),
    ("synthetic_reference", synthetic_reference),
    ("uniform", UniformSampler),
    ("rare_class_oversampling", RareClassOversampler),
    ("class_centered", ClassCenteredSampler),
    ("tile_dataset", TileDataset),
    ("distribution", configure_distribution),
    ("data_parallel", data_parallel),
]:
    register(_name, _component, module="lggseg.training")

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
