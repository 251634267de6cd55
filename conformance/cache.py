"""A cache in the user's cache folder for work that every process would otherwise repeat at start-up (parsing the
bundled spec packs' TOML costs more than checking a small file, and a certify run starts `dids check` per case).

An entry is named by its kind and a key that digests everything the entry is made from (the caller's input bytes,
plus the Python version: parsers and serialisation formats may change with it), so a changed input is a new key,
never a stale hit. Entries are written whole (a temporary file renamed into place) and carry a SHA-256 of their
body; an entry that cannot be read, is cut short or fails its digest counts as absent, and a folder that cannot be
written means no cache: the cache never makes a command fail. A kind keeps its newest `KEEP` entries.

`DIDS_NO_CACHE` (any value but empty or 0) turns it off; `DIDS_CACHE_DIR` moves it (default
`$XDG_CACHE_HOME/dids-harness`, else `~/.cache/dids-harness`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from pathlib import Path

_MAGIC = b"dids-cache 1\n"
KEEP = 8  # entries kept per kind: a few installations or pack edits side by side, never an unbounded folder


def folder() -> Path | None:
    """Where entries live, or None when the cache is turned off."""
    if os.environ.get("DIDS_NO_CACHE", "") not in ("", "0"):
        return None
    chosen = os.environ.get("DIDS_CACHE_DIR")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dids-harness"


def key(*parts: bytes) -> str:
    """A key for an entry made from `parts` by this Python."""
    digest = hashlib.sha256(sys.version.encode())
    for part in parts:
        digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest()[:32]


def read(kind: str, entry_key: str) -> bytes | None:
    """The body stored under (kind, key), or None: no entry, no cache, or an entry that is not whole."""
    where = folder()
    if where is None:
        return None
    try:
        data = (where / f"{kind}-{entry_key}").read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + 32
    body = data[head:]
    if data[: len(_MAGIC)] != _MAGIC or data[len(_MAGIC) : head] != hashlib.sha256(body).digest():
        return None
    return body


def write(kind: str, entry_key: str, body: bytes) -> None:
    """Store `body` under (kind, key), whole or not at all; quietly nothing when the folder cannot be written."""
    where = folder()
    if where is None:
        return
    import tempfile  # only on a miss

    temporary = None
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=where, prefix=f".{kind}-", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(_MAGIC + hashlib.sha256(body).digest() + body)
        os.replace(temporary, where / f"{kind}-{entry_key}")
        temporary = None
        _prune(where, kind)
    except OSError:
        pass
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _prune(where: Path, kind: str) -> None:
    """Keep the newest KEEP entries of `kind` (by modification time); others are left by older inputs."""
    entries = []
    for path in where.glob(f"{kind}-*"):
        try:
            entries.append((path.stat().st_mtime_ns, path))
        except OSError:
            continue
    for _, path in sorted(entries, reverse=True)[KEEP:]:
        with contextlib.suppress(OSError):
            path.unlink()
