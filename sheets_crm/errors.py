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

    CrmError                   .message, .outcome (WriteOutcome | None), .parts
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

__all__ = [
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
    WriteOutcome.UNTOUCHED: "Nothing was written.",
    WriteOutcome.UPDATED: "The sheet was written (a write is applied all or nothing).",
    WriteOutcome.UNKNOWN: (
        "The spreadsheet may have been written: the write may or may not have reached Google before its answer "
        "was lost, and a write is applied all or nothing, so the spreadsheet is either fully updated or "
        "untouched, never half-written; running the command again is safe."
    ),
}


def outcome_sentence(exc: BaseException) -> str:
    """The sentence telling the person what ``exc`` left behind ("" when it does not say)."""
    outcome = getattr(exc, "outcome", None)
    if outcome is WriteOutcome.PARTLY_UPDATED:
        done, total = getattr(exc, "parts", None) or (0, 0)
        return (
            f"The write had been split in {total} parts and {done} of them were applied: the sheet is partly "
            "updated; run sync again to finish."
        )
    return _SENTENCES.get(outcome, "") if isinstance(outcome, WriteOutcome) else ""


class CrmError(Exception):
    """Base class: the message is meant for the user as it stands.

    ``outcome`` (keyword, or set later by a layer that knows more) says what
    the workbook was left with; ``str(exc)`` adds the matching sentence.
    """

    #: What was left behind; None when the error does not concern a write.
    outcome: WriteOutcome | None = None
    #: For a split write: (parts applied, parts in all).
    parts: tuple[int, int] | None = None

    def __init__(self, message: str = "", *, outcome: WriteOutcome | None = None) -> None:
        super().__init__(message)
        if outcome is not None:
            self.outcome = outcome

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
