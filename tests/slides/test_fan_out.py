"""fan_out: one stream to several consumers on threads, errors handed back, nothing left waiting."""

from __future__ import annotations

import pytest

from lggseg.slides.fan_out import fan_out


def test_every_consumer_sees_its_part_in_order():
    got = fan_out(((i, -i, str(i)) for i in range(50)), consumers=[list, sum, "".join], depth=1)
    assert got == [list(range(50)), -sum(range(50)), "".join(str(i) for i in range(50))]


def test_a_consumer_error_stops_the_producer():
    made = []

    def producer():
        for i in range(10_000):
            made.append(i)
            yield i, i

    def broken(items):
        next(items)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        fan_out(producer(), consumers=[list, broken], depth=2)
    assert len(made) < 10_000


def test_a_producer_error_reaches_the_caller():
    def producer():
        yield (1, 1)
        raise RuntimeError("model failed")

    with pytest.raises(RuntimeError, match="model failed"):
        fan_out(producer(), consumers=[list, list])
