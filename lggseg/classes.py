"""Class schemes (names, colours, index order) and mappings between them.

Two schemes ship with lggseg:

* ``IVYGAP_8``: the eight IvyGAP regions in the order of GBM_WSSM's softmax output
  (LE, IT, CT, CTpnz, CTpan, CTmvp, CTne, BG), with the atlas' exact mask colours.
* ``LGG_4``: the lower-grade glioma task, Background=0, CT=1, LE=2, IT=3.

Other schemes are declared in a ``palette.tsv`` file (columns ``index code red green
blue name``, tab separated, one row per class) and read with :func:`read_palette`.

Index masks may hold :data:`IGNORE_INDEX` (255) besides the class indices: an
"unlabelled" pixel that losses, metrics and class counts leave out.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from lggseg.atomic_write import atomic_write

__all__ = [
    "IGNORE_INDEX",
    "ClassScheme",
    "ClassMapping",
    "apply_lookup",
    "check_index_mask",
    "IVYGAP_8",
    "LGG_4",
    "ivygap_to_lgg",
    "read_palette",
    "write_palette",
    "scheme_by_name",
]

_PALETTE_HEADER = ("index", "code", "red", "green", "blue", "name")

# The mask value of an unlabelled pixel ("not annotated"; e.g. tissue that IvyGAP leaves
# white). 255 is the largest uint8, so it never collides with a class index of a scheme
# (which, for that reason, may have at most 255 classes, 0..254) and it survives every
# uint8 mask operation (nearest resizing, rotation, tiling). The value is PyTorch's and
# mmsegmentation's convention for ignored labels.
IGNORE_INDEX = 255


@dataclasses.dataclass(frozen=True)
class ClassScheme:
    """An ordered set of classes: the index of a class is its position.

    Attributes:
      codes: short class codes in index order, e.g. ``("BG", "CT", "LE", "IT")``.
      colours: one RGB triple per class, used for colour-coded masks and overlays.
      names: human-readable names in index order.
    """

    codes: tuple[str, ...]
    colours: tuple[tuple[int, int, int], ...]
    names: tuple[str, ...]

    def __post_init__(self):
        n = len(self.codes)
        if n == 0 or len(self.colours) != n or len(self.names) != n:
            raise ValueError(
                f"A class scheme needs one code, colour and name per class; got "
                f"{len(self.codes)} codes, {len(self.colours)} colours, {len(self.names)} names."
            )
        if len(set(self.codes)) != n:
            raise ValueError(f"Class codes must be unique, got {self.codes}.")
        if len(set(self.colours)) != n:
            raise ValueError(f"Class colours must be unique, got {self.colours}.")
        if n > IGNORE_INDEX:
            raise ValueError(
                f"A class scheme has at most {IGNORE_INDEX} classes (indices 0..{IGNORE_INDEX - 1}; "
                f"{IGNORE_INDEX} marks unlabelled pixels), got {n}."
            )

    @property
    def num_classes(self) -> int:
        return len(self.codes)

    @property
    def background_index(self) -> int | None:
        """Index of the Background class (code or name ``BG``/``Background``, any case), or None."""
        for i, (code, name) in enumerate(zip(self.codes, self.names)):
            if code.strip().lower() in ("bg", "background") or name.strip().lower() == "background":
                return i
        return None

    def index(self, code: str) -> int:
        """Index of a class code (case-insensitive)."""
        lowered = [c.lower() for c in self.codes]
        if code.lower() not in lowered:
            raise ValueError(f"Unknown class {code!r}; valid classes: {', '.join(self.codes)}.")
        return lowered.index(code.lower())

    def palette_array(self) -> np.ndarray:
        """Colours as a ``(num_classes, 3)`` uint8 array."""
        return np.asarray(self.colours, dtype=np.uint8)

    def encode_rgb(self, mask: np.ndarray) -> np.ndarray:
        """Index mask ``(H, W)`` -> colour-coded RGB mask ``(H, W, 3)`` uint8."""
        mask = np.asarray(mask)
        if mask.size and int(mask.max()) >= self.num_classes:
            # Unlabelled pixels (IGNORE_INDEX) have no class colour; overlays draw them apart.
            raise ValueError(
                f"Mask holds class index {int(mask.max())}, but the scheme has only "
                f"{self.num_classes} classes ({', '.join(self.codes)}); "
                f"{IGNORE_INDEX} (unlabelled) has no colour in a colour-coded mask."
            )
        return self.palette_array()[mask]

    def decode_rgb(self, mask_rgb: np.ndarray, *, source: str = "<array>") -> np.ndarray:
        """Colour-coded RGB mask ``(H, W, 3)`` -> index mask ``(H, W)`` uint8.

        Raises:
          ValueError: naming ``source``, when a colour is not in the palette; the message
            lists the unknown colours with their pixel counts and the palette's colours.
        """
        rgb = np.asarray(mask_rgb)
        if rgb.ndim != 3 or rgb.shape[-1] != 3:
            raise ValueError(f"{source}: expected an RGB mask of shape (H, W, 3), got {rgb.shape}.")
        # One integer per colour makes the lookup a single vectorised search.
        keys = _rgb_keys(rgb.reshape(-1, 3))
        palette_keys = _rgb_keys(self.palette_array())
        order = np.argsort(palette_keys)
        pos = np.searchsorted(palette_keys[order], keys)
        pos = np.clip(pos, 0, len(order) - 1)
        found = palette_keys[order][pos] == keys
        if not found.all():
            bad_keys, counts = np.unique(keys[~found], return_counts=True)
            top = np.argsort(-counts)[:10]
            listed = ", ".join(
                f"{tuple(int(v) for v in _key_rgb(bad_keys[i]))}: {int(counts[i])} px" for i in top
            )
            more = f" (and {len(bad_keys) - 10} more)" if len(bad_keys) > 10 else ""
            valid = ", ".join(f"{c}={col}" for c, col in zip(self.codes, self.colours))
            raise ValueError(
                f"{source}: {int((~found).sum())} pixels have colours that are not in the palette: "
                f"{listed}{more}. Palette colours: {valid}. Fix the mask, or pass a palette.tsv "
                f"that declares these colours."
            )
        return order[pos].astype(np.uint8).reshape(rgb.shape[:2])


def _rgb_keys(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int64)
    return (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]


def _key_rgb(key: int) -> tuple[int, int, int]:
    key = int(key)
    return (key >> 16) & 255, (key >> 8) & 255, key & 255


IVYGAP_8 = ClassScheme(
    codes=("LE", "IT", "CT", "CTpnz", "CTpan", "CTmvp", "CTne", "BG"),
    colours=(
        (33, 143, 166),
        (210, 5, 208),
        (5, 208, 4),
        (37, 209, 247),
        (6, 208, 170),
        (255, 102, 0),
        (5, 5, 5),
        (255, 255, 255),
    ),
    names=(
        "Leading Edge",
        "Infiltrating Tumor",
        "Cellular Tumor",
        "Perinecrotic Zone",
        "Pseudopalisading Cells Around Necrosis",
        "Microvascular Proliferation",
        "Necrosis",
        "Background",
    ),
)

# The LGG task keeps the IvyGAP colours of the classes it shares with the atlas.
LGG_4 = ClassScheme(
    codes=("BG", "CT", "LE", "IT"),
    colours=((255, 255, 255), (5, 208, 4), (33, 143, 166), (210, 5, 208)),
    names=("Background", "Cellular Tumor", "Leading Edge", "Infiltrating Tumor"),
)

_SCHEMES = {"ivygap8": IVYGAP_8, "lgg4": LGG_4}


def scheme_by_name(name: str) -> ClassScheme:
    """``'ivygap8'`` or ``'lgg4'`` -> the built-in scheme."""
    if name not in _SCHEMES:
        raise ValueError(f"Unknown class scheme {name!r}; valid: {', '.join(_SCHEMES)}.")
    return _SCHEMES[name]


def scheme_for_num_classes(num_classes: int) -> ClassScheme:
    """The built-in scheme with this many classes: 4 -> :data:`LGG_4`, 8 -> :data:`IVYGAP_8`.

    The fallback wherever a class count is all there is (a model without its classes.tsv,
    ``num_classes`` of the synthetic generator).

    Raises:
      ValueError: for any other count, listing the built-in ones.
    """
    for scheme in _SCHEMES.values():
        if scheme.num_classes == num_classes:
            return scheme
    builtin = ", ".join(f"{s.num_classes} ({', '.join(s.codes)})" for s in _SCHEMES.values())
    raise ValueError(f"No built-in class scheme has {num_classes} classes; built-in: {builtin}.")


@dataclasses.dataclass(frozen=True)
class ClassMapping:
    """Maps the classes of one scheme onto another, e.g. IvyGAP 8 -> LGG 4.

    Attributes:
      source: the scheme of the masks that come in.
      target: the scheme they are mapped to.
      table: for every source class code, the target class code it becomes.
    """

    source: ClassScheme
    target: ClassScheme
    table: tuple[tuple[str, str], ...]

    def __post_init__(self):
        given = {s for s, _ in self.table}
        missing = [c for c in self.source.codes if c not in given]
        if missing:
            raise ValueError(
                f"The class mapping leaves source classes {missing} unmapped; map every one of "
                f"{', '.join(self.source.codes)} to one of {', '.join(self.target.codes)}."
            )
        for s, t in self.table:
            self.source.index(s)
            self.target.index(t)

    def lookup(self) -> np.ndarray:
        """``(source.num_classes,)`` uint8 array: source index -> target index.

        Apply it with :func:`apply_lookup` (or call the mapping), which keeps
        :data:`IGNORE_INDEX` pixels unlabelled.
        """
        lut = np.zeros(self.source.num_classes, dtype=np.uint8)
        for s, t in self.table:
            lut[self.source.index(s)] = self.target.index(t)
        return lut

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        """Map an index mask; :data:`IGNORE_INDEX` pixels stay :data:`IGNORE_INDEX`."""
        return apply_lookup(self.lookup(), mask)


def apply_lookup(lut: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``lut[mask]`` for an index mask that may hold :data:`IGNORE_INDEX`, which maps to itself.

    Raises:
      ValueError: when the mask holds a value that is neither a class index of the table
        (``0..len(lut) - 1``) nor :data:`IGNORE_INDEX`.
    """
    mask = np.asarray(mask)
    check_index_mask(mask, num_classes=len(lut), what="The mask to map")
    # A 256-entry table (uint8 masks) maps 255 -> 255 in the same single gather.
    full = np.full(IGNORE_INDEX + 1, IGNORE_INDEX, dtype=np.uint8)
    full[: len(lut)] = lut
    return full[mask]


