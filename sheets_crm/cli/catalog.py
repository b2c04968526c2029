"""What the message catalog must hold, and the maintainer's tool that writes its template (``.pot``).

``uv run python -m sheets_crm.cli.catalog`` writes ``sheets_crm/locale/sheets_crm.pot`` from three
sources, then ``pybabel update`` / translate / ``pybabel compile`` as the README says:

* the command line's words: ``_()``, ``ngettext()`` and ``N_()`` in :mod:`sheets_crm.cli`;
* the errors a command stops with: ``N_()`` in :mod:`sheets_crm.errors` (and the ``N_()`` marks of
  the messages the core and the backends raise them with), rendered by :meth:`~sheets_crm.errors.CrmError.said`;
* the warnings: the message of ``Issue(...)`` / ``Issue.of(...)`` (their 5th argument) and
  ``N_()`` in :mod:`sheets_crm.core` and :mod:`sheets_crm.app` (the doctor's own checks), rendered by
  :func:`sheets_crm.cli.render.issue_line`;
* every ``--help`` text of the commands (typer help strings and docstrings) and the doctor's
  headings (:data:`sheets_crm.app.doctor.KINDS`), which are data rather than calls.

Nothing at run time imports this module (it imports the whole command line).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

from sheets_crm.cli.i18n import DOMAIN, LOCALE_DIR, help_texts

__all__ = ["APP_KEYWORDS", "CLI_KEYWORDS", "CORE_KEYWORDS", "messages", "write_pot"]

#: gettext keywords: the command line's, and the core's marks (an Issue's message is its 5th argument)
CLI_KEYWORDS: dict[str, Any] = {"_": None, "ngettext": (1, 2), "N_": None}
CORE_KEYWORDS: dict[str, Any] = {"Issue": (5,), "of": (5,), "N_": None}
#: the app only marks what it has made translatable (its other Issue(...) messages are still f-strings)
APP_KEYWORDS: dict[str, Any] = {"of": (5,), "N_": None}


def messages() -> dict[str, str | tuple[str, str]]:
    """msgid -> message (a (singular, plural) pair for plurals): everything the catalog should translate."""
    from babel.messages.extract import extract_from_dir, extract_from_file
    from typer.main import get_command

    from sheets_crm.app.doctor import KINDS
    from sheets_crm.cli.main import app

    package = Path(__file__).resolve().parent.parent
    found: dict[str, str | tuple[str, str]] = {}
    folders = (("cli", CLI_KEYWORDS), ("core", CORE_KEYWORDS), ("app", APP_KEYWORDS), ("backends", {"N_": None}))
    for folder, keywords in folders:
        # babel says "skipping f-string" on stderr for the messages not (yet) given a key: not for here
        with contextlib.redirect_stderr(io.StringIO()):
            extracted = list(extract_from_dir(package / folder, keywords=keywords))
        if folder == "core":  # the errors a command stops with: their marked messages and outcome sentences
            extracted += [
                ("errors.py", *found_in)
                for found_in in extract_from_file("python", package / "errors.py", {"N_": None})
            ]
        for _file, _line, msg, _comments, _context in extracted:
            if isinstance(msg, str):
                found.setdefault(msg, msg)
            elif isinstance(msg, tuple) and all(isinstance(m, str) for m in msg):
                found.setdefault(msg[0], (msg[0], msg[1]))
    for text in [*KINDS.values(), *help_texts(get_command(app))]:
        found.setdefault(text, text)
    return found


def write_pot(path: Path = LOCALE_DIR / f"{DOMAIN}.pot") -> int:
    """Write the catalog template; returns how many messages it holds."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    catalog = Catalog(project="sheets-crm", domain=DOMAIN)
    for msg in messages().values():
        key = msg if isinstance(msg, str) else msg[0]
        catalog.add(msg, flags=("python-brace-format",) if "{" in key else ())
    with path.open("wb") as fh:
        write_po(fh, catalog, omit_header=False, sort_output=True, width=120)
    return len(catalog)


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    print(f"{write_pot()} messages written to {LOCALE_DIR / (DOMAIN + '.pot')}")
