"""Instrumentation: what the code under test asked Google for, and how much.

Benchmarks compare request counts and payload sizes; tests assert on the exact
calls made (``fake.log``) — e.g. "a sync is one batchGet and one batchUpdate".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class LogEntry(NamedTuple):
    """One request as sent: Google method id, full URL, decoded JSON body (or None)."""

    method_id: str
    url: str
    body: Any


@dataclass
class RequestInfo:
    """What hooks and :attr:`FakeGoogle.exchanges` see about a request."""

    number: int
    method_id: str
    http_method: str
    url: str
    query: dict[str, list[str]]
    body: Any
    status: int | None = None
    response: Any = None


@dataclass
class Stats:
    """Counters since the last :meth:`FakeGoogle.reset_stats`.

    ``reads``/``writes`` follow Google's quota classes by method id (GETs and
    the ``*ByDataFilter`` POSTs are reads). Requests failed by injected faults
    or quota are counted too (``faults``, ``errors``); dropped connections and
    timeouts still count as requests made.
    """

    requests: int = 0
    reads: int = 0
    writes: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    by_api: Counter[str] = field(default_factory=Counter)
    bytes_sent: int = 0
    bytes_received: int = 0
    errors: int = 0
    faults: int = 0
    quota_rejections: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "reads": self.reads,
            "writes": self.writes,
            "by_method": dict(self.by_method),
            "by_status": dict(self.by_status),
            "by_api": dict(self.by_api),
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "errors": self.errors,
            "faults": self.faults,
            "quota_rejections": self.quota_rejections,
        }
