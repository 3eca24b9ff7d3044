"""Adapters over staintools' Macenko and Vahadane normalisers (the reference implementations).

staintools (P. Byfield, https://github.com/Peter554/StainTools) is used exactly as the
method lggseg grows from used it: ``staintools.StainNormalizer(method=...)``, ``fit`` on
the reference, then per image: stain matrix, concentrations (``spams.lasso``) and their
99th percentile (estimated once per image, :mod:`lggseg.stain.source_stain`), then for any
region of it, concentrations, scaling and reconstruction. No ``LuminosityStandardizer``: it
was not part of that method.

staintools raises on a white tile (``TissueMaskException``), fails to converge on a tile
with one tissue pixel (``LinAlgError``) and silently returns an all-black image when a
stain's 99th-percentile concentration is 0 (0/0 -> NaN -> 0 after the cast). The adapter
turns every such case into a counted pass-through: it checks the tissue count first,
runs staintools' estimation with numpy floating-point errors raised, checks the result is
finite and non-zero, and reconstructs with a clip before the uint8 cast.

References: M. Macenko et al., ISBI 2009; A. Vahadane et al., "Structure-preserving color
normalization and sparse stain separation for histological images", IEEE TMI 35(8), 2016.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import cv2
import numpy as np

from lggseg.data.image_checks import check_rgb
from lggseg.stain.base import StainNormalizer
from lggseg.stain.source_stain import SourceStain

# staintools' own tissue rule (LuminosityThresholdTissueLocator's default).
_LUMINOSITY_THRESHOLD = 0.8


def _staintools():
    try:
        import staintools
    except ImportError as err:  # pragma: no cover - staintools is a dependency
        raise ImportError(
            "The staintools-macenko / staintools-vahadane normalisers need staintools and spams: "
            "pip install staintools spams-bin"
        ) from err
    return staintools


class _StaintoolsAdapter(StainNormalizer):
    """Shared adapter; subclasses set ``method`` and ``_staintools_method``."""

    _staintools_method = ""

    def __init__(self, *, min_tissue_pixels: int = 500) -> None:
        super().__init__()
        if min_tissue_pixels < 1:
            raise ValueError(f"{self.method}: min_tissue_pixels={min_tissue_pixels} must be >= 1.")
        self.min_tissue_pixels = int(min_tissue_pixels)
        self._normalizer = None

    def fit(self, reference: np.ndarray) -> "_StaintoolsAdapter":
        """Fit staintools on the reference.

        Raises:
          ValueError: when the reference is not uint8 RGB or staintools cannot fit it.
        """
        reference = check_rgb(reference, what=f"{self.method} reference")
        normalizer = _staintools().StainNormalizer(method=self._staintools_method)
        try:
            with _raise_float_errors():
                normalizer.fit(reference.copy())  # staintools overwrites 0 pixels in place
        except _staintools_errors() as err:
            raise ValueError(f"{self.method}: staintools cannot fit the reference: {type(err).__name__}: {err}") from err
        if not _usable(normalizer.stain_matrix_target, normalizer.maxC_target):
            raise ValueError(f"{self.method}: the reference has no usable H and E stains.")
        self._normalizer = normalizer
        return self

    @property
    def is_fitted(self) -> bool:
        return self._normalizer is not None

    def _estimate_source(self, sample: np.ndarray) -> SourceStain:
        pixels = sample.shape[0] * sample.shape[1]
        lightness = cv2.cvtColor(sample, cv2.COLOR_RGB2LAB)[..., 0]
        count = int(np.count_nonzero(lightness / 255.0 < _LUMINOSITY_THRESHOLD))
        if count < self.min_tissue_pixels:
            reason = f"background: {count} tissue pixels < min_tissue_pixels={self.min_tissue_pixels}"
            return SourceStain(method=self.method, parameters={}, reason=reason, pixels=pixels)
        from staintools.miscellaneous.get_concentrations import get_concentrations

        try:
            with _raise_float_errors():
                stain_matrix = self._normalizer.extractor.get_stain_matrix(sample.copy())
                concentrations = get_concentrations(sample.copy(), stain_matrix)
                max_c = np.percentile(concentrations, 99, axis=0).reshape((1, 2))
        except _staintools_errors() as err:
            reason = f"staintools failed: {type(err).__name__}: {err}"
            return SourceStain(method=self.method, parameters={}, reason=reason, pixels=pixels)
        reason = None if _usable(stain_matrix, max_c) else "degenerate: staintools found no usable H and E stains"
        return SourceStain(method=self.method, parameters={"stain_matrix": stain_matrix, "max_concentrations": max_c},
                           reason=reason, pixels=pixels)

    def _apply_source(self, batch: np.ndarray, source: SourceStain) -> tuple[np.ndarray, list[str | None]]:
        from staintools.miscellaneous.get_concentrations import get_concentrations

        st = self._normalizer
        stain_matrix = source.parameters["stain_matrix"]
        scale = st.maxC_target / source.parameters["max_concentrations"]
        out = np.empty_like(batch)
        reasons: list[str | None] = []
        for i, image in enumerate(batch):
            try:
                with _raise_float_errors():
                    concentrations = get_concentrations(image.copy(), stain_matrix)
            except _staintools_errors() as err:
                out[i] = image
                reasons.append(f"staintools failed: {type(err).__name__}: {err}")
                continue
            # staintools.StainNormalizer.transform, with a clip before the cast.
            rgb = 255 * np.exp(-1 * np.dot(concentrations * scale, st.stain_matrix_target))
            out[i] = np.clip(rgb, 0, 255).reshape(image.shape).astype(np.uint8)
            reasons.append(None)
        return out, reasons

    def get_config(self) -> dict[str, Any]:
        fitted = self._normalizer
        return {
            "min_tissue_pixels": self.min_tissue_pixels,
            "stain_matrix": None if fitted is None else np.asarray(fitted.stain_matrix_target).tolist(),
            "max_concentrations": None if fitted is None else np.asarray(fitted.maxC_target).ravel().tolist(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "_StaintoolsAdapter":
        config = dict(config)
        stain_matrix, max_c = config.pop("stain_matrix", None), config.pop("max_concentrations", None)
        norm = cls(**config)
        if stain_matrix is not None:
            stain_matrix = np.asarray(stain_matrix, dtype=np.float64)
            max_c = np.asarray(max_c, dtype=np.float64).reshape((1, 2))
            if stain_matrix.shape != (2, 3) or not _usable(stain_matrix, max_c):
                raise ValueError(f"{cls.method}: saved stain_matrix {stain_matrix.tolist()} / max_concentrations "
                                 f"{max_c.tolist()} must be finite, (2, 3) and (2,), concentrations > 0.")
            st = _staintools()
            normalizer = st.StainNormalizer(method=cls._staintools_method)
            # The attributes staintools' fit sets.
            normalizer.stain_matrix_target = stain_matrix
            normalizer.maxC_target = max_c
            from staintools.miscellaneous.optical_density_conversion import convert_OD_to_RGB

            normalizer.stain_matrix_target_RGB = convert_OD_to_RGB(stain_matrix)
            norm._normalizer = normalizer
        return norm


class StaintoolsMacenko(_StaintoolsAdapter):
    """staintools' Macenko normaliser (Macenko et al. 2009), crash-proofed.

    Args:
      min_tissue_pixels: fewer tissue pixels (staintools' lightness rule) and an image passes through.
    """

    method = "staintools-macenko"
    _staintools_method = "macenko"


class StaintoolsVahadane(_StaintoolsAdapter):
    """staintools' Vahadane normaliser (Vahadane et al. 2016; ~1 s per 256x256 tile), crash-proofed.

    Args:
      min_tissue_pixels: fewer tissue pixels (staintools' lightness rule) and an image passes through.
    """

    method = "staintools-vahadane"
    _staintools_method = "vahadane"


def _usable(stain_matrix: np.ndarray, max_c: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(stain_matrix)) and np.all(np.isfinite(max_c)) and np.min(max_c) > 1e-6)


@contextlib.contextmanager
def _raise_float_errors():
    """numpy divide/invalid/overflow errors and RuntimeWarnings (e.g. a covariance of one pixel) raise."""
    with np.errstate(divide="raise", invalid="raise", over="raise"), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def _staintools_errors() -> tuple[type[BaseException], ...]:
    """What staintools (and spams, numpy under it) raise on tiles it cannot handle."""
    from staintools.miscellaneous.exceptions import TissueMaskException

    return (
        TissueMaskException,
        np.linalg.LinAlgError,
        FloatingPointError,
        RuntimeWarning,
        ValueError,
        RuntimeError,
        AssertionError,  # staintools checks its inputs and outputs with assert
    )
