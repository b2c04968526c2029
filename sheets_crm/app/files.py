"""Write a whole small file atomically: readers see the old contents or the new, never half.

Used for every file the app rewrites in place (the calendar feed, the
scheduler's state). The mechanism is the project's one atomic replacement,
:func:`sheets_crm.backends.local.files.replace_atomically` (the workbook save
uses it too): a temporary file beside the target, fsynced, given the target's
mode (a new file: ``0o666`` less the umask, exactly as ``open(path, "w")``
would — a calendar feed must stay readable by the web server that publishes
it), then ``os.replace``, atomic on POSIX and Windows, and the folder fsynced.
A crash or a full disk leaves the old file untouched and no temporary file
behind. This module adds only what small files need: missing folders are
created, and errors stay plain ``OSError`` for the caller to word.
"""

from __future__ import annotations

import os
from pathlib import Path

from sheets_crm.backends.local.files import replace_atomically

__all__ = ["write_atomically"]


def write_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace the file at ``path`` with ``data`` in one step; return its path.

    Creates missing parent folders. Raises OSError (the caller says what the
    file was for); on any failure the target is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(target, lambda handle: handle.write(data))
    return target
