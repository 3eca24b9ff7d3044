"""Synthetic H&E tiles with exact masks: lggseg's embedded default data.

Images are composed the way a bright-field microscope forms them: per-pixel stain
concentrations (hematoxylin for nuclei, eosin for cytoplasm and neuropil) are mixed in
optical-density space and turned into RGB by the Beer-Lambert law,
``I = 255 * exp(-(C @ S))``, with a 2 x 3 stain matrix ``S`` whose rows are the unit
OD vectors of hematoxylin and eosin (Ruifrok & Johnston, "Quantification of
histochemical staining by color deconvolution", Anal Quant Cytol Histol 23:291, 2001).
Two stain presets, an "LGG lab" (pinker, stronger eosin) and a "GBM lab" (purple-blue,
stronger hematoxylin), give stain normalisation a real difference to undo.

Each tile's layout comes first: smooth random fields (blurred noise plus a ramp) cut by
quantiles into a tissue/background boundary, a cellular-tumour (CT) core, an
infiltrating (IT) band around it and a leading edge (LE) beyond; with 8 classes also
necrosis inside the core, pseudopalisades and a perinecrotic band around it, and
microvascular proliferation. Then every region is drawn by its own generator: nuclei as
anti-aliased hematoxylin ellipses whose density, size, elongation, orientation and
darkness depend on the region, eosin texture (fibrillary neuropil, granular tumour,
pale mottled necrosis), red blood cells and nuclear debris. The class of a pixel is the
region whose generator drew it. The regions differ statistically (nuclear density and
shape, texture), with overlapping ranges: IT density ramps from LE-like to CT-like across
the band, and density varies within a region and between tiles.

Tile ``i`` depends on ``(seed, i)`` only, so a subset or a longer run never shifts it.
The per-tile class shares follow a low-discrepancy (Sobol) sequence around the
target shares, so that the mean over a few dozen tiles stays close to the target while
single tiles vary widely (some without LE or IT).

The generator is split by concept: :mod:`.stain` (the stain presets), :mod:`.shares` (the
per-tile class shares), :mod:`.kinds` (what draws each region), :mod:`.fields` (smooth random
fields), :mod:`.layout` (the regions of a tile), :mod:`.painting` (nuclei, texture, the
Beer-Lambert image) and :mod:`.source` (``generate``, ``SyntheticSource``, ``write_dataset``).
"""

from lggseg.data.synthetic.shares import DEFAULT_SHARES
from lggseg.data.synthetic.source import SyntheticSource, generate, write_dataset
from lggseg.data.synthetic.stain import GBM_LAB, LGG_LAB, STAIN_PRESETS, StainPreset, stain_preset

__all__ = [
    "StainPreset",
    "LGG_LAB",
    "GBM_LAB",
    "STAIN_PRESETS",
    "DEFAULT_SHARES",
    "stain_preset",
    "generate",
    "SyntheticSource",
    "write_dataset",
]
