"""Can colour and cell density tell IT from CT and LE in an IvyGAP block nobody trained on?

Issue 14 asks for IT in unseen tissue. IT occurs in two W30 blocks only (A and C), so under the
block-level cross-validation every model that is tested on one of them has learnt IT from the
other alone. This script asks whether the simplest description of the tissue carries IT from
one block to the other: per pixel, optical density of the Macenko-normalised image (what the
networks see, at the benchmark's quarter size) and its local means and spread over 4, 16 and 64
px (16 to 256 px of the original: from a few nuclei to a tissue region), classified by a
Gaussian (QDA) model fitted on the training blocks of each fold of benchmark_ivygap.gin
(equal priors, so a rare class is not out-voted). It prints:

* per block, each class's mean hematoxylin and eosin concentrations (the least-squares split of
  the OD onto the reference's Macenko stain vectors, smoothed over 16 px: hematoxylin is the
  nuclei, so it is the density of cells) and the share of the block's pixels the class covers;
* pooled over the 4 test folds, per-class recall, precision and F1 of the Gaussian model, and
  of the same model scored on its own training blocks (what it could do if blocks looked alike).

    python benchmarks/ivygap_separability.py            # ../shared/data/ivygap, 2-3 minutes

Results (2026-12-02): benchmarks/RESULTS.md, "Why IT is not found".
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
WINDOWS = (4, 16, 64)  # px at the benchmark's quarter size
PER_CLASS = 20_000  # training pixels per class and block for the Gaussian fit


def optical_density(image: np.ndarray) -> np.ndarray:
    return -np.log((image.astype(np.float64) + 1.0) / 256.0)


def multiscale(channels: np.ndarray) -> np.ndarray:
    """``(H, W, C)`` -> ``(H, W, C + WINDOWS * (C + 1))``: the channels, and per window their local
    means and the local std of their sum (texture: nuclei against neuropil)."""
    total = channels.sum(axis=-1)
    out = [channels]
    for w in WINDOWS:
        mean = np.stack([ndimage.uniform_filter(channels[..., c], size=w) for c in range(channels.shape[-1])], -1)
        sq = ndimage.uniform_filter(total**2, size=w)
        std = np.sqrt(np.maximum(sq - ndimage.uniform_filter(total, size=w) ** 2, 0.0))
        out += [mean, std[..., None]]
    return np.concatenate(out, axis=-1)


def feature_sets(image: np.ndarray, *, stain_matrix: np.ndarray) -> dict[str, np.ndarray]:
    """A normalised ``(H, W, 3)`` image -> ``{name: (H * W, F)}`` pixel features.

    ``colour``: the OD's three channels at every scale (H and E concentrations are linear in
    the OD, so a Gaussian model on it sees them too). ``hematoxylin``: the hematoxylin
    concentration alone (the OD's least-squares split onto the reference's Macenko stain
    vectors; hematoxylin stains nuclei, so it measures cell density), blind to eosin.
    ``he16``: hematoxylin and eosin averaged over 16 px, for the per-block table.
    """
    od = optical_density(image)
    he = np.maximum(od @ np.linalg.pinv(stain_matrix), 0.0)  # (H, W, 2)
    he16 = np.stack([ndimage.uniform_filter(he[..., j], size=16) for j in range(2)], -1)
    flat = lambda a: a.reshape(-1, a.shape[-1])  # noqa: E731
    return {"colour": flat(multiscale(od)), "hematoxylin": flat(multiscale(he[..., :1])), "he16": flat(he16)}


class Gaussians:
    """One full-covariance Gaussian per class, equal priors (quadratic discriminant analysis)."""

    def __init__(self, *, x: np.ndarray, y: np.ndarray, num_classes: int):
        self.present = [c for c in range(num_classes) if np.any(y == c)]
        self.num_classes = num_classes
        self.params = []
        for c in self.present:
            xc = x[y == c]
            cov = np.cov(xc, rowvar=False) + 1e-6 * np.eye(x.shape[1])
            sign, logdet = np.linalg.slogdet(cov)
            self.params.append((xc.mean(axis=0), np.linalg.inv(cov), logdet))

    def predict(self, x: np.ndarray) -> np.ndarray:
        scores = np.full((x.shape[0], self.num_classes), -np.inf)
        for c, (mean, inv, logdet) in zip(self.present, self.params):
            d = x - mean
            scores[:, c] = -0.5 * (np.einsum("ij,jk,ik->i", d, inv, d) + logdet)
        return scores.argmax(axis=1)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def scores(matrix: np.ndarray, codes: list[str]) -> dict[str, dict[str, float | None]]:
    out = {}
    for c, code in enumerate(codes):
        tp, support, predicted = matrix[c, c], matrix[c].sum(), matrix[:, c].sum()
        recall = tp / support if support else None
        precision = tp / predicted if predicted else None
        f1 = 2 * tp / (support + predicted) if support + predicted else None
        out[code] = {"recall": recall, "precision": precision, "f1": f1, "pixels": int(support)}
    return out


def load(*, scale: float):
    """The W30 source and Macenko normaliser exactly as gin/ivygap_transfer.gin configures them."""
    import gin

    from lggseg.config import register_all
    from lggseg.data.io import read_image
    from lggseg.stain import Macenko

    register_all()
    gin.parse_config_files_and_bindings([str(ROOT / "gin" / "ivygap_transfer.gin")], [f"SCALE = {scale}"])
    source = gin.query_parameter("train.data").scoped_configurable_fn()
    reference = gin.query_parameter("train.reference").scoped_configurable_fn()  # the %REFERENCE macro
    return source, Macenko().fit(read_image(reference))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.25, help="image scale (the benchmark's 0.25)")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    source, normalizer = load(scale=args.scale)
    codes = list(source.scheme.codes)
    k = len(codes)
    rng = np.random.default_rng(0)
    pixels: dict[str, dict[str, list[np.ndarray]]] = {}
    for i in range(len(source)):
        sample = source[i]
        sets = feature_sets(normalizer.transform(sample.image[None])[0], stain_matrix=normalizer.stain_matrix)
        mask = sample.mask.reshape(-1)
        keep = mask < k  # unlabelled (255) tissue is left out, as in the benchmark's scores
        block = pixels.setdefault(source.groups[i], {})
        for name, values in [*sets.items(), ("y", mask.astype(np.int64))]:
            block.setdefault(name, []).append(values[keep])
    blocks = {g: {name: np.concatenate(v) for name, v in d.items()} for g, d in pixels.items()}

    print("per block, by class: hematoxylin / eosin over 16 px (means), share of labelled pixels")
    print("| block | " + " | ".join(codes) + " |")
    print("|---|" + "---:|" * k)
    per_block = {}
    for g, d in sorted(blocks.items()):
        cells = []
        for c in range(k):
            share = float(np.mean(d["y"] == c))
            h, e = d["he16"][d["y"] == c].mean(axis=0) if share > 0 else (np.nan, np.nan)
            cells.append(f"{h:.2f} / {e:.2f}, {share:.0%}" if share > 0 else "-")
            per_block.setdefault(g, {})[codes[c]] = {
                "hematoxylin": None if share == 0 else float(h), "eosin": None if share == 0 else float(e),
                "share": share,
            }
        print(f"| {g} | " + " | ".join(cells) + " |")

    results = {name: fit_and_score(blocks, source=source, features=name, folds=args.folds, rng=rng)
               for name in ("colour", "hematoxylin")}
    print("\nGaussian model on the pixel features, pooled over folds (recall / precision / F1)")
    print("| features | scored on | " + " | ".join(codes) + " |")
    print("|---|---|" + "---|" * k)
    for name, result in results.items():
        for where, label in (("test", "test blocks (unseen)"), ("train", "its own training blocks")):
            cells = []
            for code in codes:
                s = result[where][code]
                cells.append(" / ".join("-" if s[m] is None else f"{s[m]:.2f}" for m in ("recall", "precision", "f1")))
            print(f"| {name} | {label} | " + " | ".join(cells) + " |")
        it = codes.index("IT")
        row = np.asarray(result["test_confusion"])[it]
        print(f"| {name} | IT pixels of the test blocks called | "
              + " | ".join(f"{codes[c]} {row[c] / max(row.sum(), 1):.0%}" for c in range(k)) + " |")
    print(f"\nmachine: {platform.platform()}, numpy {np.__version__}")
    if args.json:
        args.json.write_text(json.dumps({"per_block": per_block, **results}, indent=2))


def fit_and_score(blocks, *, source, features: str, folds: int, rng: np.random.Generator) -> dict:
    """Per fold of benchmark_ivygap.gin, a Gaussian model on the training blocks' ``features``,
    scored on the test blocks and on its own training blocks; confusions pooled over folds."""
    from lggseg.data.folds import cv_fold

    k = len(source.scheme.codes)
    test_total = np.zeros((k, k), np.int64)
    train_total = np.zeros((k, k), np.int64)
    for fold in range(folds):
        split = cv_fold(source, folds=folds, fold=fold, seed=0)
        test_groups = sorted({source.groups[i] for i in split.test})
        train_groups = sorted({source.groups[i] for i in split.rest})
        xs, ys = [], []
        for g in train_groups:
            x, y = blocks[g][features], blocks[g]["y"]
            for c in range(k):
                where = np.flatnonzero(y == c)
                pick = where if where.size <= PER_CLASS else rng.choice(where, PER_CLASS, replace=False)
                xs.append(x[pick]), ys.append(y[pick])
        model = Gaussians(x=np.concatenate(xs), y=np.concatenate(ys), num_classes=k)
        for g in test_groups:
            test_total += confusion(blocks[g]["y"], model.predict(blocks[g][features]), k)
        for g in train_groups:
            train_total += confusion(blocks[g]["y"], model.predict(blocks[g][features]), k)
    codes = list(source.scheme.codes)
    return {"test": scores(test_total, codes), "train": scores(train_total, codes),
            "test_confusion": test_total.tolist()}


if __name__ == "__main__":
    main()
