"""Joint image + mask augmentation for training tiles (numpy / OpenCV, any Keras backend).

Every op is ``op(image, mask, *, rng) -> (image, mask)`` on one uint8 sample; geometric
ops move the mask with the image, colour and stain ops never touch it; all randomness
comes from ``rng``.

gin names (module ``lggseg.augment``): ``augmentation`` (:func:`default_augmentation`),
``Compose``, ``RandomFlip``, ``RandomRot90``, ``RandomBrightness``, ``RandomContrast``,
``RandomSaturation``, ``RandomHue``, ``StainJitter``.
"""

from lggseg.augment.augmentation import Augmentation, Compose
from lggseg.augment.color_jitter import RandomBrightness, RandomContrast, RandomHue, RandomSaturation
from lggseg.augment.default import default_augmentation
from lggseg.augment.flip import RandomFlip
from lggseg.augment.rotate import RandomRot90
from lggseg.augment.stain_jitter import StainJitter
from lggseg.registry import register

# Registration with gin, in one place for the package.
register("augmentation", default_augmentation, module="lggseg.augment")
for _cls in (Compose, RandomFlip, RandomRot90, RandomBrightness, RandomContrast, RandomSaturation, RandomHue, StainJitter):
    register(_cls.__name__, _cls, module="lggseg.augment")

__all__ = [
    "Augmentation",
    "Compose",
    "RandomBrightness",
    "RandomContrast",
    "RandomFlip",
    "RandomHue",
    "RandomRot90",
    "RandomSaturation",
    "StainJitter",
    "default_augmentation",
]
