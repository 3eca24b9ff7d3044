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


# Every shipped gin file is tested: a new file needs no entry in a list (see pytest_generate_tests).
GIN_FILES = sorted((REPO / "gin").glob("*.gin"))


def is_suite(path: Path) -> bool:
    """A benchmark suite (binds ``benchmark_suite``, run by ``lggseg benchmark``), not a ``train`` config."""
    return "benchmark_suite." in path.read_text()


def reads_real_data(path: Path) -> bool:
    """Whether training with the file reads the IvyGAP folder beside the checkout."""
    return "../shared/data/ivygap" in path.read_text()


def pytest_generate_tests(metafunc):
    # A test taking `shipped_config` runs once per train config in gin/ (real-data ones marked
    # realdata), one taking `shipped_suite` once per benchmark suite.
    if "shipped_config" in metafunc.fixturenames:
        metafunc.parametrize("shipped_config", [
            pytest.param(path, id=path.stem, marks=[pytest.mark.realdata] if reads_real_data(path) else [])
            for path in GIN_FILES if not is_suite(path)
        ])
    if "shipped_suite" in metafunc.fixturenames:
        metafunc.parametrize("shipped_suite", [pytest.param(path, id=path.stem) for path in GIN_FILES if is_suite(path)])


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