def check_index_mask(mask: np.ndarray, *, num_classes: int, what: str) -> None:
    """Raise unless every value of ``mask`` is a class index ``0..num_classes - 1`` or :data:`IGNORE_INDEX`.

    Raises:
      ValueError: naming ``what``, the values found outside the classes and the valid ones.
    """
    mask = np.asarray(mask)
    if not mask.size or (int(mask.min()) >= 0 and int(mask.max()) < num_classes):
        return
    values = np.unique(mask)
    bad = [int(v) for v in values if not (0 <= v < num_classes or v == IGNORE_INDEX)]
    if not bad:
        return
    raise ValueError(
        f"{what} holds values {bad[:10]} that are neither class indices 0..{num_classes - 1} nor "
        f"{IGNORE_INDEX} (unlabelled)."
    )


def ivygap_to_lgg(
    *,
    table: dict[str, str] | None = None,
) -> ClassMapping:
    """The IvyGAP 8 -> LGG 4 mapping: every CT sub-region becomes CT.

    Args:
      table: overrides for single classes, e.g. ``{"CTne": "BG"}`` to treat necrosis as
        background instead of tumour.
    """
    default = {
        "LE": "LE",
        "IT": "IT",
        "CT": "CT",
        "CTpnz": "CT",
        "CTpan": "CT",
        "CTmvp": "CT",
        "CTne": "CT",
        "BG": "BG",
    }
    for code, target in (table or {}).items():
        if code not in default:
            raise ValueError(f"Unknown IvyGAP class {code!r}; valid: {', '.join(default)}.")
        default[code] = target
    return ClassMapping(source=IVYGAP_8, target=LGG_4, table=tuple(default.items()))


