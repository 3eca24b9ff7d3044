"""Stain normalisation: fit on a reference image, transform images to its stain.

Every path (training, image and slide prediction) follows one policy, stated in
:mod:`lggseg.stain.source_stain`: an image's stain is estimated once and applied to all
of its regions.

Methods (registry names): ``macenko`` (lggseg's batched numpy Macenko), ``staintools-macenko``
and ``staintools-vahadane`` (adapters over staintools), ``reinhard`` and ``none``. Every
normaliser is a :class:`StainNormalizer`; the fitted one is saved with a run
(``normalizer.json``) and reloaded with :func:`load_normalizer`.

gin names (module ``lggseg.stain``): ``macenko``, ``staintools_macenko``,
``staintools_vahadane``, ``reinhard``, ``identity``, ``make_normalizer``,
``load_normalizer``, ``choose_reference``. The normalisers' gin names are their method
names made identifiers (``-`` becomes ``_``; the method ``none`` is ``identity``).
Registration leaves the classes untouched: method parameters bound in gin
(``macenko.beta = 0.2``) apply where gin builds the object (in a training config
``train.normalizer = @macenko()``, or ``lggseg normalize --gin-param``), while plain Python
calls use the defaults.
"""

from lggseg.registry import register
from lggseg.stain.base import StainNormalizer
from lggseg.stain.identity import Identity
from lggseg.stain.macenko import Macenko, StainEstimate
from lggseg.stain.reference import REFERENCE_RULES, choose_reference
from lggseg.stain.registry import NORMALIZERS, load_normalizer, make_normalizer
from lggseg.stain.reinhard import Reinhard
from lggseg.stain.source_stain import STAIN_SAMPLE_PIXELS, SourceStain, stain_sample
from lggseg.stain.staintools_adapter import StaintoolsMacenko, StaintoolsVahadane

# One place registers everything with gin. The lookup names are the method names that
# normalizer.json and --method use; gin names must be identifiers, hence the second column.
for _cls, _gin_name in [
    (Macenko, "macenko"),
    (StaintoolsMacenko, "staintools_macenko"),
    (StaintoolsVahadane, "staintools_vahadane"),
    (Reinhard, "reinhard"),
    (Identity, "identity"),
]:
    NORMALIZERS.register(_cls.method, _cls, gin_name=_gin_name)
register("make_normalizer", make_normalizer, module="lggseg.stain")
register("load_normalizer", load_normalizer, module="lggseg.stain")
register("choose_reference", choose_reference, module="lggseg.stain")

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
