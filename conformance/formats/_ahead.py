"""Reading one step ahead: a CSV file's next block read by a thread while the caller checks the last.

Reading a block (Python's byte checks, Polars' CSV split) and checking one (Polars' query, which releases the GIL,
and Python's look at the rows it picks) each leave a core idle much of the time. On two cores, overlapped, a check
of 1,000,000 records read 8 MiB at a time took ~12 % less time; read 4 MiB at a time (the engine's blocks), as
little as 8 MiB not read ahead, in ~35 MiB less memory (tests/benchmarks/bench_check.py). The cost is one block
more in memory, and no more: the thread reads the next block only once the caller has taken the last one.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from queue import SimpleQueue
from typing import TypeVar

T = TypeVar("T")

# Items the caller takes one by one (a CSV file's rows that are not plain) go over in lists of up to this many: a
# hand-over costs ~10 µs
HANDED_AT_ONCE = 2048
# How long a caller that stops early waits for the thread to finish the step it is reading (a block of a regular
# file: ~0.1 s)
JOIN_SECONDS = 30.0


class _End:
    """What the thread hands over last: the items' end, or the exception that ended them."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def read_ahead(items: Iterator[T], *, alone: type) -> Generator[T, None, None]:
    """`items`, in order, produced by a thread one step ahead of the caller. An item of type `alone` (a block) is a
    step of its own; other items (records) go in steps of up to HANDED_AT_ONCE. An exception the items raise is
    raised here, where the caller takes the next item. When the caller stops early (an exception, or closing this
    generator), the thread stops before reading another step and closes `items`."""
    steps: SimpleQueue[list[T] | _End] = SimpleQueue()
    go = threading.Semaphore(0)  # one release per step the thread may read
    stop = threading.Event()

    def read() -> None:
        step: list[T] = []
        try:
            go.acquire()
            for item in items:
                if isinstance(item, alone):
                    if step:
                        steps.put(step)
                        step = []
                        go.acquire()
                    if stop.is_set():
                        break
                    steps.put([item])
                    del item  # (not kept while the next is read)
                    go.acquire()
                else:
                    step.append(item)
                    if len(step) >= HANDED_AT_ONCE:
                        steps.put(step)
                        step = []
                        go.acquire()
                if stop.is_set():
                    break
            else:
                if step:
                    steps.put(step)
                steps.put(_End())
                return
        except BaseException as exc:  # handed to the caller, who raises it after the items read before it
            if step:
                steps.put(step)
            steps.put(_End(exc))
            return
        finally:
            close = getattr(items, "close", None)
            if stop.is_set() and close is not None:
                close()

    thread = threading.Thread(target=read, name="dids-read-ahead", daemon=True)
    thread.start()
    go.release()
    try:
        while True:
            step = steps.get()
            if isinstance(step, _End):
                if step.error is not None:
                    raise step.error
                return
            go.release()  # the next step is read while this one is used
            yield from step
            del step
    finally:
        stop.set()
        go.release()  # a thread waiting for its next step sees the stop
        # and one reading a step finishes it: waited for, so that the file is closed by the thread that reads it
        # before this one goes on (or the interpreter exits with a read in progress: a buffered file's lock held)
        thread.join(JOIN_SECONDS)
