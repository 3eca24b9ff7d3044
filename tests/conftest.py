"""Shared fixtures: the real IvyGAP data beside the checkout, tiny synthetic data."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# One JAX compilation cache per test session, set before jax is imported: the shipped
# experiments build the same small networks again and again, and XLA compiles dominate.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="lggseg-jax-cache-"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the checkout; LGGSEG_SHARED points elsewhere if needed.
SHARED = Path(os.environ.get("LGGSEG_SHARED", REPO.parent / "shared"))
IVYGAP = SHARED / "data" / "ivygap"


def pytest_collection_modifyitems(config, items):
    if IVYGAP.is_dir():
        return
    if os.environ.get("CI"):
        # In CI the real data must be there: a skipped real-data test would hide a failure.
        raise pytest.UsageError(f"CI is set but the real data folder {IVYGAP} is missing.")
    skip = pytest.mark.skip(reason=f"real IvyGAP data not found at {IVYGAP} (set LGGSEG_SHARED)")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def ivygap_dir() -> Path:
    return IVYGAP


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def keras_backend() -> str:
    import keras

    return keras.backend.backend()
