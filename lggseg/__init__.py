"""lggseg: segmentation of lower-grade glioma H&E images by transfer from a GBM model.

The top-level package is light: it imports neither keras nor a backend, so that the
command line can choose the backend first. Components live in subpackages:

* ``lggseg.data``      data sources, tissue detection, tiles, splits, the synthetic generator
* ``lggseg.stain``     stain normalisers (Macenko, Reinhard, staintools adapters)
* ``lggseg.augment``   joint image + mask augmentation
* ``lggseg.models``    FC-DenseNet (GBM_WSSM), the transfer head, freezing, baselines
* ``lggseg.losses``    focal, Dice and cross-entropy losses on index masks
* ``lggseg.training``  samplers, the input pipeline, unfreeze schedules, the trainer
* ``lggseg.evaluation`` metrics, probability analysis, reports, sliding-window prediction
"""

import gin

from lggseg import classes
from lggseg.classes import IVYGAP_8, LGG_4, ClassMapping, ClassScheme, ivygap_to_lgg
from lggseg.registry import register

__version__ = "0.1.0"

# Registration with gin happens in one place per package; here for the top level.
register("ivygap_to_lgg", ivygap_to_lgg, module="lggseg")
register("scheme_by_name", classes.scheme_by_name, module="lggseg")
register("read_palette", classes.read_palette, module="lggseg")
gin.constant("lggseg.IVYGAP_8", IVYGAP_8)
gin.constant("lggseg.LGG_4", LGG_4)

__all__ = ["ClassMapping", "ClassScheme", "IVYGAP_8", "LGG_4", "ivygap_to_lgg", "__version__"]
