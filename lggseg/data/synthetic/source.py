"""The synthetic data source: :func:`generate` one tile, :class:`SyntheticSource` a series,
:func:`write_dataset` a folder the folder source reads back."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np

from lggseg.classes import write_palette
from lggseg.data.source import DataSource, Sample
from lggseg.data.synthetic import kinds
from lggseg.data.synthetic.layout import layout as make_layout
from lggseg.data.synthetic.painting import render
from lggseg.data.synthetic.shares import check_shares, scheme_of, share_point, tile_shares
from lggseg.data.synthetic.stain import StainPreset, resolve_stain


def generate(
    *,
    num_classes: int = 4,
    size: int = 256,
    seed: int = 0,
    index: int = 0,
    stain: str | StainPreset | np.ndarray = "lgg",
    class_shares: Mapping[str, float] | None = None,
) -> Sample:
    """One synthetic H&E tile with its exact mask.

    Args:
      num_classes: 4 (LGG_4: BG, CT, LE, IT) or 8 (IVYGAP_8, adds necrosis,
        pseudopalisades, microvascular proliferation and the perinecrotic zone).
      size: side of the square tile in pixels (>= 32). Nuclei keep their size in pixels
        (IvyGAP-like magnification); regions scale with the tile.
      seed: seed of the series; with ``index`` it fixes the tile.
      index: position of the tile in the series; tile ``i`` does not depend on how many
        tiles are generated.
      stain: a preset name (``'lgg'``, ``'gbm'``), a :class:`StainPreset`, or a ``(2, 3)``
        OD matrix (rows hematoxylin, eosin). The stain changes colours only: the layout
        and the mask are the same for every stain.
      class_shares: mean pixel share per class code over many tiles (sum 1); default
        :data:`DEFAULT_SHARES`. Single tiles vary around it.

    Returns:
      A :class:`Sample` named ``synth-NNNN`` (the index), group = name.
    """
    scheme = scheme_of(num_classes)
    if not isinstance(size, (int, np.integer)) or size < 32:
        raise ValueError(f"size must be an integer >= 32 pixels, got {size!r}.")
    if not isinstance(seed, (int, np.integer)) or seed < 0 or index < 0:
        raise ValueError(f"seed and index must be integers >= 0, got seed={seed!r}, index={index!r}.")
    targets = check_shares(num_classes, class_shares)
    preset = resolve_stain(stain)
    shares = tile_shares(targets, share_point(int(seed), int(index)))
    # Layout and rendering draw from separate streams so the stain never moves the mask.
    layout = make_layout(np.random.default_rng([int(seed), int(index), 1]), int(size), shares, num_classes == 8)
    image = render(np.random.default_rng([int(seed), int(index), 2]), layout, preset)
    # The CT sub-region kinds only occur with 8 classes; in LGG_4 they would be CT.
    lut = np.asarray(
        [scheme.index(code if code in scheme.codes else "CT") for code in kinds.KIND_CODE], dtype=np.uint8
    )
    name = f"synth-{int(index):04d}"
    return Sample(image=image, mask=lut[layout.kind], name=name, group=name)


class SyntheticSource(DataSource):
    """The embedded default data: ``count`` synthetic H&E tiles, generated in memory.

    Args:
      count: number of tiles.
      size: tile side in pixels.
      num_classes: 4 (scheme LGG_4) or 8 (scheme IVYGAP_8).
      seed: seed of the series; tile ``i`` depends on ``(seed, i)`` only.
      stain: ``'lgg'``, ``'gbm'``, a :class:`StainPreset` or a ``(2, 3)`` OD matrix.
      class_shares: mean pixel share per class code (default :data:`DEFAULT_SHARES`).
    """

    def __init__(
        self,
        *,
        count: int = 32,
        size: int = 256,
        num_classes: int = 4,
        seed: int = 0,
        stain: str | StainPreset | np.ndarray = "lgg",
        class_shares: Mapping[str, float] | None = None,
    ):
        if not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f"count must be an integer >= 1, got {count!r}.")
        self.size = size
        self.num_classes = num_classes
        self.seed = seed
        self.stain = resolve_stain(stain)
        samples = [
            generate(
                num_classes=num_classes,
                size=size,
                seed=seed,
                index=i,
                stain=self.stain,
                class_shares=class_shares,
            )
            for i in range(count)
        ]
        super().__init__(samples=samples, scheme=scheme_of(num_classes))


def write_dataset(out: str | Path, *, source: DataSource) -> Path:
    """Write a source as a folder: ``images/NAME.png``, ``masks/NAME.png``, ``palette.tsv``.

    Masks are single-channel index PNGs (mode ``L``); ``palette.tsv`` declares the
    source's class scheme, so the folder reads back with the folder data source.

    Args:
      out: the folder to write (created); it must be new or empty, so that old and new
        tiles never mix in one data set.
      source: any data source, e.g. a :class:`SyntheticSource`.

    Returns:
      ``out`` as a :class:`~pathlib.Path`.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder; choose a folder for the data set.")
    if out.is_dir() and any(out.iterdir()):
        raise ValueError(
            f"{out} is not empty ({', '.join(sorted(p.name for p in out.iterdir())[:5])}); writing into it "
            f"would mix old and new tiles. Choose a new folder, or delete this one first."
        )
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    for sample in source:
        if not cv2.imwrite(str(out / "images" / f"{sample.name}.png"), sample.image[..., ::-1]):
            raise ValueError(f"Could not write {out / 'images' / (sample.name + '.png')}.")
        if not cv2.imwrite(str(out / "masks" / f"{sample.name}.png"), sample.mask):
            raise ValueError(f"Could not write {out / 'masks' / (sample.name + '.png')}.")
    write_palette(source.scheme, out / "palette.tsv")
    return out
