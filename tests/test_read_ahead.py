"""formats/_ahead.py read_ahead: a CSV file's blocks read by a thread one step ahead of the check. The items come
in order, an exception where it was raised, and never more than one block ahead of the caller; a caller that stops
early stops the thread and closes the reader (its file)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from conformance.formats._ahead import HANDED_AT_ONCE, read_ahead


class Block:
    """A stand-in for PlainRows that counts how many are alive."""

    alive = 0
    most = 0

    def __init__(self, n: int) -> None:
        self.n = n
        Block.alive += 1
        Block.most = max(Block.most, Block.alive)

    def __del__(self) -> None:
        Block.alive -= 1


@pytest.fixture(autouse=True)
def fresh_counts() -> None:
    Block.alive = Block.most = 0


def mixed(blocks: int, records_between: int) -> Iterator[object]:
    """Blocks with runs of records (ints) between them, as read_csv_blocks gives a file with some rows not plain."""
    for b in range(blocks):
        yield from (("record", b, r) for r in range(records_between))
        block = Block(b)
        yield block
        del block


def test_every_item_comes_in_order() -> None:
    expected = [x if isinstance(x, tuple) else ("block", x.n) for x in mixed(6, HANDED_AT_ONCE + 3)]
    got = [x if isinstance(x, tuple) else ("block", x.n) for x in read_ahead(mixed(6, HANDED_AT_ONCE + 3), alone=Block)]
    assert got == expected


def test_no_more_than_one_block_is_read_ahead() -> None:
    taken = []
    for item in read_ahead(mixed(8, 2), alone=Block):
        if isinstance(item, Block):
            time.sleep(0.02)  # a slow check: the thread would run ahead if it could
            taken.append(item.n)
        del item
    assert taken == list(range(8))
    assert Block.most == 2  # the block being checked and the next one


def test_an_exception_is_raised_where_it_happened() -> None:
    def failing() -> Iterator[object]:
        yield Block(0)
        yield ("record", 0, 0)
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in read_ahead(failing(), alone=Block):
            got.append(item if isinstance(item, tuple) else item.n)
    assert got == [0, ("record", 0, 0)]


def test_a_caller_that_stops_early_stops_the_thread_and_closes_the_reader() -> None:
    closed = threading.Event()
    read = []

    def endless() -> Iterator[object]:
        try:
            n = 0
            while True:
                read.append(n)
                yield Block(n)
                n += 1
        finally:
            closed.set()

    reader = endless()  # kept here, so that only read_ahead's close can close it
    items = read_ahead(reader, alone=Block)
    assert next(items).n == 0  # type: ignore[attr-defined]
    items.close()
    assert closed.wait(2)
    assert len(read) <= 2  # the first block and, at most, the one read ahead
    time.sleep(0.05)
    assert len(read) <= 2


def test_closing_a_submissions_blocks_stops_the_thread_at_once(tmp_path: Path) -> None:
    # Submission.blocks closes its reader itself (not when it is collected), so that what stopping the thread
    # raises (a second interrupt) reaches the caller as an exception rather than stderr as "Exception ignored"
    from conformance.formats import PlainRows, open_submission
    from generators.generate import generate

    path = tmp_path / "month.csv"
    generate(path, profile="v2", records=2_000, seed=3, period=date(2026, 5, 1), workers=1)
    blocks = open_submission(path).blocks(16_384, ahead=True)
    first = next(item for item in blocks if isinstance(item, PlainRows))
    assert len(first) > 0
    assert any(t.name == "dids-read-ahead" for t in threading.enumerate())
    blocks.close()
    assert not any(t.name == "dids-read-ahead" for t in threading.enumerate())


def test_an_interrupt_while_the_thread_stops_reaches_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a second Ctrl-C while the first unwinds: raised where the blocks are closed (the CLI then says "interrupted"),
    # not swallowed by a generator's finaliser with a traceback on stderr
    from conformance.formats import PlainRows, open_submission
    from generators.generate import generate

    path = tmp_path / "month.csv"
    generate(path, profile="v2", records=2_000, seed=3, period=date(2026, 5, 1), workers=1)
    blocks = open_submission(path).blocks(16_384, ahead=True)
    assert isinstance(next(item for item in blocks if isinstance(item, PlainRows)), PlainRows)

    def interrupted(self: threading.Thread, timeout: float | None = None) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(threading.Thread, "join", interrupted)
    with pytest.raises(KeyboardInterrupt):
        blocks.close()
