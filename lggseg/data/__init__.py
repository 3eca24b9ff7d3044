"""Data sources (uint8 RGB images + uint8 index masks), tissue detection and splits.

* :class:`FolderSource`  a folder of ``images/`` + ``masks/`` (+ ``palette.tsv``)
* :class:`CropSource`    cropped region images whose name carries the class, tissue-aware masks
* :func:`detect_tissue`  the HSV tissue rule behind those masks (or Otsu's threshold)
* :func:`detect_ink`     pen and marker ink, which prediction leaves to Background
* :func:`split_by_group`, :func:`split_by_names`  train/validation splits by image or patient
* :func:`cv_fold`, :func:`assign_folds`  cross-validation folds of whole groups (the test side)
* :func:`read_image`, :func:`read_mask`  validated file reading

Nothing here imports keras: the data pipeline works in numpy.
"""

import gin

from lggseg.data.crops import CropMask, CropSource, crop_mask, parse_class_token, write_crop_masks
from lggseg.data.folder import FolderSource
from lggseg.data.folds import FoldSplit, assign_folds, cv_fold
from lggseg.data.ink import detect_ink
from lggseg.data.io import list_images, read_image, read_mask
from lggseg.data.source import DataSource, Sample, map_samples, parse_group
from lggseg.data.split import split_by_group, split_by_names
from lggseg.data.tissue import detect_tissue, tissue_fraction
from lggseg.registry import register

__all__ = [
    "CropMask",
    "CropSource",
    "DataSource",
    "FoldSplit",
    "FolderSource",
    "Sample",
    "assign_folds",
    "crop_mask",
    "cv_fold",
    "detect_ink",
    "detect_tissue",
    "list_images",
    "map_samples",
    "parse_class_token",
    "parse_group",
    "read_image",
    "read_mask",
    "split_by_group",
    "split_by_names",
    "tissue_fraction",
    "write_crop_masks",
]

# Registration with gin happens here, in one place for the subpackage.
register("folder_source", FolderSource, module="lggseg.data")
register("crop_source", CropSource, module="lggseg.data")
register("detect_tissue", detect_tissue, module="lggseg.data")
register("detect_ink", detect_ink, module="lggseg.data")
register("split_by_group", split_by_group, module="lggseg.data")
register("split_by_names", split_by_names, module="lggseg.data")
register("cv_fold", cv_fold, module="lggseg.data")

# --- synthetic generator (the lggseg.data.synthetic package) ---
from lggseg.data.synthetic import (  # noqa: E402
    GBM_LAB,
    LGG_LAB,
    StainPreset,
    SyntheticSource,
    generate,
    stain_preset,
    write_dataset,
)

__all__ += ["GBM_LAB", "LGG_LAB", "StainPreset", "SyntheticSource", "generate", "stain_preset", "write_dataset"]

register("synthetic_source", SyntheticSource, module="lggseg.data")
register("stain_preset", stain_preset, module="lggseg.data")
gin.constant("lggseg.data.LGG_LAB", LGG_LAB)
gin.constant("lggseg.data.GBM_LAB", GBM_LAB)
