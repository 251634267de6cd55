"""Signals whose exception was lost on the way. A signal handler raises in whatever Python code the main thread is
running, and where that code cannot pass an exception on (a Polars function called back into Python, a finaliser,
a weakref callback) Python prints "Exception ignored" and runs on: a SIGTERM would let the command finish and exit 0.
The command line's handlers note each exception here as they raise it, and long loops call `raise_noted()` between
steps, so that the signal ends the command there as it would have."""

from __future__ import annotations

_noted: list[BaseException] = []


def note(exc: BaseException) -> BaseException:
    """Remember `exc`, which a signal handler is about to raise; returns it."""
    _noted.append(exc)
    return exc


def raise_noted() -> None:
    """Raise the first exception noted since the last call, if any (each once)."""
    if _noted:
        exc = _noted[0]
        _noted.clear()
        raise exc


def forget() -> None:
    """Drop what was noted: a command ending, on its signal or not, leaves nothing for the next one in the process."""
    _noted.clear()
