"""Google-shaped error responses.

Handlers raise :class:`GoogleError`; the transport turns it into the exact JSON
body and status the real service sends, so client code (gspread's
``APIError``, the project's retry logic) sees what it would see in production.
"""

from __future__ import annotations

from typing import Any

STATUS_TEXT = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

DEFAULT_MESSAGE = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "Quota exceeded.",
    500: "Internal error encountered.",
    501: "Method not implemented.",
    502: "Bad Gateway",
    503: "The service is currently unavailable.",
    504: "The request timed out. Please try again.",
}


class GoogleError(Exception):
    """An error answer; ``body`` is the full JSON document sent to the client."""

    def __init__(
        self,
        code: int,
        message: str | None = None,
        *,
        status: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        with_status: bool = True,
    ) -> None:
        self.code = code
        self.message = message if message is not None else DEFAULT_MESSAGE.get(code, "Error")
        error: dict[str, Any] = {"code": code, "message": self.message}
        if errors is not None:
            error["errors"] = errors
        if with_status:
            error["status"] = status or STATUS_TEXT.get(code, "UNKNOWN")
        if details is not None:
            error["details"] = details
        self.body: dict[str, Any] = {"error": error}
        self.headers = headers or {}
        super().__init__(f"{code}: {self.message}")

    # -- Sheets-style errors (google.rpc.Status) ---------------------------------

    @classmethod
    def bad_request(cls, message: str, *, field: str | None = None, violation: bool = False) -> GoogleError:
        """400 INVALID_ARGUMENT; JSON-parsing errors also carry a BadRequest detail."""
        details = None
        if violation:
            fv: dict[str, str] = {"description": message}
            if field:
                fv = {"field": field, "description": message}
            details = [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [fv]}]
        return cls(400, message, details=details)

    @classmethod
    def not_found(cls) -> GoogleError:
        return cls(404)

    @classmethod
    def permission_denied(cls) -> GoogleError:
        return cls(403)

    @classmethod
    def rate_limited(cls, *, write: bool, limit: int = 60, retry_after: float | None = None) -> GoogleError:
        """429 as Sheets sends it when the per-user per-minute quota runs out."""
        kind = "Write" if write else "Read"
        msg = (
            f"Quota exceeded for quota metric '{kind} requests' and limit "
            f"'{kind} requests per minute per user' of service 'sheets.googleapis.com' "
            "for consumer 'project_number:000000000000'."
        )
        details: list[dict[str, Any]] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {
                    "quota_location": "global",
                    "quota_metric": f"sheets.googleapis.com/{kind.lower()}_requests",
                    "quota_limit": f"{kind}RequestsPerMinutePerUser",
                    "quota_limit_value": str(limit),
                    "consumer": "projects/000000000000",
                    "service": "sheets.googleapis.com",
                },
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Request a higher quota limit.",
                        "url": "https://cloud.google.com/docs/quota#requesting_higher_quota",
                    }
                ],
            },
        ]
        errors = [{"message": msg, "domain": "global", "reason": "rateLimitExceeded"}]
        headers = {"Retry-After": _fmt_seconds(retry_after)} if retry_after is not None else None
        return cls(429, msg, errors=errors, details=details, headers=headers)

    @classmethod
    def server_error(cls, code: int, *, retry_after: float | None = None) -> GoogleError:
        headers = {"Retry-After": _fmt_seconds(retry_after)} if retry_after is not None else None
        return cls(code, headers=headers)

    # -- Drive-style errors (v2 "errors" list, no status) -----------------------

    @classmethod
    def drive(cls, code: int, message: str, reason: str, *, domain: str = "global", **extra: str) -> GoogleError:
        item = {"message": message, "domain": domain, "reason": reason, **extra}
        return cls(code, message, errors=[item], with_status=False)

    @classmethod
    def drive_not_found(cls, file_id: str) -> GoogleError:
        return cls.drive(404, f"File not found: {file_id}.", "notFound", location="fileId", locationType="parameter")

    @classmethod
    def storage_quota_exceeded(cls, *, with_status: bool = False) -> GoogleError:
        """What a service account gets when it tries to create a file in My Drive."""
        msg = "The user's Drive storage quota has been exceeded."
        err = cls(
            403,
            msg,
            errors=[{"domain": "usageLimits", "reason": "storageQuotaExceeded", "message": msg}],
            with_status=with_status,
        )
        return err


def _fmt_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


class FakeNotImplemented(GoogleError):
    """A valid Google request the fake does not model: 501, naming what is missing."""

    def __init__(self, what: str) -> None:
        super().__init__(501, f"FakeGoogle does not implement {what}", status="UNIMPLEMENTED")
