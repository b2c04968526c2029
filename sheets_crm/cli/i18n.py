"""The command line's own words in the user's language: gettext catalogs (made with babel), chosen per sheet.

Which language, first match wins:

1. ``sheets-crm --lang ru ...`` (the option before the command);
2. ``$SHEETS_CRM_LANG``;
3. ``$LC_ALL``, ``$LC_MESSAGES`` (a deliberate choice of message language);
4. the sheet's own language (its tab names), once it has been read;
5. ``$LANGUAGE``, ``$LANG`` (the machine's general default);
6. English.

``C`` and ``POSIX`` mean "no preference". The catalogs live in ``sheets_crm/locale`` (the
``.po`` is the source, the ``.mo`` is compiled by ``pybabel compile``; see docs in the README).
Words that come from the template (tab, column and section names) are already in the sheet's
language and do not go through here.

What the catalog holds (:mod:`sheets_crm.cli.catalog`; ``python -m sheets_crm.cli.catalog`` writes the ``.pot``):
the command line's ``_()``/``ngettext()``/``N_()`` strings, the core's warnings (``Issue(...)``,
``Issue.of(...)``, ``N_()`` in :mod:`sheets_crm.core`, translated by :meth:`Issue.text`), and every
``--help`` text of the commands (typer help strings and docstrings, translated by
:func:`translate_help` before click prints them).
"""

from __future__ import annotations

import datetime as dt
import gettext
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

__all__ = [
    "DOMAIN",
    "LANGS",
    "LOCALE_DIR",
    "N_",
    "_",
    "choose",
    "current",
    "day",
    "help_texts",
    "ngettext",
    "request",
    "translate_help",
    "use",
]

DOMAIN = "sheets_crm"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGS = ("en", "ru")


class _State:
    requested: str | None = None  # --lang
    lang = "en"


def _lang_of(value: str | None) -> str | None:
    """``ru_RU.UTF-8`` -> ``ru``; ``C``, ``POSIX``, unknown languages -> None."""
    for part in (value or "").split(":"):  # $LANGUAGE is a list
        code = part.split(".")[0].split("_")[0].split("-")[0].lower()
        if code in LANGS:
            return code
    return None


def choose(sheet: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The language to speak for a sheet written in ``sheet`` (None: not read yet)."""
    env = os.environ if env is None else env
    strong = (_State.requested, env.get("SHEETS_CRM_LANG"), env.get("LC_ALL"), env.get("LC_MESSAGES"))
    weak = (env.get("LANGUAGE"), env.get("LANG"))
    for value in (*strong, sheet, *weak):
        lang = _lang_of(value)
        if lang:
            return lang
    return "en"


def request(lang: str | None) -> None:
    """``--lang``: overrides everything else for this invocation (None: no override)."""
    _State.requested = lang
    use(choose())


def use(lang: str) -> None:
    """Speak ``lang`` from now on (one invocation at a time)."""
    _State.lang = lang if lang in LANGS else "en"


def current() -> str:
    return _State.lang


@cache
def _catalog(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def _(message: str) -> str:
    """``message`` (English, the msgid) in the current language."""
    return _catalog(_State.lang).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for ``n`` (Russian has three) in the current language."""
    return _catalog(_State.lang).ngettext(singular, plural, n)


def day(value: dt.date) -> str:
    """A date as people of the current language write it: ISO in English, 22.11.2026 in Russian."""
    return value.strftime("%d.%m.%Y") if _State.lang == "ru" else value.isoformat()


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name
    """Mark ``message`` for the catalog; it is translated where it is shown."""
    return message


# -- --help in the user's language -----------------------------------------------------------------

_HELP_ATTRS = ("help", "epilog")


def _helped(command: Any) -> list[Any]:
    """The command, its parameters and (for a group) its subcommands, depth first."""
    items = [command, *command.params]
    for sub in (getattr(command, "commands", None) or {}).values():
        items += _helped(sub)
    return items


def help_texts(command: Any) -> list[str]:
    """Every help text of a click command tree, as written (the catalog's keys)."""
    found: list[str] = []
    for item in _helped(command):
        for attr in _HELP_ATTRS:
            text = getattr(item, attr, None)
            if isinstance(text, str) and text.strip() and text not in found:
                found.append(text)
    return found


#: The help screen's own words (typer's bundled click writes them in English).
_FRAME_WORDS = (N_("Usage: "), N_("Arguments"), N_("Options"), N_("Commands"), N_("Show this message and exit."))


def _help_context() -> type:
    """A click context whose help formatter says its headings and the --help line in the current language."""
    from typer._click.core import Context
    from typer._click.formatting import HelpFormatter

    class Formatter(HelpFormatter):
        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            super().write_usage(prog, args, _(prefix or "Usage: "))

        def write_heading(self, heading: str) -> None:
            super().write_heading(_(heading))

        def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
            super().write_dl([(term, _(text) if text else text) for term, text in rows], col_max, col_spacing)

    class HelpContext(Context):
        formatter_class = Formatter

    return HelpContext


def translate_help(command: Any, ctx: Any = None) -> None:
    """Put the command's help texts (its own, its options', its subcommands') in the current language.

    click prints ``command.help`` etc. as they are, so they are swapped in place; the English is
    kept beside them, so the same objects can be put back into English (one invocation, one language).
    """
    context = _help_context() if _State.lang != "en" else None
    if context is not None and ctx is not None:  # the group's own context exists already
        ctx.formatter_class = context.formatter_class  # type: ignore[attr-defined]
    for item in _helped(command):
        if context is not None and hasattr(item, "context_class"):
            item.context_class = context
        originals: dict[str, str] = item.__dict__.setdefault("_help_en", {})
        for attr in _HELP_ATTRS:
            text = originals.get(attr, getattr(item, attr, None))
            if isinstance(text, str) and text.strip():
                originals[attr] = text
                setattr(item, attr, _(text))
