"""Make docs/images/normalize.png: a W30 crop normalised to a W3 reference (Macenko)."""
import io
from pathlib import Path

import cv2
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from lggseg.data.io import read_image
from lggseg.stain import Macenko, choose_reference

# ../shared beside the checkout, as the tests and other benchmarks find it.
images = Path(__file__).resolve().parents[2] / "shared" / "data" / "ivygap" / "images"
ref_path = images / "W3-1-1-A.1.01.jpg"  # a purple-blue W3 image, as a --reference file
reference = read_image(ref_path)
source = read_image(images / "W30-1-1-C.01.jpg")
norm = Macenko().fit(reference)
out = norm.transform(source)
import staintools
theirs = staintools.StainNormalizer(method="macenko")
theirs.fit(reference.copy())
their_out = theirs.transform(source.copy())
print(norm.last_passthrough)

def crop(im, y=256, x=256):
    return cv2.resize(im[y:y + 512, x:x + 512], (256, 256), interpolation=cv2.INTER_AREA)

panels = [(crop(source), "W30-1-1-C.01 (original)"), (crop(out), "lggseg macenko"),
          (crop(their_out), "staintools macenko"), (crop(reference), f"reference {ref_path.stem}")]
fig, axes = plt.subplots(1, 4, figsize=(9.6, 2.8), dpi=100)
for ax, (im, title) in zip(axes, panels):
    ax.imshow(im)
    ax.set_title(title, fontsize=8)
    ax.axis("off")
fig.tight_layout(pad=0.4)
fig.subplots_adjust(top=0.91)
buf = io.BytesIO()
fig.savefig(buf, format="png")
png = Image.open(buf).convert("RGB")
target = Path("docs/images/normalize.png")
target.parent.mkdir(parents=True, exist_ok=True)
png.save(target, optimize=True)
if target.stat().st_size > 300_000:
    png.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(target, optimize=True)
print(target, target.stat().st_size, png.size)
