"""FakeGoogle: the stand-in as tests use it — the transport with both APIs, seeding, inspection and a person.

Like moto's mock for one account: ``FakeGoogle(account="service")`` is a
service account (creating files answers 403 storageQuotaExceeded, like real
Drive); ``account="user"`` is the owner's own OAuth login.
"""

from __future__ import annotations

import datetime as dt

from .core.transport import Transport
from .drive import api as drive_api
from .person import Person
from .seed import SeedAndInspect
from .sheets import api as sheets_api
from .state import State

__all__ = ["ACCOUNT_KINDS", "DEFAULT_IDENTITY", "FakeGoogle"]

DEFAULT_IDENTITY = {
    "service": "crm-bot@crm-project.iam.gserviceaccount.com",
    "user": "owner@example.com",
}
ACCOUNT_KINDS = tuple(DEFAULT_IDENTITY)


class FakeGoogle(Transport, SeedAndInspect):
    """In-memory Google Sheets v4 and Drive v3 behind a ``requests`` adapter.

    Args:
        latency: seconds slept per request (simulated network time).
        account: ``"user"`` (OAuth login of the owner; may create files) or
            ``"service"`` (a service account: creating files answers 403
            storageQuotaExceeded, like real Drive).
        identity: e-mail the caller acts as; decides what it may open.
        quota_per_minute: per-user read and write budgets per simulated minute
            for Sheets (None = unlimited); excess answers 429.
        seed: seed for ids, so runs are reproducible.
        validate: check bodies and query parameters against the discovery documents.
        keep_log: record every request in :attr:`log` / :attr:`exchanges`.
        pretty_json: indent response bodies like Google's default (``prettyPrint=true``).
    """

    handlers = {**sheets_api.HANDLERS, **drive_api.HANDLERS}
    body_roots = sheets_api.BODY_ROOTS
    mask_checks = {"sheets": sheets_api.MASK_CHECK, "drive": drive_api.MASK_CHECK}

    def __init__(
        self,
        *,
        latency: float = 0.0,
        account: str = "user",
        identity: str | None = None,
        quota_per_minute: int | None = None,
        seed: int | None = 0,
        validate: bool = True,
        keep_log: bool = True,
        pretty_json: bool = False,
    ) -> None:
        if account not in DEFAULT_IDENTITY:
            raise ValueError("account must be 'user' or 'service'")
        super().__init__(
            State(identity or DEFAULT_IDENTITY[account], account, seed),
            latency=latency,
            quota_per_minute=quota_per_minute,
            validate=validate,
            keep_log=keep_log,
            pretty_json=pretty_json,
        )
        self.person = Person(self)

    # -- the clock formulas read ----------------------------------------------------------------------------
    def set_now(self, moment: dt.datetime | None) -> None:
        """Freeze the time TODAY() and NOW() see (naive = UTC); None goes back to the real clock."""
        self.state.frozen_now = moment

    def set_today(self, day: dt.date) -> None:
        """Freeze TODAY() at ``day``: noon UTC of that day, the same date in every zone from UTC-11 to UTC+11."""
        self.state.frozen_now = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)
