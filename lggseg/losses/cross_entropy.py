"""Cross-entropy on index masks, optionally class-weighted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
from keras import ops

from lggseg.losses._common import (
    DEFAULT_CLASS_CODES,
    check_num_classes,
    per_class_values,
    valid_pixel_mean,
    valid_targets,
)


@keras.saving.register_keras_serializable(package="lggseg")
class CrossEntropy(keras.losses.Loss):
    """Per-pixel categorical cross-entropy ``-w[y] log p_y``, averaged over labelled pixels.

    The weighted mean divides by the number of labelled pixels (Keras' convention for
    weighted losses), not by the sum of the weights (PyTorch's), so a weight of 2 doubles a
    class's pull on the gradient without rescaling the others. Pixels whose target is not
    a class index (:data:`~lggseg.classes.IGNORE_INDEX`) contribute nothing; the values
    returned per pixel are scaled so that the default reduction gives the mean over the
    batch's labelled pixels (see :func:`~lggseg.losses._common.valid_pixel_mean`).

    Args:
      class_weights: None (all 1), one weight per class, or ``{code: weight}`` (classes not
        named get 1).
      from_logits: ``y_pred`` holds logits rather than softmax probabilities.
      class_codes: the model's output classes in index order; resolves weights by name.

    Shape:
      ``y_true`` ``(B, H, W)`` class indices; ``y_pred`` ``(B, H, W, C)``.
    """

    def __init__(
        self,
        *,
        class_weights: Sequence[float] | Mapping[str, float] | None = None,
        from_logits: bool = False,
        class_codes: Sequence[str] = DEFAULT_CLASS_CODES,
        reduction: str = "sum_over_batch_size",
        name: str = "cross_entropy",
        dtype: str | None = None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.class_codes = tuple(class_codes)
        self.class_weights = (
            None
            if class_weights is None
            else per_class_values(
                class_weights, class_codes=self.class_codes, default=1.0, what="CrossEntropy class_weights"
            )
        )
        if isinstance(self.class_weights, float):
            raise ValueError(
                f"CrossEntropy class_weights: give one weight per class or a {{code: weight}} dict, "
                f"not the single number {self.class_weights} (that only rescales the loss)."
            )
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        labels, valid = valid_targets(y_true, y_pred)
        loss = ops.sparse_categorical_crossentropy(labels, y_pred, from_logits=self.from_logits)
        if self.class_weights is not None:
            check_num_classes(self.class_weights, int(y_pred.shape[-1]), "CrossEntropy class_weights")
            weights = ops.convert_to_tensor(self.class_weights, loss.dtype)
            loss = loss * ops.take(weights, labels)
        return valid_pixel_mean(loss, valid)

    def get_config(self):
        return {
            **super().get_config(),
            "class_weights": self.class_weights,
            "from_logits": self.from_logits,
            "class_codes": list(self.class_codes),
        }
