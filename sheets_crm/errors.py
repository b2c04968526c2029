"""The exceptions sheets-crm raises, and what a failure left behind.

Everything the library raises on purpose derives from :class:`CrmError`, so a
caller (the CLI above all) can catch one class and print it: the message is
written for the person running the tool, never a traceback.

Like httpx's exceptions (``HTTPError(message, request=..., response=...)``),
an error carries its *context as attributes* next to an unchanged message,
rather than having its message rewritten on the way up. The context every
error may carry is :attr:`CrmError.outcome`, a :class:`WriteOutcome` saying
what happened to the workbook; :func:`outcome_sentence` turns it into the
sentence the person reads, and ``str(exc)`` is the message followed by that
sentence. Split writes also carry :attr:`CrmError.parts` (applied, total).

An error about a sheet may be said in the sheet's language: made with
:meth:`CrmError.of`, it keeps its catalog key (``msgid``, the English message
before its values went in) and its values (``params``), and :meth:`CrmError.said`
renders it, outcome sentence included, through a gettext function. This module
translates nothing itself (no catalogs, no I/O): the command line does.

    CrmError                   .message, .outcome (WriteOutcome | None), .parts, .msgid/.params/.lang
    ├── TemplateError          the template file itself is malformed
    ├── SheetShapeError        a tab or key column is missing: nothing was written
    ├── WorkbookError          the workbook cannot be opened, read or saved
    │   ├── WorkbookLockedError   Excel/LibreOffice holds the file open
    │   ├── ConcurrentEditError   the sheet changed between our read and write
    │   └── WriteInDoubtError     a write may or may not have landed: re-read before writing again
    ├── GoogleError            the Google service refused or failed
    │   ├── AuthError             no or unusable credentials
    │   ├── NotSharedError        spreadsheet missing or not shared with us
    │   ├── ApiDisabledError      Sheets/Drive API not enabled for the project
    │   ├── StorageQuotaError     service account cannot create files
    │   └── QuotaError            429 after bounded retries
    └── ConfigError            the config file or an option is invalid

(``BadRequestError`` in ``backends/google/http.py`` and ``DigestError`` in
``app/digest.py`` extend this tree where they are raised.)
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, Self

__all__ = [
    "N_",
    "WriteOutcome",
    "outcome_sentence",
    "CrmError",
    "TemplateError",
    "SheetShapeError",
    "WorkbookError",
    "WorkbookLockedError",
    "ConcurrentEditError",
    "WriteInDoubtError",
    "GoogleError",
    "AuthError",
    "NotSharedError",
    "ApiDisabledError",
    "StorageQuotaError",
    "QuotaError",
    "ConfigError",
]


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name for "mark, do not translate"
    """Mark ``message`` for the catalog without translating it."""
    return message


Gettext = Callable[[str], str]


def _same(message: str) -> str:
    return message


class WriteOutcome(enum.Enum):
    """What a failure left behind in the workbook."""

    #: Nothing was written (the failure came before any write, or the write was refused whole).
    UNTOUCHED = "untouched"
    #: The write landed (a write is all or nothing), but something after it failed.
    UPDATED = "updated"
    #: A write too big for one request was split, and only some parts landed.
    PARTLY_UPDATED = "partly updated"
    #: A write's answer was lost (timeout, dropped connection, 5xx): it may or may not have landed.
    UNKNOWN = "unknown"


_SENTENCES = {
    WriteOutcome.UNTOUCHED: N_("Nothing was written."),
    WriteOutcome.UPDATED: N_("The sheet was written (a write is applied all or nothing)."),
    WriteOutcome.UNKNOWN: N_(
        "The spreadsheet may have been written: the write may or may not have reached Google before its answer "
        "was lost, and a write is applied all or nothing, so the spreadsheet is either fully updated or "
        "untouched, never half-written; running the command again is safe."
    ),
}
_PARTLY = N_(
    "The write had been split in {total} parts and {done} of them were applied: the sheet is partly "
    "updated; run sync again to finish."
)


def outcome_sentence(exc: BaseException, gettext: Gettext = _same) -> str:
    """The sentence telling the person what ``exc`` left behind ("" when it does not say), in the
    language ``gettext`` speaks."""
    outcome = getattr(exc, "outcome", None)
    if outcome is WriteOutcome.PARTLY_UPDATED:
        done, total = getattr(exc, "parts", None) or (0, 0)
        return _formatted(gettext(_PARTLY), _PARTLY, {"total": total, "done": done}, gettext)
    return gettext(_SENTENCES[outcome]) if outcome in _SENTENCES else ""


def _values(params: Mapping[str, Any], gettext: Gettext) -> dict[str, Any]:
    """A message's values, parts with a catalog key of their own (anything with ``text(gettext)``,
    e.g. the core's ``Msg``; a tuple of them reads as one sentence after another) said too."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if callable(getattr(value, "text", None)):
            value = value.text(gettext)
        elif isinstance(value, tuple) and value and all(callable(getattr(v, "text", None)) for v in value):
            value = " ".join(v.text(gettext) for v in value)
        out[name] = value
    return out


