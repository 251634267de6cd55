"""OutputSet (conformance/files.py), the one way commands write files: outputs appear whole together or not at all.
Here its temporaries: each is known to the set before it exists, so an interruption at any moment (Ctrl-C, SIGTERM:
a KeyboardInterrupt raised between any two bytecodes) leaves nothing behind once the set is discarded."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from conformance import files
from conformance.files import OutputSet


class Interrupted(BaseException):
    """Stands for KeyboardInterrupt landing inside the call."""


def test_a_temporary_file_is_registered_before_it_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = OutputSet()
    real_open = os.open

    def interrupted_after_creating(path: Any, flags: int, mode: int = 0o777) -> int:
        # the file exists, and the interruption comes before open returns: the set must already know it
        os.close(real_open(path, flags, mode))
        assert Path(path) in outputs._temps.values()
        raise Interrupted

    monkeypatch.setattr(files.os, "open", interrupted_after_creating)
    with pytest.raises(Interrupted):
        outputs.path(tmp_path / "report.json")
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]  # it was created
    outputs.discard()
    assert list(tmp_path.iterdir()) == []


def test_a_temporary_folder_is_registered_before_it_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = OutputSet()
    real_mkdir = os.mkdir

    def interrupted_after_creating(path: Any, mode: int = 0o777) -> None:
        real_mkdir(path, mode)
        assert Path(path) in outputs._folders.values()
        raise Interrupted

    monkeypatch.setattr(files.os, "mkdir", interrupted_after_creating)
    with pytest.raises(Interrupted):
        outputs.folder(tmp_path / "corpus")
    monkeypatch.undo()
    outputs.discard()
    assert list(tmp_path.iterdir()) == []


def test_temporaries_are_new_private_files_and_commit_gives_them_their_names(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "stale.txt").write_text("stale", encoding="utf-8")
    with OutputSet() as outputs:
        first, again = outputs.path(tmp_path / "a.txt"), outputs.path(tmp_path / "a.txt")
        second = outputs.path(tmp_path / "b.txt")
        assert first == again and first != second
        assert first.name.startswith(".a.txt.") and first.name.endswith(".part")
        assert stat.S_IMODE(first.stat().st_mode) == 0o600 and first.stat().st_size == 0
        first.write_text("a", encoding="utf-8")
        built = outputs.folder(tmp_path / "old")
        (built / "new.txt").write_text("new", encoding="utf-8")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "a"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == ""
    assert sorted(p.name for p in (tmp_path / "old").iterdir()) == ["new.txt"]  # swapped in whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "old"]  # no .part, no .old left


def test_a_temporary_that_cannot_be_created_is_a_one_line_error_and_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(path: Any, flags: int, mode: int = 0o777) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(files.os, "open", refused)
    outputs = OutputSet()
    with pytest.raises(files.InputError, match=r"^cannot write .*x\.txt: Permission denied$"):
        outputs.path(tmp_path / "x.txt")
    assert outputs._temps == {}
