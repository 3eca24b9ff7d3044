"""The ``none`` normaliser: images pass unchanged, through the same interface."""

from __future__ import annotations

from typing import Any

import numpy as np

from lggseg.stain.base import StainNormalizer
from lggseg.stain.source_stain import SourceStain


class Identity(StainNormalizer):
    """No stain normalisation; ``fit`` accepts (and ignores) a reference.

    Lets a run switch normalisation off by name while keeping one code path: its images
    are counted as transformed, never as passed through (nothing failed).
    """

    method = "none"

    def fit(self, reference: np.ndarray) -> "Identity":
        return self

    @property
    def is_fitted(self) -> bool:
        return True

    def _estimate_source(self, sample: np.ndarray) -> SourceStain:
        # Nothing to estimate: every image is trivially normalised the same way everywhere.
        return SourceStain(method=self.method, parameters={}, reason=None, pixels=sample.shape[0] * sample.shape[1])

    def _apply_source(self, batch: np.ndarray, source: SourceStain) -> tuple[np.ndarray, list[str | None]]:
        return batch.copy(), [None] * batch.shape[0]

    def _transform_batch(self, batch: np.ndarray) -> np.ndarray:
        self._record([None] * batch.shape[0])
        return batch.copy()

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Identity":
        if config:
            raise ValueError(f"none: takes no parameters, got {sorted(config)}.")
        return cls()
