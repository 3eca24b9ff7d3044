"""Whole-slide images: reading, bounded-memory prediction, and training data from annotations.

* :class:`SlideReader`, :func:`open_slide`  SVS / pyramidal TIFF through tiffslide (pure Python)
* :func:`predict_slide`                     tissue tiles -> model -> pyramidal class-map TIFF,
  colour preview, per-class areas and QuPath GeoJSON, in memory bounded by the band
* :class:`SlideRegionSource`                annotated regions (QuPath GeoJSON or label images)
  as a data source for the usual samplers
* :func:`write_synthetic_slide`             generated pyramidal TIFFs for tests and benchmarks

Importing this package imports neither keras nor tiffslide.
"""

from lggseg.slides.annotations import read_annotations, rasterize_annotations
from lggseg.slides.band_blender import BandBlender
from lggseg.slides.geojson_export import class_map_features, write_class_map_geojson, write_geojson
from lggseg.slides.predict import SlideResult, estimate_slide_stain, predict_slide, slide_tiles
from lggseg.slides.pyramid_writer import write_label_pyramid
from lggseg.slides.reader import SLIDE_SUFFIXES, SlideReader, is_slide, open_slide
from lggseg.slides.region_source import SlideRegionSource
from lggseg.slides.synthetic_slide import write_synthetic_slide
from lggseg.registry import register

__all__ = [
    "BandBlender",
    "SLIDE_SUFFIXES",
    "SlideReader",
    "SlideRegionSource",
    "SlideResult",
    "class_map_features",
    "estimate_slide_stain",
    "is_slide",
    "open_slide",
    "predict_slide",
    "rasterize_annotations",
    "read_annotations",
    "slide_tiles",
    "write_class_map_geojson",
    "write_geojson",
    "write_label_pyramid",
    "write_synthetic_slide",
]

# Registration with gin happens here, in one place for the subpackage.
register("slide_region_source", SlideRegionSource, module="lggseg.slides")
register("predict_slide", predict_slide, module="lggseg.slides")
