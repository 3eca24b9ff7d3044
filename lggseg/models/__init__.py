"""Models: the GBM_WSSM FC-DenseNet, legacy weights, the transfer head, freezing, baselines.

* :func:`fc_densenet` -- FC-DenseNet, by default exactly GBM_WSSM (8 IvyGAP classes); the
  scratch baseline is the same builder in a gin scope, ``@scratch/fc_densenet``
  (``gin/scratch_fc_densenet.gin``); :func:`scratch_fc_densenet` is its deprecated alias.
* :func:`load_gbm_wssm_weights` -- the original Keras 2 ``GBM_WSSM.h5``;
  :func:`load_weights` / :func:`load_model` -- any of lggseg's files.
* :func:`gbm_transfer` -- a source model plus the Conv(16) -> Conv(C) -> softmax head;
  :func:`freeze_all_but_last` -- the "last N layers" unfreezing.
* :func:`sm_unet`, :func:`sm_fpn`, :func:`sm_linknet`, :func:`sm_pspnet` -- scratch
  baselines from segmentation-models (see ``sm_baselines.SUPPORTED``).
* :func:`build_model` -- all builders by name.

Importing this package registers lggseg's custom layers with Keras (so ``.keras`` files
load) and every builder with gin under ``lggseg.models.<name>``.
"""

from lggseg.models.fc_densenet import fc_densenet, scratch_fc_densenet
from lggseg.models.freezing import freeze_all_but_last, parameter_counts
from lggseg.models.legacy_h5 import load_gbm_wssm_weights
from lggseg.models.padding import CropToMatch, PadToMultiple
from lggseg.models.registry import MODEL_BUILDERS, build_model
from lggseg.models.saving import load_model, load_weights
from lggseg.models.sm_baselines import sm_fpn, sm_linknet, sm_pspnet, sm_unet
from lggseg.models.transfer import gbm_transfer
from lggseg.registry import register

# One place registers everything with gin. The builders are also chosen by name
# (build_model); the rest gin alone names. scratch_fc_densenet is a deprecated alias of
# @scratch/fc_densenet, kept for one release.
for _name, _builder in [
    ("fc_densenet", fc_densenet),
    ("gbm_transfer", gbm_transfer),
    ("scratch_fc_densenet", scratch_fc_densenet),
    ("sm_fpn", sm_fpn),
    ("sm_linknet", sm_linknet),
    ("sm_pspnet", sm_pspnet),
    ("sm_unet", sm_unet),
]:
    MODEL_BUILDERS.register(_name, _builder)
for _name, _obj in [
    ("freeze_all_but_last", freeze_all_but_last),
    ("load_gbm_wssm_weights", load_gbm_wssm_weights),
    ("load_weights", load_weights),
    ("load_model", load_model),
    ("build_model", build_model),
]:
    register(_name, _obj, module="lggseg.models")

__all__ = [
    "MODEL_BUILDERS",
    "CropToMatch",
    "PadToMultiple",
    "build_model",
    "fc_densenet",
    "freeze_all_but_last",
    "gbm_transfer",
    "load_gbm_wssm_weights",
    "load_model",
    "load_weights",
    "parameter_counts",
    "scratch_fc_densenet",
    "sm_fpn",
    "sm_linknet",
    "sm_pspnet",
    "sm_unet",
]
