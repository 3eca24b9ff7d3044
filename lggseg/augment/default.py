"""The default training augmentation: flips, 90-degree rotations, stain and colour jitter."""

from __future__ import annotations

from lggseg.augment.augmentation import Augmentation, Compose
from lggseg.augment.color_jitter import RandomBrightness, RandomContrast, RandomHue, RandomSaturation
from lggseg.augment.flip import RandomFlip
from lggseg.augment.rotate import RandomRot90
from lggseg.augment.stain_jitter import StainJitter


def default_augmentation(
    *,
    flips: bool = True,
    rot90: bool = True,
    hue: float = 0.2,
    saturation: float = 0.2,
    brightness: float = 0.2,
    contrast: float = 0.2,
    stain_jitter: float = 0.0,
) -> Augmentation:
    """Geometric ops, then stain jitter, then colour jitter; a 0 (or False) leaves an op out.

    The defaults are the method's: horizontal and vertical flips and +-20 % hue,
    saturation, brightness and contrast; plus 90-degree rotations (tissue has no
    orientation) and, off by default, H&E stain jitter (Tellez et al. 2018).

    Args:
      flips: random horizontal and vertical flips.
      rot90: random rotations by multiples of 90 degrees.
      hue: hue turn range (fraction of a full turn), see :class:`RandomHue`.
      saturation: saturation range, see :class:`RandomSaturation`.
      brightness: brightness range, see :class:`RandomBrightness`.
      contrast: contrast range, see :class:`RandomContrast`.
      stain_jitter: H&E concentration scale/shift range, see :class:`StainJitter`.

    Returns:
      A :class:`Compose`: ``aug(image, mask, *, rng) -> (image, mask)``.
    """
    ops: list[Augmentation] = []
    if flips:
        ops.append(RandomFlip())
    if rot90:
        ops.append(RandomRot90())
    if stain_jitter:
        ops.append(StainJitter(sigma=stain_jitter))
    if brightness:
        ops.append(RandomBrightness(factor=brightness))
    if contrast:
        ops.append(RandomContrast(factor=contrast))
    if saturation:
        ops.append(RandomSaturation(factor=saturation))
    if hue:
        ops.append(RandomHue(factor=hue))
    return Compose(ops)
