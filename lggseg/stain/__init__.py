"""Stain normalisation: fit on a reference image, transform images to its stain.

Every path (training, image and slide prediction) follows one policy, stated in
:mod:`lggseg.stain.source_stain`: an image's stain is estimated once and applied to all
of its regions.

Methods (registry names): ``macenko`` (lggseg's batched numpy Macenko), ``staintools-macenko``
and ``staintools-vahadane`` (adapters over staintools), ``reinhard`` and ``none``. Every
normaliser is a :class:`StainNormalizer`; the fitted one is saved with a run
(``normalizer.json``) and reloaded with :func:`load_normalizer`.

gin names (module ``lggseg.stain``): ``Macenko``, ``StaintoolsMacenko``,
``StaintoolsVahadane``, ``Reinhard``, ``Identity``, ``make_normalizer``,
``load_normalizer``, ``choose_reference``. Registration leaves the classes untouched:
method parameters bound in gin (``macenko.beta = 0.2``) apply where gin builds the
object (``normalizer = @Macenko()``, or ``lggseg normalize --gin-param``), while plain
Python calls use the defaults.
"""

import gin

from lggseg.stain.base import StainNormalizer
from lggseg.stain.identity import Identity
from lggseg.stain.macenko import Macenko, StainEstimate
from lggseg.stain.reference import REFERENCE_RULES, choose_reference
from lggseg.stain.registry import NORMALIZERS, load_normalizer, make_normalizer
from lggseg.stain.reinhard import Reinhard
from lggseg.stain.source_stain import STAIN_SAMPLE_PIXELS, SourceStain, stain_sample
from lggseg.stain.staintools_adapter import StaintoolsMacenko, StaintoolsVahadane

# gin names follow the method names of make_normalizer ('staintools-macenko' -> staintools_macenko).
for _cls in (Macenko, StaintoolsMacenko, StaintoolsVahadane, Reinhard, Identity):
    _name = "identity" if _cls.method == "none" else _cls.method.replace("-", "_")
    gin.register(_name, module="lggseg.stain")(_cls)
gin.external_configurable(make_normalizer, module="lggseg.stain")
gin.external_configurable(load_normalizer, module="lggseg.stain")
gin.external_configurable(choose_reference, module="lggseg.stain")

__all__ = [
    "NORMALIZERS",
    "REFERENCE_RULES",
    "STAIN_SAMPLE_PIXELS",
    "SourceStain",
    "Identity",
    "Macenko",
    "Reinhard",
    "StainEstimate",
    "StainNormalizer",
    "StaintoolsMacenko",
    "StaintoolsVahadane",
    "choose_reference",
    "load_normalizer",
    "make_normalizer",
    "stain_sample",
]