def _formatted(said: str, msgid: str, params: Mapping[str, Any], gettext: Gettext) -> str:
    try:
        return said.format(**_values(params, gettext))
    except (KeyError, IndexError, ValueError):  # a translation naming a value that was not passed
        return msgid.format(**_values(params, _same))


class CrmError(Exception):
    """Base class: the message is meant for the user as it stands.

    ``outcome`` (keyword, or set later by a layer that knows more) says what
    the workbook was left with; ``str(exc)`` adds the matching sentence.
    """

    #: What was left behind; None when the error does not concern a write.
    outcome: WriteOutcome | None = None
    #: For a split write: (parts applied, parts in all).
    parts: tuple[int, int] | None = None
    #: The catalog key (the English message before its values went in; "" when not translatable).
    msgid: str = ""
    #: The message's values by name.
    params: Mapping[str, Any] = {}
    #: The language of the sheet the error is about, when known ("en", "ru").
    lang: str | None = None

    def __init__(self, message: str = "", *, outcome: WriteOutcome | None = None) -> None:
        super().__init__(message)
        if outcome is not None:
            self.outcome = outcome

    @classmethod
    def of(cls, msgid: str, /, *, outcome: WriteOutcome | None = None, lang: str | None = None, **params: Any) -> Self:
        """An error whose message is ``msgid`` with ``params`` filled in, translatable by :meth:`said`."""
        exc = cls(_formatted(msgid, msgid, params, _same), outcome=outcome)
        exc.msgid, exc.params, exc.lang = msgid, dict(params), lang
        return exc

    def retold(self, *, outcome: WriteOutcome | None = None, **params: Any) -> Self:
        """The same error with some of its values replaced, or another outcome (made with :meth:`of`)."""
        if not self.msgid:
            raise ValueError("only an error made with CrmError.of can be retold")
        return type(self).of(self.msgid, outcome=outcome or self.outcome, lang=self.lang, **{**self.params, **params})

    def said(self, gettext: Gettext = _same) -> str:
        """``str(self)`` in the language ``gettext`` speaks (English where the catalog has no translation)."""
        message = _formatted(gettext(self.msgid), self.msgid, self.params, gettext) if self.msgid else self.message
        sentence = outcome_sentence(self, gettext)
        return f"{message} {sentence}" if sentence and message else (message or sentence)

    @property
    def message(self) -> str:
        """The message as raised, without the outcome sentence."""
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        sentence = outcome_sentence(self)
        return f"{self.message} {sentence}" if sentence and self.message else (self.message or sentence)


class TemplateError(CrmError):
    """The template file is malformed."""


class SheetShapeError(CrmError):
    """A required tab or key column is missing; the sync stopped before writing."""


class WorkbookError(CrmError):
    """The workbook could not be opened, read or saved."""


class WorkbookLockedError(WorkbookError):
    """Another program (Excel, LibreOffice) holds the workbook open."""


class ConcurrentEditError(WorkbookError):
    """The sheet changed between the sync's read and its write, repeatedly."""


class WriteInDoubtError(WorkbookError):
    """A write that is not safe to re-send blindly (it grows the grid, adds rules) may or may not
    have landed; the sync re-reads and re-plans rather than re-sending it. Outcome: UNKNOWN."""

    outcome = WriteOutcome.UNKNOWN


class GoogleError(CrmError):
    """The Google service refused a request or kept failing."""


class AuthError(GoogleError):
    """No credentials were found, or they cannot be used."""


class NotSharedError(GoogleError):
    """The spreadsheet does not exist or is not shared with the account in use."""


class ApiDisabledError(GoogleError):
    """The Google Sheets or Drive API is not enabled in the Cloud project."""


class StorageQuotaError(GoogleError):
    """A service account tried to create a file; it owns no Drive storage."""


class QuotaError(GoogleError):
    """Google kept answering 429 (quota exceeded) after bounded retries."""


class ConfigError(CrmError):
    """The configuration file or a command-line option is invalid."""
