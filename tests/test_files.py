"""Atomic writes, one mechanism for the small files and the workbook: all or nothing, modes kept, no temp left."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from sheets_crm.app.files import write_atomically

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def test_creates_folders_and_writes_the_bytes(tmp_path):
    target = tmp_path / "a" / "b" / "state.json"
    assert write_atomically(target, b"{}") == target
    assert target.read_bytes() == b"{}"
    write_atomically(target, b'{"v": 2}')
    assert target.read_bytes() == b'{"v": 2}'
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


@posix_only
def test_a_new_file_follows_the_umask_and_an_old_one_keeps_its_mode(tmp_path):
    old = os.umask(0o027)
    try:
        fresh = write_atomically(tmp_path / "fresh.ics", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o640
    assert stat.S_IMODE(write_atomically(tmp_path / "default.ics", b"x").stat().st_mode) == 0o666 & ~_umask()
    kept = tmp_path / "kept.ics"
    kept.write_bytes(b"old")
    kept.chmod(0o604)
    write_atomically(kept, b"new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o604 and kept.read_bytes() == b"new"


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch, failing):
    target = tmp_path / "calls.ics"
    target.write_bytes(b"old contents")

    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, failing, broken)
    with pytest.raises(OSError, match="Input/output error"):
        write_atomically(target, b"new contents")
    monkeypatch.undo()
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["calls.ics"]


# -- the one mechanism (backends/local/files.replace_atomically), as the workbook save and the app use it --


def test_the_last_check_before_the_rename_can_stop_it(tmp_path):
    from sheets_crm.backends.local.files import replace_atomically

    target = tmp_path / "crm.xlsx"
    target.write_bytes(b"the person's save")

    class Moved(Exception):
        pass

    def someone_saved() -> None:
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")], "the new content is on disk first"
        raise Moved

    with pytest.raises(Moved):
        replace_atomically(target, lambda fh: fh.write(b"ours"), before_replace=someone_saved)
    assert target.read_bytes() == b"the person's save"
    assert [p.name for p in tmp_path.iterdir()] == ["crm.xlsx"]


def test_a_folder_that_refuses_the_temp_file_is_told_apart_from_a_failed_rename(tmp_path, monkeypatch):
    import tempfile

    from sheets_crm.backends.local.files import TempFileError
    from sheets_crm.backends.local.files import write_atomically as save_workbook
    from sheets_crm.errors import WorkbookError, WorkbookLockedError

    target = tmp_path / "calls.ics"
    target.write_bytes(b"old")

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(TempFileError) as err:  # the small files' caller gets the OS error, errno kept
        write_atomically(target, b"new")
    assert isinstance(err.value, OSError) and err.value.errno == errno.EACCES
    with pytest.raises(WorkbookError, match="no permission to write in") as err2:  # the workbook's words
        save_workbook(target, lambda fh: fh.write(b"new"))
    assert not isinstance(err2.value, WorkbookLockedError)
    monkeypatch.undo()

    def replace_refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", replace_refused)
    with pytest.raises(WorkbookLockedError, match="cannot replace the file"):  # the rename: open elsewhere?
        save_workbook(target, lambda fh: fh.write(b"new"))
    monkeypatch.undo()
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["calls.ics"]


@posix_only
def test_a_synced_workbook_keeps_its_mode_like_the_small_files(make_workbook):
    from conftest import TODAY

    from sheets_crm.app.sync import sync
    from sheets_crm.backends.local.workbook import LocalWorkbook

    path = make_workbook([["Acme", "Ann", "+1 555 0100"]], [])
    path.chmod(0o640)
    inode = path.stat().st_ino
    assert sync(LocalWorkbook(path), today=TODAY, tz="UTC").written
    assert path.stat().st_ino != inode  # replaced, not rewritten in place...
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # ...with the mode it had
