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
"""

from __future__ import annotations

import datetime as dt
import gettext
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

__all__ = ["DOMAIN", "LANGS", "LOCALE_DIR", "_", "choose", "current", "day", "ngettext", "request", "use"]

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
