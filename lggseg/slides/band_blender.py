"""Blends overlapping tile predictions in raster order and hands back finished rows.

Sliding-window blending (:class:`~lggseg.evaluation.sliding_window.SlidingWindowPredictor`)
sums window-weighted probabilities over the whole image, then divides. A slide does not
fit: 50,000^2 pixels x 4 classes in float32 is 40 GB. Tiles come in raster order, so a
pixel row is final once the tile row below it has started; only the partial sums that
still wait for tiles are kept:

* the current tile row's band, in column chunks that exist only while tiles touch them
  (``tile_size`` rows x ``chunk_width`` columns each), and
* for every other column, the *carry*: the rows the next tile row will overlap
  (``tile_size - stride`` of them, 64 for 256-pixel tiles at 25 % overlap).

The last tile row is flush with the bottom border, so it can overlap the row before it
by almost a whole tile; those two rows form one band whose tiles are added column by
column (:meth:`BandBlender.order` sorts tiles so), which keeps the carry small there too.
Memory is therefore about ``(tile_size - stride) x width x (classes + 1)`` floats plus a
few chunks, independent of the slide's height, and the finished rows leave as uint8
class indices. Each pixel receives the same float32 additions as in
:meth:`SlidingWindowPredictor.predict`, in the same order except in that last band, so
the class map equals predicting the level as one image (up to float rounding in exact
ties there).

With ``probabilities=True`` the finished rows also leave as the blended probabilities,
uint8 ``round(p * 255)`` per class, one band at a time like the classes (``width x
classes`` bytes per row), so a probability map streams as the class map does.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BandBlender"]


class BandBlender:
    """Accumulates window-weighted tile probabilities band by band.

    Tiles must be added in the order :meth:`order` gives: band by band, and within a
    band by increasing x (a band is one tile row, or the last two). Rows of tiles may be
    skipped entirely (no tissue) and so may tiles within a row; pixels no tile covers
    get ``background`` (and, with ``probabilities``, probability 255 for it, 0 for the rest).

    Args:
      height, width: the (padded) size of the plane the tile grid covers.
      row_origins: the sorted y origins of the tile rows (all of them, tissue or not).
      tile_size: side of the square tiles.
      stride: the step between tile rows (the last row may be closer, flush with the border).
      window: ``(tile_size, tile_size)`` float32 blending weights.
      num_classes: channels of the probabilities.
      background: class index of pixels no tile covered.
      chunk_width: columns per accumulator chunk.
      out_height, out_width: crop of the emitted rows (the unpadded level size).
      probabilities: emit each finished block as a ``(classes, probabilities)`` pair, the
        second uint8 ``(h, out_width, num_classes)`` holding ``round(p * 255)``; else
        the classes alone.
    """

    def __init__(
        self,
        *,
        height: int,
        width: int,
        row_origins: list[int],
        tile_size: int,
        stride: int,
        window: np.ndarray,
        num_classes: int,
        background: int = 0,
        chunk_width: int = 512,
        out_height: int | None = None,
        out_width: int | None = None,
        probabilities: bool = False,
    ):
        if not row_origins or row_origins[0] != 0 or row_origins[-1] + tile_size != height:
            raise ValueError(
                f"Tile rows {row_origins[:3]}...{row_origins[-1:]} must start at 0 and end flush with "
                f"the height {height} (tile {tile_size})."
            )
        self.height, self.width = int(height), int(width)
        self.out_height = int(out_height if out_height is not None else height)
        self.out_width = int(out_width if out_width is not None else width)
        self.ys = [int(y) for y in row_origins]
        self.tile = int(tile_size)
        self.window = np.asarray(window, dtype=np.float32)[..., None]
        self.num_classes = int(num_classes)
        self.background = int(background)
        self.chunk_width = max(int(chunk_width), 1)
        self.probabilities = bool(probabilities)
        self.num_chunks = -(-self.width // self.chunk_width)
        # Bands of tile rows: one row each, except that an irregular last row (flush with
        # the border, closer to the row before than the stride) joins the row before.
        rows = list(range(len(self.ys)))
        self.stride = int(stride)
        if len(self.ys) >= 2 and self.ys[-1] - self.ys[-2] < self.stride:
            self._band_rows = [[k] for k in rows[:-2]] + [rows[-2:]]
        else:
            self._band_rows = [[k] for k in rows]
        self._band_of_row = {k: b for b, ks in enumerate(self._band_rows) for k in ks}
        # chunk index -> (rows, chunk columns, classes + 1) partial sums from the band top;
        # the last channel is the summed window weight.
        self._chunks: dict[int, np.ndarray] = {}
        self._band = 0  # the current band
        self._last_x = -1
        self._next_final_chunk = 0
        self._final = self._new_final()
        self.emitted_rows = 0
        self.peak_floats = 0

    # -- geometry ----------------------------------------------------------------------

    @property
    def band_top(self) -> int:
        return self.ys[self._band_rows[self._band][0]]

    @property
    def band_end(self) -> int:
        """First row that is not final when the current band is done."""
        return self.ys[self._band_rows[self._band + 1][0]] if self._band + 1 < len(self._band_rows) else self.height

    @property
    def band_extent(self) -> int:
        """Rows the current band's tiles cover, from its top."""
        return self.ys[self._band_rows[self._band][-1]] + self.tile - self.band_top

    def order(self, tiles: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """``(tile row, x)`` pairs sorted into the order :meth:`add` needs."""
        return sorted(tiles, key=lambda t: (self._band_of_row[t[0]], t[1], t[0]))

    def _chunk_cols(self, c: int) -> tuple[int, int]:
        return c * self.chunk_width, min((c + 1) * self.chunk_width, self.width)

    def _new_final(self) -> np.ndarray:
        rows = self.band_end - self.band_top
        if self.probabilities:
            self._final_probs = np.zeros((rows, self.width, self.num_classes), dtype=np.uint8)
            self._final_probs[..., self.background] = 255
        return np.full((rows, self.width), self.background, dtype=np.uint8)

    # -- adding tiles --------------------------------------------------------------------

    def add(self, *, row: int, x: int, probs: np.ndarray) -> list[np.ndarray]:
        """Blend one tile's ``(tile, tile, C)`` probabilities at tile row ``row``, column ``x``.

        Returns:
          The row blocks finished by this call (uint8 ``(h, out_width)``, top to bottom;
          usually none), or ``(classes, probabilities)`` pairs with ``probabilities``.
        """
        band = self._band_of_row[row]
        if band < self._band or x < self._last_x and band == self._band:
            raise ValueError(f"Tiles must come in BandBlender.order; got tile row {row}, x {x} too late.")
        done = []
        while self._band < band:
            done.extend(self._finish_band())
        self._last_x = x
        # Columns left of this tile are complete for this band: later tiles lie further right.
        self._finalise_chunks_before(x)
        t = self.tile
        dy = self.ys[row] - self.band_top
        weighted = probs * self.window
        c0, c1 = x // self.chunk_width, (x + t - 1) // self.chunk_width
        for c in range(c0, c1 + 1):
            lo, hi = self._chunk_cols(c)
            a, b = max(lo, x), min(hi, x + t)
            acc = self._expanded(c)
            acc[dy:dy + t, a - lo:b - lo, :self.num_classes] += weighted[:, a - x:b - x]
            acc[dy:dy + t, a - lo:b - lo, self.num_classes:] += self.window[:, a - x:b - x]
        self._track_memory()
        return done

    def finish(self) -> list[np.ndarray]:
        """Finalise every remaining band; returns the last row blocks."""
        done = []
        while self._band < len(self._band_rows):
            done.extend(self._finish_band())
        return done

    # -- internals -----------------------------------------------------------------------

    def _expanded(self, c: int) -> np.ndarray:
        """Chunk ``c`` of the current band with all the band's rows, its carry on top."""
        lo, hi = self._chunk_cols(c)
        acc = self._chunks.get(c)
        extent = self.band_extent
        if acc is not None and acc.shape[0] == extent:
            return acc
        full = np.zeros((extent, hi - lo, self.num_classes + 1), dtype=np.float32)
        if acc is not None:
            full[:acc.shape[0]] = acc
        self._chunks[c] = full
        return full

    def _finalise_chunks_before(self, x: int) -> None:
        while self._next_final_chunk < self.num_chunks and self._chunk_cols(self._next_final_chunk)[1] <= x:
            self._finalise_chunk(self._next_final_chunk)
            self._next_final_chunk += 1

    def _finalise_chunk(self, c: int) -> None:
        """Write chunk ``c``'s final rows of this band as classes; keep its carry."""
        acc = self._chunks.pop(c, None)
        if acc is None:
            return
        lo, hi = self._chunk_cols(c)
        n_final = self.band_end - self.band_top
        part = acc[:n_final]
        weight = part[..., self.num_classes]
        covered = weight > 0
        labels = np.full(weight.shape, self.background, dtype=np.uint8)
        if covered.any():
            # Divide like SlidingWindowPredictor.predict so that ties break identically.
            probs = part[..., :self.num_classes][covered] / weight[covered][:, None]
            labels[covered] = np.argmax(probs, axis=-1).astype(np.uint8)
            if self.probabilities:
                # np.rint of p * 255 <= 255 never overflows uint8; each class is off by at
                # most half a step, so a pixel's values sum to 255 +- num_classes / 2.
                self._final_probs[:part.shape[0], lo:hi][covered] = np.rint(probs * 255).astype(np.uint8)
        self._final[:part.shape[0], lo:hi] = labels
        if acc.shape[0] > n_final:
            # A copy, so the finished rows' memory is released.
            self._chunks[c] = acc[n_final:].copy()

    def _finish_band(self) -> list[np.ndarray]:
        self._finalise_chunks_before(self.width + 1)
        top, end = self.band_top, self.band_end
        n = max(0, min(end, self.out_height) - top)
        block = self._final[:n, : self.out_width]
        if self.probabilities:
            block = (block, self._final_probs[:n, : self.out_width])
        self._band += 1
        self._next_final_chunk = 0
        self._last_x = -1
        if self._band < len(self._band_rows):
            self._final = self._new_final()
        if n == 0:
            return []
        self.emitted_rows += n
        return [block]

    def _track_memory(self) -> None:
        floats = sum(a.size for a in self._chunks.values())
        self.peak_floats = max(self.peak_floats, floats)
