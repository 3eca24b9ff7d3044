"""Tiny-model overrides that make every shipped experiment train in seconds."""

from pathlib import Path

import pytest

# Applied after gin/quick.gin in tests: even smaller than the quick profile, so that each
# shipped gin file trains end to end on both backends within the CI budget.
TINY = [
    "TILE_SIZE = 32",
    "EPOCHS_PER_PHASE = 1",
    "SCRATCH_EPOCHS = 1",
    "EPOCHS = 1",
    "synthetic_source.count = 10",
    "synthetic_source.size = 64",
    "train.steps_per_epoch = 2",
    "train.batch_size = 4",
    "train.progress = False",
    # ivygap_transfer.gin gives its phases epochs of their own (2 and 8), not a macro, and
    # reads the real images at SCALE: an eighth (128 px) keeps its blocks and folds, and is fast.
    "SCALE = 0.125",
    "head/phase.epochs = 1",
    "all/phase.epochs = 1",
    "fc_densenet.initial_filters = 8",
    "fc_densenet.growth_rate = 4",
    "fc_densenet.down_blocks = (1, 1)",
    "fc_densenet.bottleneck_layers = 1",
    "fc_densenet.up_blocks = (1, 1)",  # also the scratch baseline's, @scratch/fc_densenet
    "gbm_source.pretrain_images = 8",
    "gbm_source.pretrain_image_size = 64",
    "gbm_source.pretrain_tile_size = 32",
    "gbm_source.pretrain_epochs = 1",
    "gbm_source.pretrain_steps_per_epoch = 2",
]


@pytest.fixture(scope="session")
def tiny_params() -> list[str]:
    return list(TINY)


@pytest.fixture(scope="session")
def gin_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "gin"


@pytest.fixture(scope="session")
def source_cache(tmp_path_factory):
    """One cache of pretrained GBM sources per session (shared by the gin-file tests)."""
    return tmp_path_factory.mktemp("lggseg-cache")


@pytest.fixture
def tiny_cache(source_cache, monkeypatch):
    monkeypatch.setenv("LGGSEG_CACHE", str(source_cache))
    return source_cache
