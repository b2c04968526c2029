"""Timestamps as Google writes them (RFC 3339, milliseconds, UTC)."""

from __future__ import annotations

import datetime as dt

__all__ = ["now_rfc3339"]


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
