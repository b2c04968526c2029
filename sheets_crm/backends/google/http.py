"""The one place requests to Google go out: retries, accounting, error messages.

Like gspread's ``http_client.py`` (and built on it: :class:`CrmHTTPClient` is a
:class:`gspread.HTTPClient`, so gspread's own helpers such as
``values_batch_get`` and ``fetch_sheet_metadata`` go through it too), every
request of the Google backend passes through :meth:`CrmHTTPClient.request`,
which

* retries what is worth retrying — 429, 500, 502, 503, 504, 408, Drive's 403
  ``rateLimitExceeded``/``userRateLimitExceeded``, timeouts and dropped
  connections — with exponential backoff and jitter, honouring
  ``Retry-After``, bounded by a number of tries *and* a total wait;
* never retries anything else: a 403 ``storageQuotaExceeded`` is not a rate
  limit (gspread's ``BackOffHTTPClient`` retries it and appears to hang);
* counts requests (reads = GET, writes = everything else) and bytes;
* turns every failure into a :class:`~sheets_crm.errors.GoogleError`
  subclass whose message tells the person what to do.

The sleep function, the random source and the time budget are injectable so
tests never wait.
"""

from __future__ import annotations

import email.utils
import json as _json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import requests
from gspread.http_client import HTTPClient
from requests import Response, Session

from sheets_crm.errors import (
    ApiDisabledError,
    AuthError,
    GoogleError,
    NotSharedError,
    QuotaError,
    StorageQuotaError,
)

__all__ = [
    "CrmHTTPClient",
    "RetryPolicy",
    "RequestStats",
    "convert_error",
    "BadRequestError",
    "SHEETS_API",
    "DRIVE_API",
    "SETUP_DOC",
]

log = logging.getLogger("sheets_crm.google")

SHEETS_API = "https://sheets.googleapis.com/v4/spreadsheets"
DRIVE_API = "https://www.googleapis.com/drive/v3/files"
#: Where the user documentation about Google set-up lives (README section).
SETUP_DOC = 'the README, section "Google Sheets" (docs/google.md)'

_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
_RETRY_403_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying: at most ``tries`` attempts and ``max_wait``
    seconds of sleeping in total. Delay before retry *n* (1-based) is
    ``min(max_delay, base_delay * 2**(n-1)) + uniform(0, jitter)``, or the
    server's ``Retry-After`` when that is longer."""

    tries: int = 5
    max_wait: float = 60.0
    base_delay: float = 1.0
    max_delay: float = 32.0
    jitter: float = 1.0

    def delay(self, retry: int, rng: Callable[[], float]) -> float:
        return min(self.max_delay, self.base_delay * 2 ** (retry - 1)) + rng() * self.jitter


@dataclass
class RequestStats:
    """What went over the wire (cumulative for one client)."""

    reads: int = 0
    writes: int = 0
    retries: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    waited: float = 0.0
    #: One line per request that reached Google: "GET spreadsheets.get 200".
    log: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return self.reads + self.writes

    def as_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "reads": self.reads,
            "writes": self.writes,
            "retries": self.retries,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
        }


def describe(method: str, url: str) -> str:
    """Human words for one API call, for messages ("reading the spreadsheet")."""
    method = method.upper()
    path = url.split("?", 1)[0]
    if path.startswith(DRIVE_API) or "/drive/" in path:
        if path.endswith("/permissions"):
            return "sharing the spreadsheet"
        if method == "POST":
            return "creating a file in Google Drive"
        return "reading Google Drive"
    if path.endswith(":batchUpdate"):
        return "writing to the spreadsheet"
    if "/values" in path:
        return "reading cell values"
    if method == "POST" and path.rstrip("/").endswith("/spreadsheets"):
        return "creating the spreadsheet"
    return "reading the spreadsheet"


