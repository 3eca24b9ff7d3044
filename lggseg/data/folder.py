"""A folder of image + mask pairs (the layout of the IvyGAP data): ``images/``, ``masks/``.

Layout::

    DIRECTORY/
      images/NAME.{png,jpg,jpeg,tif,tiff}   H&E images (8-bit RGB; others converted with a warning)
      masks/NAME.png                        index PNG (L or P) or RGB colour-coded mask
      palette.tsv                           optional: the class scheme of the masks

Images and masks are paired by file stem. Every file is read and checked when the source
is opened; each problem (missing mask, unreadable or truncated file, size mismatch, mask
colour or index not in the scheme) is reported with the file's name, all of them at once.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

from lggseg.classes import IGNORE_INDEX, LGG_4, ClassMapping, ClassScheme, read_palette
from lggseg.data.io import IMAGE_SUFFIXES, MASK_SUFFIXES, list_images, read_image, read_mask
from lggseg.data.resolution import resample, scaled_size
from lggseg.data.source import DataSource, Sample, map_samples, parse_group
from lggseg.data.tissue import detect_tissue

__all__ = ["FolderSource"]


class FolderSource(DataSource):
    """Image + mask pairs from ``directory/images`` and ``directory/masks``.

    The masks' class scheme is, first match wins: ``palette`` if given, else ``scheme`` if
    given, else ``directory/palette.tsv`` if present, else :data:`lggseg.classes.LGG_4`.
    With ``mapping``, masks are mapped once on reading and ``self.scheme`` is the mapping's
    target (``self.mask_scheme`` keeps the scheme of the files).

    Args:
      directory: the folder holding ``images/`` and ``masks/``.
      palette: a ``palette.tsv`` declaring the masks' classes and colours.
      scheme: the masks' class scheme, when no palette file is given.
      mapping: maps the masks' classes to the task's, e.g. ``ivygap_to_lgg()``.
      pattern: shell-style glob on image stems, e.g. ``'W30-*'``.
      group_pattern: regular expression whose first group, searched in the name, gives the
        patient/slide group that a train/validation split keeps together, e.g.
        ``r'^(W\\d+-\\d+-\\d+-[A-Z])'``; ``None``: every image is its own group.
      include: only these image stems (a fixed split's side), after ``pattern``.
      exclude: image stems to leave out (the other side of a fixed split).
      scale: resample images (area interpolation) and masks (nearest) by this factor on
        reading, e.g. ``0.5`` to train at half resolution. A run records it
        (``resolution.json``), and ``lggseg predict`` / ``evaluate`` read images at it.
      mpp: microns per pixel of the image files as stored, when known (e.g. 0.5 for a 20x
        scan); the samples' resolution is ``mpp / scale``, recorded with the run.
      ignore_background_tissue: mark the pixels labelled Background (the class coded
        ``BG``/``Background``) that :func:`lggseg.data.detect_tissue` calls tissue as
        unlabelled (:data:`~lggseg.classes.IGNORE_INDEX`), after ``scale`` and ``mapping``.
        IvyGAP annotates only some regions and leaves the rest of the tissue white, so
        Background there is "not annotated" rather than "no tissue": training on it as
        Background teaches the model to call tumour background, and scoring it so
        corrupts the metrics. Off by default, for data whose Background is annotated.

    Attributes:
      files: ``(image_path, mask_path)`` per sample, in sample order.

    Raises:
      FileNotFoundError: when ``directory``, ``images/`` or ``masks/`` is missing, or (one
        problem only) an image has no mask.
      ValueError: naming each bad file, when files are unreadable, truncated, of different
        sizes or hold classes outside the scheme; when nothing matches ``pattern``; when
        ``mapping`` does not start from the masks' scheme; when
        ``ignore_background_tissue`` is on and the scheme has no Background class.
    """

    def __init__(
        self,
        *,
        directory: str | Path,
        palette: str | Path | None = None,
        scheme: ClassScheme | None = None,
        mapping: ClassMapping | None = None,
        pattern: str = "*",
        group_pattern: str | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
        scale: float = 1.0,
        mpp: float | None = None,
        ignore_background_tissue: bool = False,
    ):
        self.directory = Path(directory)
        if not 0 < scale <= 4:
            raise ValueError(f"folder_source.scale must lie in (0, 4], got {scale!r}.")
        if mpp is not None and not 0 < mpp < 100:
            raise ValueError(
                f"{self.directory}: folder_source.mpp (microns per pixel of the image files) must lie in (0, 100), "
                f"got {mpp!r}; e.g. 0.5 for a 20x scan, or None when unknown."
            )
        self.scale = float(scale)
        self.mpp = None if mpp is None else float(mpp) / self.scale
        self.mask_scheme, origin = _resolve_scheme(self.directory, palette, scheme)
        if mapping is not None and mapping.source != self.mask_scheme:
            raise ValueError(
                f"{self.directory}: the mapping goes from classes {', '.join(mapping.source.codes)}, "
                f"but the masks use {', '.join(self.mask_scheme.codes)} ({origin}); "
                f"choose a mapping from the masks' scheme."
            )
        groups = None if group_pattern is None else _compile(group_pattern)
        image_dir, mask_dir = self.directory / "images", self.directory / "masks"
        for sub in (image_dir, mask_dir):
            if not sub.is_dir():
                raise FileNotFoundError(
                    f"{sub} is missing; a folder source needs {self.directory}/images/ (H&E images) "
                    f"and {self.directory}/masks/ (PNG masks of the same stems)."
                )
        images = list_images(image_dir, pattern=pattern)
        if not images:
            _raise_nothing_found(image_dir, pattern)
        matched = {p.stem for p in images}
        images = _select(images, include=include, exclude=exclude, where=image_dir, pattern=pattern)

        samples: list[Sample] = []
        files: list[tuple[Path, Path]] = []
        problems: list[Exception] = []
        for image_path in images:
            try:
                sample, mask_path = self._read_pair(image_path, mask_dir, groups)
            except (ValueError, FileNotFoundError) as err:
                problems.append(err)
                continue
            samples.append(sample)
            files.append((image_path, mask_path))
        _warn_orphan_masks(mask_dir, matched, pattern)
        if len(problems) == 1:
            raise problems[0]
        if problems:
            listed = "\n".join(f"  - {p}" for p in problems)
            raise ValueError(
                f"{self.directory}: {len(problems)} of {len(images)} images have problems:\n{listed}"
            ) from problems[0]

        self.files = files
        if mapping is not None:
            samples = map_samples(samples, mapping)
        scheme = mapping.target if mapping is not None else self.mask_scheme
        self.ignore_background_tissue = bool(ignore_background_tissue)
        if self.ignore_background_tissue:
            samples = _ignore_background_tissue(samples, scheme=scheme, where=self.directory)
        super().__init__(samples=samples, scheme=scheme)

    def _read_pair(self, image_path: Path, mask_dir: Path, groups: re.Pattern[str] | None) -> tuple[Sample, Path]:
        mask_path = mask_dir / f"{image_path.stem}.png"
        if not mask_path.is_file():
            mask_path = _find_mask(mask_dir, image_path)
        image = read_image(image_path)
        mask = read_mask(mask_path, scheme=self.mask_scheme)
        if mask.shape != image.shape[:2]:
            raise ValueError(
                f"{mask_path}: mask is {mask.shape[1]}x{mask.shape[0]} (WxH) but its image "
                f"{image_path} is {image.shape[1]}x{image.shape[0]}; a mask must cover its image pixel for pixel."
            )
        if self.scale != 1.0:
            size = scaled_size(image.shape, self.scale)
            image, mask = resample(image, size=size), resample(mask, size=size, labels=True)
        name = image_path.stem
        return Sample(image=image, mask=mask, name=name, group=parse_group(name, groups)), mask_path


def _ignore_background_tissue(samples: list[Sample], *, scheme: ClassScheme, where: Path) -> list[Sample]:
    """Background pixels on detected tissue -> IGNORE_INDEX (see ``ignore_background_tissue``)."""
    bg = scheme.background_index
    if bg is None:
        raise ValueError(
            f"{where}: folder_source.ignore_background_tissue needs a Background class (code BG or "
            f"Background), but the masks' classes are {', '.join(scheme.codes)}; turn the option off "
            f"or declare the Background class in the palette."
        )
    out = []
    for s in samples:
        mask = s.mask.copy()  # never write into a mask another source may share
        mask[(mask == bg) & detect_tissue(s.image)] = IGNORE_INDEX
        out.append(dataclasses.replace(s, mask=mask))
    return out


def _select(images: list[Path], *, include, exclude, where: Path, pattern: str) -> list[Path]:
    """Apply a fixed split's include / exclude lists of stems, naming unknown stems."""
    if isinstance(include, str) or isinstance(exclude, str):
        raise ValueError("folder_source.include / exclude take lists of image stems, not a single string.")
    stems = {p.stem: p for p in images}
    unknown = [n for n in [*(include or []), *exclude] if n not in stems]
    if unknown:
        raise ValueError(
            f"{where}: no image named {', '.join(unknown)} matches pattern {pattern!r}; "
            f"known stems: {', '.join(sorted(stems)[:20])}{' ...' if len(stems) > 20 else ''}."
        )
    chosen = [p for p in images if (include is None or p.stem in include) and p.stem not in set(exclude)]
    if not chosen:
        raise ValueError(f"{where}: include/exclude leave no image; check the lists.")
    return chosen


def _resolve_scheme(
    directory: Path, palette: str | Path | None, scheme: ClassScheme | None
) -> tuple[ClassScheme, str]:
    """The masks' scheme and where it came from (for error messages)."""
    if palette is not None and scheme is not None:
        raise ValueError("Pass either palette (a palette.tsv) or scheme, not both.")
    if palette is not None:
        return read_palette(palette), f"from {palette}"
    if scheme is not None:
        return scheme, "the scheme argument"
    if (directory / "palette.tsv").is_file():
        return read_palette(directory / "palette.tsv"), f"from {directory / 'palette.tsv'}"
    # Index masks carry no class names: say which scheme they are read in (8-class IvyGAP
    # masks read as LGG classes would be scored silently wrong).
    warnings.warn(
        f"{directory}: no palette.tsv, so mask indices are read as the 4 LGG classes "
        f"({', '.join(f'{i}={c}' for i, c in enumerate(LGG_4.codes))}); add a palette.tsv (lggseg data "
        f"synth writes one) or pass palette= / scheme= if the masks use other classes.",
        UserWarning, stacklevel=3,
    )
    return LGG_4, "the default LGG_4, as the folder has no palette.tsv"


def _compile(group_pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(group_pattern)
    except re.error as err:
        raise ValueError(f"group_pattern {group_pattern!r} is not a valid regular expression: {err}.") from err


def _find_mask(mask_dir: Path, image_path: Path) -> Path:
    """The mask of ``image_path`` under a differently cased ``.PNG`` suffix, else an error."""
    same_stem = sorted(p for p in mask_dir.glob(f"{_glob_escape(image_path.stem)}.*") if p.is_file())
    for p in same_stem:
        if p.suffix.lower() in MASK_SUFFIXES:
            return p
    hint = (
        f"; found {', '.join(p.name for p in same_stem)}, but masks must be PNG (lossless)"
        if same_stem
        else ""
    )
    raise FileNotFoundError(
        f"{image_path}: no mask {mask_dir / (image_path.stem + '.png')}{hint}. Every image needs a "
        f"mask of the same stem; add it, or remove the image (or narrow `pattern`)."
    )


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _raise_nothing_found(image_dir: Path, pattern: str) -> None:
    everything = list_images(image_dir)
    if not everything:
        raise ValueError(
            f"{image_dir} holds no images (looked for {', '.join(IMAGE_SUFFIXES)}); put the H&E "
            f"images there, with masks of the same stems in {image_dir.parent / 'masks'}."
        )
    examples = ", ".join(p.stem for p in everything[:5])
    raise ValueError(
        f"{image_dir}: no image stem matches pattern {pattern!r} ({len(everything)} images, e.g. "
        f"{examples}); the pattern is a shell-style glob on the stem, such as 'W30-*'."
    )


def _warn_orphan_masks(mask_dir: Path, stems: set[str], pattern: str) -> None:
    import fnmatch

    orphans = sorted(
        p.name
        for p in mask_dir.iterdir()
        if p.suffix.lower() in MASK_SUFFIXES and p.stem not in stems and fnmatch.fnmatchcase(p.stem, pattern)
    )
    if orphans:
        more = f" (and {len(orphans) - 10} more)" if len(orphans) > 10 else ""
        warnings.warn(
            f"{mask_dir}: {len(orphans)} masks have no image of the same stem and are ignored: "
            f"{', '.join(orphans[:10])}{more}.",
            UserWarning,
            stacklevel=3,
        )
