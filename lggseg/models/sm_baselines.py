"""Scratch baselines from segmentation-models (qubvel): U-Net, FPN, LinkNet, PSPNet.

segmentation-models 1.0.1 builds its networks from whatever Keras it is pointed at; with
``SM_FRAMEWORK=tf.keras`` that is ``tensorflow.keras``, which is Keras 3, so the models
are ordinary Keras 3 functional models and run on JAX as well as on TensorFlow (the
package still imports TensorFlow). Encoders are always randomly initialised
(``encoder_weights=None``): nothing is downloaded. Its losses and metrics are
TensorFlow-only; train these models with lggseg's losses.

Tested matrix (segmentation-models 1.0.1, Keras 3.15, JAX 0.10, TensorFlow 2.21; build,
forward and one training step of random data at 64x64 -- PSPNet and inceptionv3 96x96
-- batch 2, by ``benchmarks/sm_matrix.py``, 2 CPU cores)::

    backbone         unet  fpn   linknet pspnet | unet  fpn   linknet pspnet
                     ---------- JAX ----------- | ------- TensorFlow -------
    vgg16            ok    ok    ok      ok     | ok    ok    ok      ok
    resnet18         ok    ok    ok      ok     | ok    ok    ok      ok
    resnet34         ok    ok    ok      ok     | ok    ok    ok      ok
    resnet50         ok    ok    ok      ok     | ok    ok    ok      ok
    resnext50        ok    ok    ok      ok     | ok    ok    ok      ok
    seresnet18       ok    ok    ok      ok     | ok    ok    ok      ok
    mobilenetv2      ok    ok    ok      ok     | ok    ok    ok      ok
    inceptionv3 (*)  ok    ok    ok      ok     | ok    ok    ok      ok
    efficientnetb0   fwd   fwd   fwd     fwd    | ok    ok    ok      ok
    densenet121      build build build   build  | build build build   build

    ok: build, forward and a training step work; fwd: builds, but the forward pass
    fails on JAX (AttributeError: 'str' object has no attribute '_error_repr'); build: fails to build (Keras 3 rejects the
    Keras 2 layer names with '/' of the densenet encoders, e.g. 'conv1/conv').
    (*) inceptionv3 needs sides >= 75 (tested at 96x96; fails at 64x64).
    Other encoders of segmentation-models (resnet101/152, seresnet34+, seresnext,
    senet154, mobilenet, efficientnetb1-7, inceptionresnetv2, densenet169/201, vgg19)
    were not tested and are rejected.

Combinations outside :data:`SUPPORTED` raise ``ValueError`` before anything is built.
"""

from __future__ import annotations

import contextlib
import io
import os

import keras

ARCHITECTURES = ("unet", "fpn", "linknet", "pspnet")

# backend -> backbones that build, run forward and train in all four architectures
# (the measured matrix is in the module docstring).
_WORKS_EVERYWHERE = ("vgg16", "resnet18", "resnet34", "resnet50", "resnext50", "seresnet18", "mobilenetv2",
                     "inceptionv3")
SUPPORTED: dict[str, tuple[str, ...]] = {
    "jax": _WORKS_EVERYWHERE,
    "tensorflow": _WORKS_EVERYWHERE + ("efficientnetb0",),
}
# Keras' InceptionV3 refuses fixed inputs smaller than this.
MIN_SIDE = {"inceptionv3": 75}

PSP_FACTORS = (4, 8, 16)


def _import_sm():
    """Imports segmentation_models on Keras 3 (``SM_FRAMEWORK=tf.keras``), quietly."""
    os.environ.setdefault("SM_FRAMEWORK", "tf.keras")
    if os.environ["SM_FRAMEWORK"].lower() != "tf.keras":
        raise ValueError(
            f"SM_FRAMEWORK={os.environ['SM_FRAMEWORK']!r}: lggseg needs segmentation-models on tf.keras "
            f"(Keras 3); the standalone 'keras' framework of segmentation-models expects Keras 2. "
            f"Unset it or set SM_FRAMEWORK=tf.keras."
        )
    try:
        # The package prints its framework on import; keep stdout for the caller's output.
        with contextlib.redirect_stdout(io.StringIO()):
            import segmentation_models
    except ImportError as err:
        raise ImportError(
            f"segmentation-models is needed for the baselines: pip install 'segmentation-models>=1.0.1' ({err})."
        ) from err
    return segmentation_models


def check_supported(architecture: str, backbone: str, *, backend: str | None = None) -> None:
    """Raises ``ValueError`` naming the valid choices when a combination is not supported."""
    backend = backend or keras.backend.backend()
    if architecture not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {architecture!r}; valid: {', '.join(ARCHITECTURES)}.")
    if backend not in SUPPORTED:
        raise ValueError(
            f"segmentation-models baselines are not supported on the {backend!r} backend; "
            f"supported backends: {', '.join(SUPPORTED)}."
        )
    if backbone not in SUPPORTED[backend]:
        raise ValueError(
            f"Backbone {backbone!r} is not supported for sm_{architecture} on {backend} (tested: it "
            f"fails, or it was not tested); supported backbones on {backend}: "
            f"{', '.join(SUPPORTED[backend])}."
        )


