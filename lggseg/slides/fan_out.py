"""Feeds one stream of row blocks to several TIFF writers at once, in bounded memory.

A slide is predicted once, but its rows go to several files (the class map and, with
probabilities, one pyramid per class). tifffile writes a page by pulling tiles from an
iterator until the page is complete, so a second file could only start once the first
is done, which would mean holding the whole slide. Each writer therefore runs on its
own thread, pulling from a short queue; the producer (the model, on the calling thread)
puts every block's parts into the queues and waits while a writer is ``depth`` blocks
behind. Memory is ``depth`` blocks per writer; zlib releases the GIL, so the writers'
compression also runs in parallel.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

__all__ = ["fan_out"]

_END = object()


def fan_out(
    parts: Iterable[Sequence[Any]],
    *,
    consumers: Sequence[Callable[[Iterator[Any]], Any]],
    depth: int = 2,
) -> list[Any]:
    """Run ``consumers[i]`` on the stream of ``part[i]`` of every item of ``parts``.

    Args:
      parts: items of ``len(consumers)`` parts each, e.g. ``(classes, prob_0, prob_1, ...)``.
      consumers: functions that each take an iterator and return a result (a writer).
      depth: items a consumer may fall behind before the producer waits for it.

    Returns:
      The consumers' results, in order.

    Raises:
      The first exception of the producer or of any consumer (the others are stopped).
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}.")
    n = len(consumers)
    queues = [queue.Queue(maxsize=depth) for _ in range(n)]
    results: list[Any] = [None] * n
    errors: list[BaseException] = []
    failed = threading.Event()

    def run(i: int) -> None:
        ended = False

        def items() -> Iterator[Any]:
            nonlocal ended
            while True:
                item = queues[i].get()
                if item is _END:
                    ended = True
                    return
                yield item

        try:
            results[i] = consumers[i](items())
        except BaseException as err:  # handed to the calling thread below
            errors.append(err)
            failed.set()
        finally:
            # Keep taking items until the end, so the producer never waits on a consumer
            # that has stopped early (an error, or a writer that needed fewer rows).
            while not ended:
                ended = queues[i].get() is _END

    threads = [threading.Thread(target=run, args=(i,), daemon=True, name=f"fan_out-{i}") for i in range(n)]
    for t in threads:
        t.start()
    try:
        for item in parts:
            if failed.is_set():
                break
            if len(item) != n:
                raise ValueError(f"Each item must have {n} parts (one per consumer), got {len(item)}.")
            for q, part in zip(queues, item):
                q.put(part)
    finally:
        for q in queues:
            q.put(_END)
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    return results
