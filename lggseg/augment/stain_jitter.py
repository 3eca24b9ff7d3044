"""H&E stain augmentation: random scale and shift of each stain's concentration in OD space.

Reference: D. Tellez et al., "Whole-slide mitosis detection in H&E breast histology using
PHH3 as a reference to train distilled stain-invariant convolutional networks", IEEE
TMI 37(9), 2018, pp. 2126-2136 (also Tellez et al., "Quantifying the effects of data
augmentation and stain color normalization in convolutional neural networks for
computational pathology", Medical Image Analysis 58, 2019; the "HED jitter" transform).

RGB -> optical density (natural log, OD = -ln(I / 255)) -> H, E, DAB concentrations by
Ruifrok & Johnston's colour deconvolution matrix (Analytical and Quantitative Cytology
and Histology 23(4), 2001; the values scikit-image uses) -> ``c' = alpha c + beta`` per
stain, ``alpha`` uniform in ``[1 - sigma, 1 + sigma]`` and ``beta`` in ``[-sigma, sigma]``
-> back to RGB. The whole map is affine in OD, so it is one 3x4 matrix per sample:
``exp(-(od M^-1 diag(alpha) M + beta M))``, applied by cv2 in one pass.
"""

from __future__ import annotations

import cv2
import numpy as np

from lggseg.stain._optical_density import OD_LUT

# Rows: OD of haematoxylin, eosin, DAB (Ruifrok & Johnston 2001), unit length.
_RGB_FROM_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])
_RGB_FROM_HED /= np.linalg.norm(_RGB_FROM_HED, axis=1, keepdims=True)
_HED_FROM_RGB = np.linalg.inv(_RGB_FROM_HED)


class StainJitter:
    """Tellez et al. (2018) H&E(-DAB) stain jitter of the image; the mask is untouched.

    Args:
      sigma: scale range ``1 +- sigma`` and shift range ``+- sigma`` (OD units) of each
        stain's concentration, in [0, 1); Tellez et al. used 0.05 ("light") and up to
        about 0.1 ("strong").
    """

    def __init__(self, *, sigma: float = 0.05) -> None:
        if not 0.0 <= sigma < 1.0:
            raise ValueError(f"StainJitter: sigma={sigma} must be in [0, 1).")
        self.sigma = float(sigma)

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, *, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        alpha = rng.uniform(1.0 - self.sigma, 1.0 + self.sigma, size=3)
        beta = rng.uniform(-self.sigma, self.sigma, size=3)
        # Row-vector OD: od' = od A + b with A = M^-1 diag(alpha) M and b = beta M.
        a = _HED_FROM_RGB @ np.diag(alpha) @ _RGB_FROM_HED
        b = beta @ _RGB_FROM_HED
        # cv2.transform computes m @ [od; 1] per pixel; 255 exp(-od') = exp(ln 255 - od').
        m = np.concatenate([-a.T, (np.log(255.0) - b)[:, None]], axis=1).astype(np.float32)
        od = cv2.LUT(image, OD_LUT)
        out = cv2.exp(cv2.transform(od, m))
        # Values are > 0 (an exponential), so the abs is a no-op: this rounds and saturates.
        return cv2.convertScaleAbs(out), mask

    def __repr__(self) -> str:
        return f"StainJitter(sigma={self.sigma})"