class CrmHTTPClient(HTTPClient):
    """gspread's HTTP client with bounded retries, accounting and clear errors.

    ``auth`` is a google-auth credentials object (gspread builds an
    ``AuthorizedSession`` from it); or pass ``session`` (tests mount the
    offline stand-in on a plain :class:`requests.Session`) with ``auth=None``.
    ``account_email``/``account_kind`` ("service_account" or "user") are only
    used to write better messages.
    """

    def __init__(
        self,
        auth: Any = None,
        session: Session | None = None,
        *,
        account_email: str | None = None,
        account_kind: str | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: Callable[[], float] | None = None,
        timeout: float | tuple[float, float] | None = (10.0, 60.0),
    ) -> None:
        if auth is None and session is None:
            session = requests.Session()
        super().__init__(auth, session)  # type: ignore[arg-type]
        self.account_email = account_email
        self.account_kind = account_kind
        self.policy = policy or RetryPolicy()
        self.sleep = sleep or time.sleep
        self.rng = rng or random.random
        self.stats = RequestStats()
        #: Writes Google answered with success (so a later failure no longer means "nothing written").
        self.writes_done = 0
        self.set_timeout(timeout)

    # -- the one place ----------------------------------------------------
    def request(  # type: ignore[override]
        self,
        method: str,
        endpoint: str,
        params: MutableMapping[str, Any] | None = None,
        data: bytes | None = None,
        json: Mapping[str, Any] | None = None,  # noqa: A002 - gspread's name
        files: Any = None,
        headers: MutableMapping[str, str] | None = None,
        *,
        what: str | None = None,
        idempotent: bool = True,
    ) -> Response:
        """Send one API request; retry transient failures; raise CrmErrors.

        ``idempotent=False`` (creating a spreadsheet) is not re-sent after a
        timeout *after* the request left (it may have been carried out).
        """
        what = what or describe(method, endpoint)
        if json is not None:
            # Send UTF-8 rather than requests' ASCII escapes: Cyrillic costs 2 bytes
            # a letter instead of 6, which matters against the 2 MB payload advice.
            data = encode_json(json)
            headers = {**(headers or {}), "Content-Type": "application/json; charset=UTF-8"}
        policy = self.policy
        waited = 0.0
        attempt = 0
        in_doubt = False  # a write whose answer was lost: Google may have applied it
        while True:
            attempt += 1
            status: int | None = None
            error: dict[str, Any] | None = None
            retry_after: float | None = None
            try:
                response = self.session.request(
                    method=method,
                    url=endpoint,
                    params=params,
                    data=data,
                    files=files,
                    headers=headers,
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                problem = _transport_problem(exc)
                if problem is None:
                    raise GoogleError(f"could not send the request while {what}: {_short(str(exc))}") from None
                self._count(method, None)
                in_doubt = in_doubt or method.upper() != "GET"
                sent = not isinstance(exc, requests.ConnectionError)  # a read timeout: it left
                if sent and not idempotent:
                    raise GoogleError(
                        f"Google did not answer in time while {what}; it may or may not have been "
                        "done. Check your Google Drive before running the command again."
                    ) from None
            except Exception as exc:  # google-auth refresh failures and the like
                converted = _auth_failure(exc, self)
                if converted is None:
                    raise
                if not isinstance(converted, _Transient):
                    raise converted from None
                problem = str(converted)
                self._count(method, None)
            else:
                self._count(method, response)
                if response.ok:
                    if method.upper() != "GET":
                        self.writes_done += 1
                    return response
                status, error = response.status_code, _error_body(response)
                if not _retryable(status, error):
                    raise self._outcome(convert_error(status, error, self, endpoint, what), in_doubt) from None
                problem = f"HTTP {status} {_status_text(status, error)}"
                retry_after = _retry_after(response)
            # -- a transient failure: wait and try again, within bounds
            if attempt >= policy.tries:
                raise self._outcome(self._gave_up(what, problem, attempt, waited, status, error), in_doubt)
            delay = policy.delay(attempt, self.rng)
            if retry_after is not None:
                delay = max(delay, retry_after)
            if waited + delay > policy.max_wait:
                raise self._outcome(
                    self._gave_up(what, problem, attempt, waited, status, error, retry_after=retry_after), in_doubt
                )
            log.info("%s: %s; retrying in %.1f s (try %d of %d)", what, problem, delay, attempt + 1, policy.tries)
            self.stats.retries += 1
            self.stats.waited += delay
            waited += delay
            self.sleep(delay)

    # -- helpers ------------------------------------------------------------
    def _outcome(self, exc: GoogleError, in_doubt: bool) -> GoogleError:
        """Say what a failed request left behind (``exc.outcome`` and the message)."""
        if in_doubt:
            exc.outcome = "unknown"
            exc.args = (
                f"{exc} The write may or may not have reached Google before its answer was lost: "
                "the spreadsheet is either fully updated or untouched (a write is applied all or "
                "nothing), never half-written; running the command again is safe.",
            )
        elif not self.writes_done:
            exc.outcome = "untouched"
            exc.args = (f"{exc} Nothing was written.",)
        return exc

    def _count(self, method: str, response: Response | None) -> None:
        stats = self.stats
        if method.upper() == "GET":
            stats.reads += 1
        else:
            stats.writes += 1
        if response is not None:
            body = response.request.body if response.request is not None else None
            stats.bytes_sent += len(body) if body else 0
            stats.bytes_received += len(response.content or b"")
            stats.log.append(
                f"{method.upper()} {response.request.path_url if response.request else ''} {response.status_code}"
            )

    def _gave_up(
        self,
        what: str,
        problem: str,
        tries: int,
        waited: float,
        status: int | None,
        error: Mapping[str, Any] | None,
        retry_after: float | None = None,
    ) -> GoogleError:
        span = f"{tries} tr{'y' if tries == 1 else 'ies'} over {waited:.0f} s"
        if status == 429 or (status == 403 and error and _reasons(error) & _RETRY_403_REASONS):
            later = f" (Google asked to wait {retry_after:.0f} s more)" if retry_after else ""
            return QuotaError(
                f"Google's request quota is used up ({problem}) while {what}, after {span}{later}. "
                "The Sheets API allows 60 reads and 60 writes per minute per user; wait a minute and "
                "run the command again (or raise the quota in the Google Cloud console)."
            )
        return GoogleError(
            f"Google kept failing while {what} ({problem}) after {span}. "
            "This is usually temporary on Google's side or a network problem; run the command again "
            "in a few minutes."
        )

    # -- conveniences used by the backend ----------------------------------------
    def get_json(self, url: str, params: MutableMapping[str, Any] | None = None, **kw: Any) -> Any:
        return self.request("get", url, params=params, **kw).json()

    def post_json(
        self, url: str, body: Mapping[str, Any], params: MutableMapping[str, Any] | None = None, **kw: Any
    ) -> Any:
        return self.request("post", url, params=params, json=body, **kw).json()


class BadRequestError(GoogleError):
    """Google answered 400: the request was invalid (``google_message`` says why)."""

    def __init__(self, message: str, google_message: str = "") -> None:
        super().__init__(message)
        self.google_message = google_message


class _Transient(Exception):
    """A google-auth transport failure that is worth retrying."""


def _auth_failure(exc: Exception, client: CrmHTTPClient) -> Exception | None:
    try:
        from google.auth import exceptions as gax
    except ImportError:  # pragma: no cover - google-auth is a dependency
        return None
    if isinstance(exc, gax.RefreshError):
        who = f" for {client.account_email}" if client.account_email else ""
        detail = str(exc.args[0]) if exc.args else str(exc)
        hint = (
            "the service account key may have been deleted or disabled in the Google Cloud console: "
            "create a new JSON key"
            if client.account_kind == "service_account"
            else "your saved login may have expired or been revoked: delete "
            "~/.config/gspread/authorized_user.json and log in again"
        )
        return AuthError(f"Google refused the credentials{who} ({_short(detail)}); {hint}. See {SETUP_DOC}.")
    if isinstance(exc, gax.TransportError):
        return _Transient("could not reach Google's sign-in service")
    if isinstance(exc, gax.DefaultCredentialsError):
        return AuthError(f"{exc}. See {SETUP_DOC}.")
    return None


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_body(response: Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"code": response.status_code, "message": _short(response.text or response.reason or "")}
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error
    if isinstance(error, str):  # OAuth-style {"error": "invalid_grant", "error_description": ...}
        return {"code": response.status_code, "message": body.get("error_description") or error}
    return {"code": response.status_code, "message": _short(response.text)}


def _reasons(error: Mapping[str, Any]) -> set[str]:
    out = {str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict) and e.get("reason")}
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            out.add(str(detail["reason"]))
    return out