def _check_common(architecture, backbone, num_classes, input_shape):
    check_supported(architecture, backbone)
    if int(num_classes) < 1:
        raise ValueError(f"sm_{architecture}: num_classes must be >= 1, got {num_classes}.")
    if len(input_shape) != 3:
        raise ValueError(f"sm_{architecture}: input_shape must be (H, W, channels), got {input_shape}.")
    minimum = MIN_SIDE.get(backbone, 0)
    if any(side is not None and side < minimum for side in input_shape[:2]):
        raise ValueError(
            f"sm_{architecture}: backbone {backbone!r} needs input sides >= {minimum}, got {tuple(input_shape)}."
        )


def build_sm(
    architecture: str, *, backbone: str, num_classes: int, input_shape: tuple, name: str, options: dict
) -> keras.Model:
    """Builds one segmentation-models network without checking :data:`SUPPORTED`.

    For ``benchmarks/sm_matrix.py``, which measures that table; use the ``sm_*`` builders.
    """
    sm = _import_sm()
    constructor = {"unet": sm.Unet, "fpn": sm.FPN, "linknet": sm.Linknet, "pspnet": sm.PSPNet}[architecture]
    model = constructor(
        backbone, input_shape=tuple(input_shape), classes=int(num_classes), activation="softmax",
        encoder_weights=None, **options,
    )
    # A fresh functional wrapper over the same layers, under lggseg's name.
    return keras.Model(model.inputs[0], model.outputs[0], name=name)


def sm_unet(
    *,
    backbone: str = "resnet18",
    num_classes: int = 4,
    input_shape: tuple[int | None, int | None, int] = (None, None, 3),
    decoder_filters: tuple[int, ...] = (256, 128, 64, 32, 16),
    name: str = "sm_unet",
) -> keras.Model:
    """U-Net with a randomly initialised encoder (segmentation-models ``Unet``).

    Args:
      backbone: encoder name, one of :data:`SUPPORTED` for the current backend.
      num_classes: output classes.
      input_shape: ``(H, W, 3)``; sides must be multiples of 32.
      decoder_filters: filters of the five decoder blocks.
      name: the model's name.

    Returns:
      A model from ``(B, H, W, 3)`` to softmax probabilities ``(B, H, W, num_classes)``.

    Reference: Ronneberger et al., "U-Net", MICCAI 2015; Yakubovskiy, segmentation_models (2019).
    """
    _check_common("unet", backbone, num_classes, input_shape)
    return build_sm("unet", backbone=backbone, num_classes=num_classes, input_shape=input_shape, name=name,
                    options={"decoder_filters": tuple(decoder_filters)})


def sm_fpn(
    *,
    backbone: str = "resnet18",
    num_classes: int = 4,
    input_shape: tuple[int | None, int | None, int] = (None, None, 3),
    pyramid_block_filters: int = 256,
    name: str = "sm_fpn",
) -> keras.Model:
    """Feature Pyramid Network with a randomly initialised encoder (segmentation-models ``FPN``).

    Arguments as in :func:`sm_unet`; ``pyramid_block_filters`` sets the pyramid width.

    Reference: Kirillov et al., "Panoptic Feature Pyramid Networks", CVPR 2019.
    """
    _check_common("fpn", backbone, num_classes, input_shape)
    return build_sm("fpn", backbone=backbone, num_classes=num_classes, input_shape=input_shape, name=name,
                    options={"pyramid_block_filters": int(pyramid_block_filters)})


def sm_linknet(
    *,
    backbone: str = "resnet18",
    num_classes: int = 4,
    input_shape: tuple[int | None, int | None, int] = (None, None, 3),
    name: str = "sm_linknet",
) -> keras.Model:
    """LinkNet with a randomly initialised encoder (segmentation-models ``Linknet``).

    Arguments as in :func:`sm_unet`.

    Reference: Chaurasia and Culurciello, "LinkNet", VCIP 2017.
    """
    _check_common("linknet", backbone, num_classes, input_shape)
    return build_sm("linknet", backbone=backbone, num_classes=num_classes, input_shape=input_shape,
                    name=name, options={})


def sm_pspnet(
    *,
    backbone: str = "resnet18",
    num_classes: int = 4,
    input_shape: tuple[int, int, int] = (384, 384, 3),
    downsample_factor: int = 8,
    name: str = "sm_pspnet",
) -> keras.Model:
    """PSPNet with a randomly initialised encoder (segmentation-models ``PSPNet``).

    Args:
      backbone, num_classes, name: as in :func:`sm_unet`.
      input_shape: ``(H, W, 3)`` with fixed sides divisible by ``6 * downsample_factor``
        (48 for the default): the pyramid pools the encoder output into 1, 2, 3 and 6 bins.
      downsample_factor: encoder depth, 4, 8 or 16.

    Reference: Zhao et al., "Pyramid Scene Parsing Network", CVPR 2017.
    """
    _check_common("pspnet", backbone, num_classes, input_shape)
    if downsample_factor not in PSP_FACTORS:
        raise ValueError(
            f"sm_pspnet: downsample_factor must be one of {PSP_FACTORS}, got {downsample_factor}."
        )
    multiple = 6 * downsample_factor
    height, width = input_shape[0], input_shape[1]
    if height is None or width is None or height % multiple or width % multiple:
        raise ValueError(
            f"sm_pspnet: input_shape {tuple(input_shape)} must have fixed H and W divisible by "
            f"6 * downsample_factor = {multiple} (e.g. ({multiple * 5}, {multiple * 5}, 3))."
        )
    return build_sm("pspnet", backbone=backbone, num_classes=num_classes, input_shape=input_shape, name=name,
                    options={"downsample_factor": int(downsample_factor)})
