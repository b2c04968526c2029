"""The workbook file on disk: where it really is, who holds it, and the one atomic way to replace any file.

:func:`replace_atomically` is the project's only atomic file replacement, for the
workbook save here and for the app's small files (the calendar feed, the
scheduler's state: :mod:`sheets_crm.app.files`). It writes a temporary file in
the same folder, fsyncs it, gives it the mode the file had (a new file: ``0o666``
less the umask, as ``open()`` would), runs an optional last check, moves it over
the target with ``os.replace`` and fsyncs the folder: a crash leaves the old file
or the new one, never half of one, and no temporary file. It raises the OS's own
errors (:class:`TempFileError` when not even the temporary file could be made);
each caller words them.

The workbook's caller, :func:`write_atomically`: a workbook reached through a
symlink is read and written at its real location (the link stays a link). Before
writing, the Excel/LibreOffice lock file beside the real file refuses the save,
and so does a read-only file; the last check is that the workbook is still the
very file that was read (inode, size, mtime). Every OS failure becomes one
:class:`WorkbookError` naming the file.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sheets_crm.errors import N_, ConcurrentEditError, WorkbookError, WorkbookLockedError, WriteOutcome

__all__ = [
    "Identity",
    "real_path",
    "lock_file",
    "check_unlocked",
    "check_writable",
    "identity",
    "read_file",
    "replace_atomically",
    "TempFileError",
    "write_atomically",
    "save_atomically",
]

# The messages a person meets most (the workbook is open elsewhere), in the catalog so they are said in
# the person's language; the outcome sentence ("Nothing was written.") is added by the error itself.
_UNTOUCHED = WriteOutcome.UNTOUCHED
_OPEN_ELSEWHERE = N_(
    "{path} is open in Excel or LibreOffice (lock file {lock} is present). Close it there and run again. "
    "If no program has it open, delete {full}."
)
_READ_ONLY = N_("{path} is read-only; sheets-crm will not change it. Make it writable (e.g. chmod u+w) and run again.")
_PERMISSION_DENIED = N_("{path}: permission denied (is it open in another program?)")
_SAVED_MEANWHILE = N_("{path} was saved by another program while the sync was running.")
_CANNOT_REPLACE = N_("{path}: cannot replace the file (is it open in another program?)")

log = logging.getLogger(__name__)

#: (inode, size, mtime in ns) of the file read: another program's save changes at least one.
Identity = tuple[int, int, int]


def real_path(path: Path) -> Path:
    """The file a (chain of) symlink(s) points at; the path itself otherwise."""
    return Path(os.path.realpath(path))


def lock_file(path: Path) -> Path | None:
    """The lock file Excel or LibreOffice keeps beside an open workbook, if any."""
    name = path.name
    for candidate in (f".~lock.{name}#", f"~${name}", f"~${name[2:]}", f"~${name[1:]}"):
        lock = path.with_name(candidate)
        if lock.exists():
            return lock
    return None


def check_unlocked(path: Path, shown: Path | None = None) -> None:
    lock = lock_file(path)
    if lock is not None:
        raise WorkbookLockedError.of(_OPEN_ELSEWHERE, outcome=_UNTOUCHED, path=shown or path, lock=lock.name, full=lock)


def check_writable(path: Path, shown: Path | None = None) -> None:
    """Refuse a read-only workbook (as root, ``os.access`` would say yes: look at the mode bits)."""
    st = path.stat()
    if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK):
        raise WorkbookError.of(_READ_ONLY, outcome=_UNTOUCHED, path=shown or path)


def identity(st: os.stat_result) -> Identity:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def read_file(path: Path, shown: Path | None = None) -> tuple[bytes, Identity]:
    """The file's bytes and the identity of exactly the file read."""
    try:
        with open(path, "rb") as fh:
            before = os.fstat(fh.fileno())
            data = fh.read()
    except PermissionError:
        raise WorkbookLockedError.of(_PERMISSION_DENIED, path=shown or path) from None
    except IsADirectoryError:
        raise WorkbookError(f"{shown or path} is a folder, not a workbook") from None
    except OSError as exc:
        raise WorkbookError(f"{shown or path}: cannot read the file ({exc.strerror or exc})") from None
    return data, identity(before)


def _explain(exc: OSError, path: Path) -> str:
    code = exc.errno
    if code == errno.ENOSPC or code == errno.EDQUOT:
        return f"{path}: the disk is full; the workbook was not changed. Free some space and run again."
    if code == errno.EROFS:
        return f"{path}: the folder is on a read-only file system; the workbook was not changed."
    if code in (errno.EACCES, errno.EPERM):
        return (
            f"{path}: no permission to write in {path.parent} (sheets-crm saves a temporary file beside the "
            "workbook, then renames it); the workbook was not changed."
        )
    return f"{path}: cannot save ({exc.strerror or exc}); the workbook was not changed."


class TempFileError(OSError):
    """The temporary file beside the target could not be made: nothing was written (same errno as the OS's)."""


def replace_atomically(
    path: Path,
    write: Callable[[IO[bytes]], Any],
    *,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """Write a new version of ``path`` through ``write(binary file)`` and swap it in atomically.

    ``before_replace`` runs once the new content is on disk, right before the rename; whatever it
    raises stops the replacement. On any failure the target is left as it was and the temporary
    file is removed; OS errors propagate as they are (:class:`TempFileError` for the temporary
    file itself), so each caller says what the file was for.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)  # an existing file keeps its permissions
    except FileNotFoundError:
        mode = 0o666 & ~_umask()  # a new one: what open() would give (mkstemp's 0600 would hide an .ics feed)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise TempFileError(exc.errno, exc.strerror, exc.filename) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def write_atomically(
    path: Path,
    write: Callable[[Any], None],
    *,
    expected: Identity | None = None,
    shown: Path | None = None,
) -> None:
    """Save a new version of the workbook at ``path`` (its real location) through ``write(binary file)``.

    ``expected``: the identity of the file the new content was made from; if the
    file on disk is no longer that one just before the rename, nothing is
    replaced and :class:`ConcurrentEditError` is raised (the sync re-plans).
    """
    shown = shown or path

    def still_the_file_read() -> None:
        if expected is None:
            return
        try:
            now: Identity | None = identity(path.stat())
        except FileNotFoundError:
            now = None
        if now != expected:
            raise ConcurrentEditError.of(_SAVED_MEANWHILE, outcome=_UNTOUCHED, path=shown)

    try:
        replace_atomically(path, write, before_replace=still_the_file_read)
    except TempFileError as exc:  # the folder refused even the temporary file
        raise WorkbookError(_explain(exc, shown)) from None
    except PermissionError:
        raise WorkbookLockedError.of(_CANNOT_REPLACE, outcome=_UNTOUCHED, path=shown) from None
    except OSError as exc:
        raise WorkbookError(_explain(exc, shown)) from None


def _umask() -> int:
    """The process's umask (Linux: read, not set; elsewhere set and put back at once)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every OS/file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        log.debug("fsync of %s not supported", folder)
    finally:
        os.close(fd)


def save_atomically(book: Any, path: Path) -> None:
    """Save an openpyxl workbook (new workbooks: init, demo, tests) beside the target, then rename over it."""
    path = real_path(Path(path))
    write_atomically(path, book.save)
