"""segmentation-models baselines: supported combinations build, others fail before any work."""

from __future__ import annotations

import gin
import keras
import pytest

from lggseg.models import sm_fpn, sm_linknet, sm_pspnet, sm_unet
from lggseg.models.sm_baselines import SUPPORTED


def test_unsupported_backbone_lists_the_supported_ones():
    backend = keras.backend.backend()
    with pytest.raises(ValueError, match=f"supported backbones on {backend}: .*resnet18"):
        sm_unet(backbone="densenet121")
    with pytest.raises(ValueError, match="not supported"):
        sm_linknet(backbone="no_such_net")


def test_pspnet_sizes_are_checked():
    with pytest.raises(ValueError, match="divisible by 6 \\* downsample_factor = 48"):
        sm_pspnet(input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="divisible by 6 \\* downsample_factor = 48"):
        sm_pspnet(input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="downsample_factor must be one of"):
        sm_pspnet(downsample_factor=5)


def test_other_builders_check_first():
    # Builds and forward passes of every supported combination: benchmarks/sm_matrix.py.
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        sm_fpn(num_classes=0)
    with pytest.raises(ValueError, match="input_shape must be"):
        sm_linknet(input_shape=(64, 64))


def test_models_are_gin_configurables():
    gin.clear_config()
    gin.parse_config(["lggseg.models.sm_unet.backbone = 'resnet18'",
                      "lggseg.models.fc_densenet.growth_rate = 4",
                      "lggseg.models.gbm_transfer.source = @lggseg.models.fc_densenet()"])
    assert gin.query_parameter("lggseg.models.sm_unet.backbone") == "resnet18"
    for name in ("fc_densenet", "scratch_fc_densenet", "gbm_transfer", "sm_unet", "sm_fpn", "sm_linknet",
                 "sm_pspnet", "freeze_all_but_last", "load_gbm_wssm_weights"):
        assert gin.get_configurable(f"lggseg.models.{name}")
    assert "resnet18" in SUPPORTED[keras.backend.backend()]
    gin.clear_config()
