"""Draw docs/images/synthetic.png: synthetic H&E tiles above their colour-coded masks.

Four 256 x 256 tiles of the default (4 classes, LGG lab stain) and two of the 8-class
variant (GBM lab stain), each above its mask, with a legend per scheme. Reproducible:
the tiles are fixed by seed and index.

    python benchmarks/make_synthetic_figure.py [--out docs/images/synthetic.png]
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from PIL import Image  # noqa: E402

from lggseg.data.synthetic import generate  # noqa: E402

# Tiles chosen to show the variety: tissue edges, all four classes, necrosis and vessels.
FOUR_CLASS = (0, 4, 10, 12)
EIGHT_CLASS = (5, 6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/synthetic.png"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    tiles = [(generate(num_classes=4, seed=args.seed, index=i, stain="lgg"), 4) for i in FOUR_CLASS]
    tiles += [(generate(num_classes=8, seed=args.seed, index=i, stain="gbm"), 8) for i in EIGHT_CLASS]

    from lggseg.classes import IVYGAP_8, LGG_4

    fig = Figure(figsize=(2.0 * len(tiles), 4.75), dpi=100)
    axes = fig.subplots(2, len(tiles))
    for col, (sample, k) in enumerate(tiles):
        scheme = LGG_4 if k == 4 else IVYGAP_8
        axes[0, col].imshow(sample.image, interpolation="nearest")
        axes[1, col].imshow(scheme.encode_rgb(sample.mask), interpolation="nearest")
        stain = "LGG lab" if k == 4 else "GBM lab"
        axes[0, col].set_title(f"{sample.name}\n{k} classes, {stain}", fontsize=8)
        for ax in axes[:, col]:
            ax.set_xticks([])
            ax.set_yticks([])
    for scheme, anchor in ((LGG_4, (0.33, 0.0)), (IVYGAP_8, (0.83, 0.0))):
        handles = [
            Patch(facecolor=[c / 255 for c in col], edgecolor="0.5", label=code)
            for code, col in zip(scheme.codes, scheme.colours)
        ]
        fig.legend(
            handles=handles,
            loc="lower center",
            bbox_to_anchor=anchor,
            ncol=4,
            fontsize=7,
            frameon=False,
        )
    fig.subplots_adjust(left=0.01, right=0.99, top=0.9, bottom=0.12, wspace=0.04, hspace=0.04)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # A 256-colour palette keeps the PNG small enough for the README (< 300 KB).
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    buffer.seek(0)
    small = Image.open(buffer).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
