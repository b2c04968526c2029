"""Injected failures and simulated quotas.

Real Google fails in a handful of ways the project must survive: 429 quota
errors (optionally with ``Retry-After``), 5xx, read timeouts (the write may or
may not have happened) and dropped connections. Faults are scheduled rules
matched against each request by method id and request number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .errors import GoogleError

FaultKind = Literal["status", "timeout", "connection"]


def method_matches(pattern: str | None, method_id: str) -> bool:
    """``None`` matches all; otherwise the full id or a dotted suffix of it.

    ``"values.get"`` matches ``sheets.spreadsheets.values.get``;
    ``"spreadsheets.batchUpdate"`` does not match ``values.batchUpdate``.
    """
    if pattern is None:
        return True
    return method_id == pattern or method_id.endswith("." + pattern)


@dataclass
class Fault:
    """One scheduled failure.

    ``at`` is the 1-based number of the first request (counting every request
    the fake sees) the rule may fire on; ``times`` how often it fires (None =
    forever). ``after_apply`` serves the request first and then fails: the
    write happened but the caller hears a 5xx, a timeout or a dropped
    connection (``applied`` is its older name).
    """

    kind: FaultKind
    method: str | None = None
    status: int = 500
    times: int | None = 1
    at: int | None = None
    retry_after: float | None = None
    body: dict[str, Any] | None = None
    after_apply: bool = False
    fired: int = 0

    @property
    def applied(self) -> bool:
        """Older name of :attr:`after_apply`."""
        return self.after_apply

    def matches(self, number: int, method_id: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.at is not None and number < self.at:
            return False
        return method_matches(self.method, method_id)

    def error(self, is_read: bool) -> GoogleError:
        if self.status == 429:
            err = GoogleError.rate_limited(write=not is_read, retry_after=self.retry_after)
        elif self.status >= 500:
            err = GoogleError.server_error(self.status, retry_after=self.retry_after)
        else:
            err = GoogleError(self.status)
            if self.retry_after is not None:
                err.headers["Retry-After"] = str(self.retry_after)
        if self.body is not None:
            err.body = self.body
        return err


class FaultPlan:
    def __init__(self) -> None:
        self.rules: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self.rules.append(fault)
        return fault

    def pick(self, number: int, method_id: str) -> Fault | None:
        for rule in self.rules:
            if rule.matches(number, method_id):
                rule.fired += 1
                return rule
        return None

    def clear(self) -> None:
        self.rules.clear()


class Quota:
    """Per-user per-minute read and write budgets, as Sheets enforces them (60/60 by default).

    Minutes are counted on the fake's clock, which tests can move forward
    (``FakeGoogle.advance``) instead of sleeping.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.window = -1
        self.reads = 0
        self.writes = 0

    def charge(self, is_read: bool) -> None:
        window = int(self.clock() // 60)
        if window != self.window:
            self.window, self.reads, self.writes = window, 0, 0
        if is_read:
            if self.reads >= self.per_minute:
                raise GoogleError.rate_limited(write=False, limit=self.per_minute)
            self.reads += 1
        else:
            if self.writes >= self.per_minute:
                raise GoogleError.rate_limited(write=True, limit=self.per_minute)
            self.writes += 1
