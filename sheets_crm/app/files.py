"""Write a whole file atomically: readers see the old contents or the new, never half.

Used for every file the app rewrites in place (the calendar feed, the
scheduler's state). The bytes go to a temporary file beside the target (same
folder, so the same file system), are flushed to disk with ``fsync``, and the
temporary file then replaces the target with ``os.replace``, which is atomic
on POSIX and Windows. A crash or a full disk leaves the old file untouched
and no temporary file behind.

Permissions: an existing file keeps its mode; a new file gets the usual
``0o666`` less the process umask, exactly as ``open(path, "w")`` would
(``tempfile.mkstemp`` would make it ``0600`` and hide a calendar feed from the
web server that publishes it).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

__all__ = ["write_atomically"]

_NEW_FILE_MODE = 0o666  # the kernel applies the umask to this at creation
_ATTEMPTS = 16


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    """An exclusive new file beside the target; its mode already follows the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(_ATTEMPTS):
        tmp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, _NEW_FILE_MODE), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {folder / name}")  # pragma: no cover


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX only; Windows cannot open a folder)."""
    if os.name != "posix":  # pragma: no cover
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some file systems refuse; the data is already on disk
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace the file at ``path`` with ``data`` in one step; return its path.

    Creates missing parent folders. Raises OSError (the caller says what the
    file was for); on any failure the target is left as it was.
    """
    target = Path(path)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        keep_mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        keep_mode = None
    fd, tmp = _create_temp(folder, target.name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if keep_mode is not None:
            os.chmod(tmp, keep_mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    return target