def _status_text(code: int, error: Mapping[str, Any]) -> str:
    if error.get("status"):
        return str(error["status"]).replace("_", " ")
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def _retryable(code: int, error: Mapping[str, Any]) -> bool:
    if code in _RETRY_STATUS:
        return True
    # Drive's per-user rate limits arrive as 403 usageLimits/rateLimitExceeded;
    # storageQuotaExceeded (same domain!) is not a rate limit and is never retried.
    return code == 403 and bool(_reasons(error) & _RETRY_403_REASONS)


def _retry_after(response: Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_SPREADSHEET_ID = re.compile(r"/spreadsheets/([A-Za-z0-9_-]+)|/files/([A-Za-z0-9_-]+)")
_PROJECT = re.compile(r"project[ _:]*(?:number[ _:]*)?(\d{3,})", re.I)


def _target(url: str) -> str:
    match = _SPREADSHEET_ID.search(url.split("?", 1)[0])
    return (match.group(1) or match.group(2)) if match else ""


def convert_error(
    code: int, error: Mapping[str, Any], client: CrmHTTPClient | None, url: str, what: str
) -> GoogleError:
    """Google's error answer → the CrmError the person can act on."""
    message = _short(str(error.get("message") or ""))
    reasons = _reasons(error)
    email_addr = client.account_email if client else None
    kind = client.account_kind if client else None
    target = _target(url)
    sheet = f"spreadsheet {target}" if target else "the spreadsheet"
    is_drive = "/drive/" in url
    if code == 401:
        hint = (
            "check that the service account key file is current (keys can be deleted in the Cloud console)"
            if kind == "service_account"
            else "log in again (delete ~/.config/gspread/authorized_user.json to force a new login)"
        )
        return AuthError(f"Google rejected the credentials while {what} (401: {message}); {hint}. See {SETUP_DOC}.")
    if code == 403:
        if "storageQuotaExceeded" in reasons:
            who = f"the service account {email_addr}" if email_addr and kind != "user" else "this account"
            return StorageQuotaError(
                f'Google Drive refused to create a file for {who}: "{message}". A service account owns no '
                "Drive storage, so it cannot create spreadsheets (not even in a folder shared with it). "
                "Create an empty spreadsheet in the browser (sheets.new), share it with "
                f"{email_addr or 'the service account e-mail'} as Editor, then run "
                "`sheets-crm init --google --into URL` to lay the CRM out inside it. "
                "(Or run `init --google` with your own OAuth login.)"
            )
        if (
            reasons & {"accessNotConfigured", "SERVICE_DISABLED"}
            or "has not been used in project" in message
            or "it is disabled" in message
        ):
            api = _api_name(error, url)
            project = _project(error)
            link = _activation_url(error, api, project)
            in_project = f" for Google Cloud project {project}" if project else " in your Google Cloud project"
            return ApiDisabledError(
                f"The {api} is not enabled{in_project}. Enable it at {link} "
                "(the CRM needs both the Google Sheets API and the Google Drive API), wait a minute, "
                "and run the command again."
            )
        if is_drive and "insufficientFilePermissions" in reasons:
            return NotSharedError(
                f"{'The service account ' + email_addr if email_addr else 'This account'} may not share "
                f"{sheet}: only its owner or an editor with sharing rights can. Share it from the browser instead."
            )
        if email_addr and kind != "user":
            return NotSharedError(
                f"No access to {sheet} ({message}). Share it with the service account: open the spreadsheet, "
                f"click Share and add {email_addr} as Editor. See {SETUP_DOC}."
            )
        who = f"the Google account {email_addr}" if email_addr else "the Google account you logged in with"
        return NotSharedError(
            f"No access to {sheet} ({message}). Ask its owner to share it with {who} as Editor, "
            f"or check the URL/id. See {SETUP_DOC}."
        )
    if code == 404:
        share = f" and that it is shared with {email_addr}" if email_addr else ""
        return NotSharedError(f"{sheet.capitalize()} was not found: check the URL/id{share}.")
    if code == 400:
        return BadRequestError(f"Google rejected the request while {what} (400: {message}).", message)
    if code == 429:
        return QuotaError(f"Google's request quota is used up while {what}: wait a minute and run again ({message}).")
    return GoogleError(f"Google answered HTTP {code} while {what}: {message or 'no details'}.")


def _api_name(error: Mapping[str, Any], url: str) -> str:
    service = ""
    for detail in error.get("details") or []:
        if isinstance(detail, dict):
            service = (detail.get("metadata") or {}).get("service", "") or service
    text = f"{service} {error.get('message', '')}".lower()
    if "drive" in text:
        return "Google Drive API"
    if "sheets" in text:
        return "Google Sheets API"
    return "Google Drive API" if "/drive/" in url else "Google Sheets API"


def _project(error: Mapping[str, Any]) -> str | None:
    for detail in error.get("details") or []:
        if isinstance(detail, dict):
            consumer = (detail.get("metadata") or {}).get("consumer", "")
            if consumer.startswith("projects/"):
                return consumer.split("/", 1)[1]
    match = _PROJECT.search(str(error.get("message", "")))
    return match.group(1) if match else None


def _activation_url(error: Mapping[str, Any], api: str, project: str | None) -> str:
    for detail in error.get("details") or []:
        if isinstance(detail, dict):
            url = (detail.get("metadata") or {}).get("activationUrl")
            if url:
                return url
    service = "drive.googleapis.com" if "Drive" in api else "sheets.googleapis.com"
    suffix = f"?project={project}" if project else ""
    return f"https://console.developers.google.com/apis/api/{service}/overview{suffix}"


def encode_json(body: Any) -> bytes:
    """A JSON body as it goes on the wire (compact UTF-8; NaN refused like requests)."""
    return _json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def body_size(body: Any) -> int:
    """Bytes of a JSON body as :meth:`CrmHTTPClient.request` sends it."""
    return len(encode_json(body))


def _transport_problem(exc: Exception) -> str | None:
    """Words for a retryable transport failure; None when it is not one."""
    if isinstance(exc, requests.ConnectTimeout):
        return "timed out connecting to Google"
    if isinstance(exc, requests.Timeout):
        return "timed out waiting for Google's answer"
    if isinstance(exc, requests.ConnectionError):
        return "lost the connection to Google"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the answer from Google was cut off"
    return None
