"""Pad an image to a multiple of the network's stride, and crop the result back.

FC-DenseNet halves the resolution five times and concatenates each up-sampled map with
the skip connection of the same level, so its input sides must be multiples of 32. These
two layers let the model take any size: the input is padded (symmetric by default, so the
border continues the tissue rather than a black frame) and the full-resolution feature
maps are cropped back to the input's size. Neither layer holds weights, so a model with
them loads the same weights as one without; with sides that are already multiples the
padding is zero and the output is unchanged.
"""

from __future__ import annotations

import keras
from keras import ops

PAD_MODES = ("symmetric", "reflect", "constant")


def _split(size, multiple: int):
    """Padding before and after a side of ``size`` to reach the next multiple."""
    total = (multiple - size % multiple) % multiple
    before = total // 2
    return before, total - before


@keras.saving.register_keras_serializable(package="lggseg")
class PadToMultiple(keras.layers.Layer):
    """Pads the two spatial axes of ``(B, H, W, C)`` up to the next multiple of ``multiple``.

    Args:
      multiple: the side lengths of the output are multiples of this.
      mode: ``"symmetric"`` (mirror including the edge pixel), ``"reflect"`` (mirror
        excluding it) or ``"constant"`` (zeros). The mirrored modes need each side to be
        at least half the padding on TensorFlow, i.e. at least ``multiple // 2`` pixels.

    Shape:
      ``(B, H, W, C)`` -> ``(B, ceil(H / m) * m, ceil(W / m) * m, C)``.
    """

    def __init__(self, *, multiple: int = 32, mode: str = "symmetric", **kwargs):
        super().__init__(**kwargs)
        if int(multiple) < 1:
            raise ValueError(f"PadToMultiple: multiple must be >= 1, got {multiple}.")
        if mode not in PAD_MODES:
            raise ValueError(f"PadToMultiple: unknown mode {mode!r}; valid modes: {', '.join(PAD_MODES)}.")
        self.multiple = int(multiple)
        self.mode = mode

    def call(self, inputs):
        shape = ops.shape(inputs)
        top, bottom = _split(shape[1], self.multiple)
        left, right = _split(shape[2], self.multiple)
        return ops.pad(inputs, [[0, 0], [top, bottom], [left, right], [0, 0]], mode=self.mode)

    def compute_output_shape(self, input_shape):
        def up(side):
            return None if side is None else -(-side // self.multiple) * self.multiple

        return (input_shape[0], up(input_shape[1]), up(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple, "mode": self.mode}


@keras.saving.register_keras_serializable(package="lggseg")
class CropToMatch(keras.layers.Layer):
    """Crops ``(B, H', W', C)`` to the spatial size of a reference, undoing :class:`PadToMultiple`.

    Called as ``CropToMatch(multiple=m)([padded, reference])``; the crop offsets are the
    ``before`` paddings that ``PadToMultiple(multiple=m)`` added to ``reference``.

    Shape:
      ``[(B, H', W', C), (B, H, W, C0)]`` -> ``(B, H, W, C)``.
    """

    def __init__(self, *, multiple: int = 32, **kwargs):
        super().__init__(**kwargs)
        if int(multiple) < 1:
            raise ValueError(f"CropToMatch: multiple must be >= 1, got {multiple}.")
        self.multiple = int(multiple)

    def call(self, inputs):
        padded, reference = inputs
        ref_shape = ops.shape(reference)
        height, width = ref_shape[1], ref_shape[2]
        top, _ = _split(height, self.multiple)
        left, _ = _split(width, self.multiple)
        return padded[:, top : top + height, left : left + width, :]

    def compute_output_shape(self, input_shape):
        padded, reference = input_shape
        return (padded[0], reference[1], reference[2], padded[3])

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}
