"""Files in and out, safely: inputs that are regular files (or standard input), outputs that are whole or absent.

Inputs. `open_input(path)` accepts a regular file, or "-" for standard input (read once, in one pass); a FIFO,
socket, device or folder is refused at once with one line, so nothing blocks for ever on a pipe nobody writes
and nothing reads /dev/zero until memory runs out. `require_file(path, what=..., max_bytes=...)` does the same
for the smaller files a command reads whole (mapping tables, overrides, expected failures), with a size cap.

Outputs. `OutputSet` writes every file of one command to a temporary file beside its final path and renames
them all into place only when the block ends without an error; on an error, Ctrl-C or SIGTERM (raised as an
exception by the CLI) every temporary file is removed, so a reader never finds half a file. A function that
writes several files passes its set down explicitly. An output that names an existing non-regular file (a
terminal, /dev/null, a FIFO) is written directly: it cannot be renamed onto.
`refuse_overlap(inputs, outputs)` refuses, before anything is written, an output that is one of the inputs or
another output.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, BinaryIO, NamedTuple, TextIO, cast

from conformance.errors import DidsError

STDIN = "-"
# What a command reads whole at most, unless it says otherwise: far above any real mapping table or override.
DEFAULT_MAX_SMALL_FILE = 256 * 1024 * 1024
_SNIFF = 64 * 1024
_SNIFF_LIMIT = 16 * 1024 * 1024


class InputError(DidsError):
    """An input or output path that cannot be used as asked; the message is the one line a user sees."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def require_file(path: str | Path, *, what: str = "input", max_bytes: int | None = None) -> Path:
    """`path` as a Path when it is an existing regular file no larger than `max_bytes`; InputError otherwise."""
    p = Path(path)
    try:
        info = p.stat()  # follows symbolic links: /dev/stdin -> a pipe is refused like the pipe itself
    except FileNotFoundError:
        raise InputError(f"{what} {p} does not exist") from None
    except OSError as exc:
        raise InputError(f"{what} {p} cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        hint = "; to read a stream, pass '-' and pipe it to standard input" if what == "input" else ""
        raise InputError(f"{what} {p} is {_kind(info.st_mode)}, not a regular file{hint}")
    if max_bytes is not None and info.st_size > max_bytes:
        raise InputError(f"{what} {p} is {info.st_size:,} bytes; the most this command reads is {max_bytes:,}")
    return p


class Replay(io.RawIOBase):
    """A one-pass binary stream that gives back bytes already read (the sniffed head), then the rest."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Source:
    """A DIDS input: a regular file (read as often as needed) or standard input (one pass, head replayed).

    A regular file is expected to stay as it was when first opened: `check_unchanged`, called once a pass has read
    it to the end, says when it was written, cut short or replaced meanwhile (a RIS export still being written, a
    copy in progress). What was read then is no account of any one file: a pass that met the end of the file just
    as it was cut short at a row's end would otherwise look whole."""

    def __init__(
        self,
        name: str,
        head: bytes,
        path: Path | None,
        stream: BinaryIO | None = None,
        replay: bytes = b"",
        state: FileState | None = None,
    ) -> None:
        self.name = name
        self.head = head  # the first 64 KiB of content (leading white space skipped), for detection
        self.path = path
        self._stream = stream
        self._replay = replay  # standard input: the bytes already read, given back first
        self._opened = False
        self._reading: BinaryIO | None = None  # the last handle opened on a regular file, for progress
        self.state = state  # a regular file as first opened (for detection)

    def check_unchanged(self) -> None:
        """InputError when the regular file is no longer the one first opened: another size or modification time,
        or another file at the path. Nothing for standard input (read once, as it came)."""
        if self.path is None or self.state is None:
            return
        try:
            now = FileState.of(os.stat(self.path))
        except OSError as exc:
            raise InputError(f"{self.name} changed while it was read: {exc.strerror or exc}") from None
        if now != self.state:
            raise InputError(
                f"{self.name} changed while it was read ({self.state.size:,} bytes when opened, {now.size:,} now, "
                "or written again meanwhile): check it again once it is complete"
            )

    def position(self) -> tuple[int, int] | None:
        """(bytes read so far, size) of a regular file being read, for a progress bar; None otherwise."""
        handle = self._reading
        if handle is None or handle.closed:
            return None
        try:
            return handle.tell(), os.fstat(handle.fileno()).st_size
        except (OSError, ValueError):
            return None

    @property
    def is_stdin(self) -> bool:
        return self.path is None

    def open(self) -> BinaryIO:
        """A binary stream from the first byte. Standard input can be opened once only."""
        if self.path is not None:
            self._reading = open(self.path, "rb")  # noqa: SIM115 - the caller closes it; kept to report progress
            return self._reading
        if self._opened or self._stream is None:
            raise InputError("standard input can be read only once")
        self._opened = True
        return io.BufferedReader(Replay(self._replay, self._stream), buffer_size=1 << 20)


def open_input(path: str | Path, *, stdin: BinaryIO | None = None) -> Source:
    """The input named `path` ("-" for standard input), with its first 64 KiB of content read for detection."""
    if str(path) == STDIN:
        if stdin is None and sys.stdin is None:
            raise InputError("standard input is closed; give a file, or pipe one to '-'")
        stream = stdin if stdin is not None else sys.stdin.buffer
        consumed, head = _sniff(stream)
        return Source("<stdin>", head, None, stream, replay=consumed)
    p = require_file(path)
    with open(p, "rb") as handle:
        state = FileState.of(os.fstat(handle.fileno()))
        _, head = _sniff(handle)
    return Source(str(path), head, p, state=state)


class FileState(NamedTuple):
    """What tells a regular file changed: where it is (device, inode), its size and its modification time. (A
    named tuple: `dids --help` imports no dataclass machinery, tests/test_startup.py.)"""

    device: int
    inode: int
    size: int
    modified_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> FileState:
        return cls(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _sniff(stream: BinaryIO) -> tuple[bytes, bytes]:
    """(Everything read, the first 64 KiB from the first byte that is not white space.) A file that opens with
    more than 64 KiB of blank lines is still recognised by what follows them (up to 16 MiB of them)."""
    chunks: list[bytes] = []
    size = 0
    start: int | None = None  # where the content begins
    while size < _SNIFF_LIMIT:
        chunk = stream.read(_SNIFF)
        if not chunk:
            break
        if start is None and chunk.strip():
            start = size + len(chunk) - len(chunk.lstrip())
        chunks.append(chunk)
        size += len(chunk)
        if start is not None and size - start >= _SNIFF:
            break
    data = b"".join(chunks)
    return data, data[start or 0 : (start or 0) + _SNIFF]


# --------------------------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------------------------


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def refuse_overlap(inputs: Iterable[str | Path | None], outputs: dict[str, str | Path | None]) -> None:
    """Refuse (InputError) an output that is the same file as an input or as another output.

    `outputs` maps each output's option name (for the message) to its path; None entries are ignored.
    """
    named = [(label, Path(p)) for label, p in outputs.items() if p is not None and str(p) != STDIN]
    sources = [Path(p) for p in inputs if p is not None and str(p) != STDIN]
    for label, out in named:
        if _is_special(out):
            continue
        for source in sources:
            if source.is_dir():
                if out.resolve().is_relative_to(source.resolve()):
                    raise InputError(f"{label} {out} is inside the input folder {source}; choose another output")
                continue
            if _same(out, source) or out.resolve() == source.resolve():
                raise InputError(f"{label} {out} is the same file as the input {source}; choose another output")
    for i, (label, out) in enumerate(named):
        if _is_special(out):
            continue
        for other_label, other in named[i + 1 :]:
            if out.resolve() == other.resolve() or _same(out, other):
                raise InputError(f"{label} and {other_label} are the same file ({out}); give each its own path")


def _is_special(path: Path) -> bool:
    """A path written in place rather than replaced: an existing path that is not a regular file or folder (a
    terminal, /dev/null, a FIFO), or one that leads through /dev or /proc (/dev/stdout, even when the shell has
    sent standard output to a file: replacing that file would lose what else the command prints)."""
    if _through_device(path):
        return True
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _through_device(path: Path) -> bool:
    hop = os.path.abspath(path)
    for _ in range(16):  # a chain of links, followed one link at a time
        if hop.startswith(("/dev/", "/proc/")):
            return True
        if not os.path.islink(hop):
            return False
        hop = os.path.join(os.path.dirname(hop), os.readlink(hop))
    return False


def _open_in_place(path: Path, mode: str, **kwargs: Any) -> IO[Any]:
    """Open a path written in place. Our own standard output or error (/dev/stdout, even when the shell sent it to a
    file) is written through a duplicate of its descriptor, sharing its offset, so it neither truncates what the
    command printed before nor is overwritten by what it prints after."""
    try:
        here = os.stat(path)
    except OSError:
        here = None
    for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
        try:
            if here is not None and os.path.samestat(here, os.fstat(fd)):
                if stream is not None:
                    stream.flush()
                return open(os.dup(fd), mode, **kwargs)
        except OSError:
            continue
    return open(path, mode, **kwargs)


def _final(path: Path) -> Path:
    """Where an output really goes: through a link to a regular file, the file itself (so the link stays a link)."""
    if os.path.islink(path):
        return Path(os.path.realpath(path))
    return path


_UMASK: int | None = None


def _umask() -> int:
    """The process's umask (read once): temporary files and folders are made 0600/0700, and get the mode a plain
    open() or mkdir() would have given them when they are renamed into place."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


class OutputSet:
    """Files that appear together or not at all. Use as a context manager:

        with OutputSet() as outputs:
            with outputs.open("report.json", "w", encoding="utf-8") as handle:
                handle.write(...)
            tmp = outputs.path("month.xml")   # for writers that take a path

    Every path is reserved as a temporary file in the final file's folder (so the rename is atomic); the renames
    happen when the set ends without an exception. Folders (`folder()`) are built aside and swapped in whole.
    """

    def __init__(self) -> None:
        self._temps: dict[Path, Path] = {}  # final -> temporary
        self._folders: dict[Path, Path] = {}

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    def path(self, final: str | Path) -> Path:
        """The temporary path to write instead of `final` (created empty); the same one if asked twice."""
        if str(final) == STDIN:
            raise InputError("'-' cannot be an output file here; name a file")
        target = Path(final)
        if target in self._temps:
            return self._temps[target]
        if _is_special(target):
            self._temps[target] = target
            return target
        target = _final(target)
        if target in self._temps:
            return self._temps[target]
        if target.is_dir():
            raise InputError(f"cannot write {target}: it is a folder; name a file")
        folder = target.parent if str(target.parent) else Path(".")
        if not folder.is_dir():
            raise InputError(f"cannot write {target}: folder {folder} does not exist")
        temp = _temporary_name(folder, target.name)
        # Registered before it exists: Ctrl-C or SIGTERM landing anywhere from here on leaves nothing behind (with
        # tempfile.mkstemp, one landing between its creating the file and our learning the name left it there).
        self._temps[target] = temp
        try:
            os.close(os.open(temp, _CREATE_NEW, 0o600))
        except OSError as exc:
            del self._temps[target]
            raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
        return temp

    def open(self, final: str | Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
        """Open the temporary file that stands for `final` (or `final` itself, when it is written in place)."""
        path = self.path(final)
        if path == Path(final) and _is_special(path):
            return _open_in_place(path, mode, **kwargs)
        return open(path, mode, **kwargs)

    def text(self, final: str | Path, *, newline: str | None = None) -> TextIO:
        """Open the temporary file that stands for `final` for writing UTF-8 text."""
        return cast(TextIO, self.open(final, "w", encoding="utf-8", newline=newline))

    @staticmethod
    def in_place(final: str | Path) -> bool:
        """True when `final` is written directly (a terminal, a pipe, /dev/stdout), not replaced whole."""
        return _is_special(Path(final))

    def folder(self, final: str | Path) -> Path:
        """A temporary folder to build `final` in; at commit it replaces `final` whole (the old one is removed)."""
        import shutil  # noqa: F401  (commit and discard remove folders with it: imported here, not under a signal)

        target = Path(final)
        if target in self._folders:
            return self._folders[target]
        parent = target.parent if str(target.parent) else Path(".")
        parent.mkdir(parents=True, exist_ok=True)
        built = _temporary_name(parent, target.name)
        self._folders[target] = built  # registered before it exists, as in `path`
        try:
            os.mkdir(built, 0o700)
        except OSError:  # not made: nothing to discard
            del self._folders[target]
            raise
        return built

    def commit(self) -> None:
        mode = 0o666 & ~_umask()
        try:
            for final, temp in self._temps.items():
                if temp == final:
                    continue
                os.chmod(temp, mode)
                with open(temp, "rb") as handle:
                    os.fsync(handle.fileno())  # whole on disk before the name points at it
                os.replace(temp, final)
            for final, built in self._folders.items():
                old = None
                if final.exists():
                    old = _temporary_name(final.parent, final.name).with_suffix(".old")
                    os.replace(final, old)
                os.chmod(built, 0o777 & ~_umask())
                os.replace(built, final)
                if old is not None:
                    _remove_folder(old)
        except BaseException:
            self.discard()
            raise
        self._temps.clear()
        self._folders.clear()

    def discard(self) -> None:
        for final, temp in self._temps.items():
            if temp != final:
                with suppress(OSError):
                    temp.unlink()
        for built in self._folders.values():
            _remove_folder(built)
        self._temps.clear()
        self._folders.clear()


# A temporary file is created new, never through a link, and is not inherited by the validators certify starts.
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _temporary_name(folder: Path, name: str) -> Path:
    """A name for a temporary beside `name` in `folder`, hidden and marked .part, that nothing else will pick (64
    random bits, as tempfile's names are random)."""
    return folder / f".{name}.{os.urandom(8).hex()}.part"


def _remove_folder(path: Path) -> None:
    import shutil  # already imported by OutputSet.folder, which made the folder

    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def atomic_open(final: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """One output file, whole or absent: `with atomic_open(path, "w", encoding="utf-8") as handle: ...`."""
    with OutputSet() as outputs, outputs.open(final, mode, **kwargs) as handle:
        yield handle


def bounded_lines(handle: IO[str], *, limit: int, what: str) -> Iterator[str]:
    """A text file's lines, refusing (InputError) a line longer than `limit` characters instead of reading it
    whole into memory."""
    number = 0
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit:
            raise InputError(f"{what} line {number} is longer than {limit:,} characters")
        yield line