def read_palette(path: str | Path) -> ClassScheme:
    """Read a ``palette.tsv`` (``index code red green blue name``) into a scheme."""
    path = Path(path)
    try:
        lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    except OSError as err:
        raise FileNotFoundError(f"Cannot read palette file {path}: {err}") from err
    if not lines or tuple(lines[0].split("\t")) != _PALETTE_HEADER:
        raise ValueError(
            f"{path}: the first line must be the tab-separated header "
            f"{' '.join(_PALETTE_HEADER)!r}, got {lines[0] if lines else '<empty file>'!r}."
        )
    rows = []
    for lineno, line in enumerate(lines[1:], start=2):
        cols = line.split("\t")
        if len(cols) != 6:
            raise ValueError(f"{path}:{lineno}: expected 6 tab-separated columns, got {len(cols)}: {line!r}.")
        try:
            index, r, g, b = int(cols[0]), int(cols[2]), int(cols[3]), int(cols[4])
        except ValueError as err:
            raise ValueError(f"{path}:{lineno}: index and colour must be integers: {line!r}.") from err
        if not all(0 <= v <= 255 for v in (r, g, b)):
            raise ValueError(f"{path}:{lineno}: colour values must lie in 0..255: {line!r}.")
        rows.append((index, cols[1], (r, g, b), cols[5]))
    rows.sort()
    if [r[0] for r in rows] != list(range(len(rows))):
        raise ValueError(f"{path}: class indices must be 0..{len(rows) - 1} without gaps, got {[r[0] for r in rows]}.")
    return ClassScheme(
        codes=tuple(r[1] for r in rows),
        colours=tuple(r[2] for r in rows),
        names=tuple(r[3] for r in rows),
    )


def write_palette(scheme: ClassScheme, path: str | Path) -> Path:
    """Write ``scheme`` as a ``palette.tsv`` that :func:`read_palette` reads back."""
    path = Path(path)
    lines = ["\t".join(_PALETTE_HEADER)]
    for i, (code, (r, g, b), name) in enumerate(zip(scheme.codes, scheme.colours, scheme.names)):
        lines.append(f"{i}\t{code}\t{r}\t{g}\t{b}\t{name}")
    with atomic_write(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path
