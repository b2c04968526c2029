"""write_atomically: all-or-nothing replacement, modes as open() would give, no temp files left."""

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
