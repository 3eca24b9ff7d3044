"""Fixtures of the fault tests: a tiny experiment, and small or read-only disks (real tmpfs mounts)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

# A run of a few seconds a phase: the tiniest FC-DenseNet on 6 synthetic images.
TINY_EXPERIMENT = """
train.data = @synthetic_source()
synthetic_source.count = 6
synthetic_source.size = 64
synthetic_source.num_classes = 4
train.model = @fc_densenet
fc_densenet.num_classes = 4
fc_densenet.initial_filters = 8
fc_densenet.growth_rate = 4
fc_densenet.down_blocks = (1,)
fc_densenet.bottleneck_layers = 1
fc_densenet.up_blocks = (1,)
train.phases = [@phase()]
phase.layers_to_unfreeze = 'all'
phase.epochs = 60
train.tile_size = 32
train.batch_size = 2
train.steps_per_epoch = 3
train.progress = False
train.decision_rule = False
"""


@pytest.fixture
def tiny_experiment(tmp_path) -> Path:
    path = tmp_path / "tiny.gin"
    path.write_text(TINY_EXPERIMENT)
    return path


@pytest.fixture
def mount_tmpfs(tmp_path):
    """``mount_tmpfs(size_kb, read_only=False) -> Path``: a real small file system (needs root)."""
    mounted: list[Path] = []

    def mount(size_kb: int, *, read_only: bool = False) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        options = f"size={size_kb}k" + (",ro" if read_only else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)
