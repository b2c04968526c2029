"""The one place requests to Google go out: retries, accounting, error messages.

Like gspread's ``http_client.py`` (and built on it: :class:`CrmHTTPClient` is a
:class:`gspread.HTTPClient`, so gspread's own helpers such as
``values_batch_get`` and ``fetch_sheet_metadata`` go through it too), every
request of the Google backend passes through :meth:`CrmHTTPClient.request`,
which

* retries what is worth retrying — 429, 500, 502, 503, 504, 408, Drive's 403
  ``rateLimitExceeded``/``userRateLimitExceeded``, timeouts and dropped
  connections — with exponential backoff and jitter, honouring
  ``Retry-After``, bounded by a number of tries *and* a total wait. The retry
  loop is tenacity's (``tenacity.Retrying`` with this module's wait and stop
  functions): quota answers (429, Drive rate limits) may wait out a whole
  per-minute quota window (``RetryPolicy.quota_wait``, 70 s, logged while
  waiting); everything else gives up sooner (``max_wait``);
* never retries anything else: a 403 ``storageQuotaExceeded`` is not a rate
  limit (gspread's ``BackOffHTTPClient`` retries it and appears to hang);
* never blindly re-sends a write that is not idempotent (``idempotent=False``:
  it grows the grid, adds rules, creates a file) once Google may have applied
  it — a 5xx answer, a lost answer or a dropped connection: it raises with
  :attr:`~sheets_crm.errors.WriteOutcome.UNKNOWN` so the caller re-reads;
* counts requests (reads = GET, writes = everything else) and bytes;
* turns every failure into a :class:`~sheets_crm.errors.GoogleError`
  subclass whose message tells the person what to do, with the
  :class:`~sheets_crm.errors.WriteOutcome` attached (never written into the
  message).

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
import tenacity
from gspread.http_client import HTTPClient
from requests import Response, Session

from sheets_crm.errors import (
    ApiDisabledError,
    AuthError,
    GoogleError,
    NotSharedError,
    QuotaError,
    StorageQuotaError,
    WriteOutcome,
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
    """How long to keep trying. Delay before retry *n* (1-based) is
    ``min(max_delay, base_delay * 2**(n-1)) + uniform(0, jitter)``, or the
    server's ``Retry-After`` when that is longer.

    Quota answers (429, Drive's rate-limit 403s) get ``quota_tries`` attempts
    and ``quota_wait`` seconds of sleeping in total — enough to wait out
    Google's per-minute quota window (1+2+4+8+16+32 s = 63 s, plus jitter);
    every other transient failure ``tries`` attempts within ``max_wait``
    (1+2+4+8 = 15 s by default): a server or network that fails for a minute
    is better reported than waited on."""

    tries: int = 5
    max_wait: float = 60.0
    base_delay: float = 1.0
    max_delay: float = 32.0
    jitter: float = 1.0
    quota_tries: int = 8
    quota_wait: float = 70.0

    def delay(self, retry: int, rng: Callable[[], float]) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** (retry - 1)) + rng() * self.jitter)

    def bounds(self, quota: bool) -> tuple[int, float]:
        """(attempts, seconds of waiting) for a quota answer or any other transient failure."""
        return (self.quota_tries, self.quota_wait) if quota else (self.tries, self.max_wait)


class _Retry(Exception):
    """One attempt failed in a way worth another try (internal to :meth:`CrmHTTPClient.request`)."""

    def __init__(
        self,
        problem: str,
        *,
        status: int | None = None,
        error: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
        in_doubt: bool = False,
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.status = status
        self.error = error
        self.retry_after = retry_after
        #: A write Google may have applied although it did not say so.
        self.in_doubt = in_doubt

    @property
    def quota(self) -> bool:
        return self.status == 429 or (
            self.status == 403 and bool(self.error and _reasons(self.error) & _RETRY_403_REASONS)
        )


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
        super().__init__(auth, session)
        self.account_email = account_email
        self.account_kind = account_kind
        self.policy = policy or RetryPolicy()
        self.sleep = sleep or time.sleep
        self.rng = rng or random.random
        # Google compresses answers only for clients that say "gzip" in both headers.
        self.session.headers["Accept-Encoding"] = "gzip"
        agent = self.session.headers.get("User-Agent", "")
        agent = agent.decode() if isinstance(agent, bytes) else agent
        self.session.headers["User-Agent"] = f"sheets-crm (gzip) {agent}".strip()
        self.stats = RequestStats()
        #: Writes Google answered with success (so a later failure no longer means "nothing written").
        self.writes_done = 0
        self.set_timeout(timeout)

    # -- the one place ----------------------------------------------------
    def request(  # noqa: PLR0913 - gspread's signature, plus ours
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
        """Send one API request; retry transient failures (tenacity); raise CrmErrors.

        ``idempotent=False`` (creating a spreadsheet, a write that grows the
        grid or adds rules): not re-sent once Google may have carried it out —
        the error says so (``outcome`` UNKNOWN) and the caller re-reads.
        """
        what = what or describe(method, endpoint)
        if json is not None:
            # Send UTF-8 rather than requests' ASCII escapes: Cyrillic costs 2 bytes
            # a letter instead of 6, which matters against the 2 MB payload advice.
            data = encode_json(json)
            headers = {**(headers or {}), "Content-Type": "application/json; charset=UTF-8"}
        params = _compact(params)
        write = method.upper() != "GET"
        doubt = {"any": False}  # a write whose answer was lost: Google may have applied it

        def attempt() -> Response:
            try:
                return self._attempt(method, endpoint, params, data, files, headers, what, write)
            except _Retry as exc:
                doubt["any"] = doubt["any"] or exc.in_doubt
                if exc.in_doubt and not idempotent:
                    raise self._in_doubt(what, exc) from None
                raise

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retry),
            wait=self._wait,
            stop=self._stop,
            sleep=self.sleep,
            before_sleep=lambda state: self._before_sleep(state, what),
            reraise=True,
        )
        try:
            response = retrying(attempt)
        except _Retry as exc:
            tries = retrying.statistics.get("attempt_number", 1)
            gave_up = self._gave_up(what, exc, tries, float(retrying.statistics.get("idle_for", 0.0)))
            raise self._with_outcome(gave_up, doubt["any"]) from None
        except GoogleError as exc:
            raise self._with_outcome(exc, doubt["any"]) from None
        if write:
            self.writes_done += 1
        return response

    def _attempt(
        self,
        method: str,
        endpoint: str,
        params: MutableMapping[str, Any] | None,
        data: bytes | None,
        files: Any,
        headers: MutableMapping[str, str] | None,
        what: str,
        write: bool,
    ) -> Response:
        """One try: the response, or :class:`_Retry` (worth another try), or a GoogleError."""
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
            # Only a failed connect is sure not to have reached Google.
            raise _Retry(problem, in_doubt=write and not isinstance(exc, requests.ConnectTimeout)) from None
        except Exception as exc:  # google-auth refresh failures and the like
            converted = _auth_failure(exc, self)
            if converted is None:
                raise
            self._count(method, None)
            if isinstance(converted, _Transient):
                raise _Retry(str(converted)) from None  # the token refresh failed: nothing was sent
            raise converted from None
        self._count(method, response)
        if response.ok:
            return response
        status, error = response.status_code, _error_body(response)
        if not _retryable(status, error):
            raise convert_error(status, error, self, endpoint, what)
        raise _Retry(
            f"HTTP {status} {_status_text(status, error)}",
            status=status,
            error=error,
            retry_after=_retry_after(response),
            # A 5xx to a write: Google may have applied it before failing to answer.
            in_doubt=write and status >= 500,
        )

    # -- tenacity's hooks -------------------------------------------------------
    def _failure(self, state: tenacity.RetryCallState) -> _Retry:
        exc = state.outcome.exception() if state.outcome is not None else None
        assert isinstance(exc, _Retry)  # retry_if_exception_type(_Retry) let only these through
        return exc

    def _wait(self, state: tenacity.RetryCallState) -> float:
        failure = self._failure(state)
        delay = self.policy.delay(state.attempt_number, self.rng)
        return delay if failure.retry_after is None else max(delay, failure.retry_after)

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        """Stop after the policy's tries, or when the next wait would pass its budget."""
        tries, budget = self.policy.bounds(self._failure(state).quota)
        return state.attempt_number >= tries or state.idle_for + (state.upcoming_sleep or 0.0) > budget

    def _before_sleep(self, state: tenacity.RetryCallState, what: str) -> None:
        failure = self._failure(state)
        delay = state.upcoming_sleep or 0.0
        self.stats.retries += 1
        self.stats.waited += delay
        tries, budget = self.policy.bounds(failure.quota)
        if failure.quota:
            # Worth a visible message: this can last up to a minute.
            log.warning(
                "%s: Google's request quota is used up (%s); waiting %.0f s for the per-minute quota "
                "window (waited %.0f s so far, at most %.0f s)",
                what,
                failure.problem,
                delay,
                state.idle_for,
                budget,
            )
        else:
            log.info(
                "%s: %s; retrying in %.1f s (try %d of %d)",
                what,
                failure.problem,
                delay,
                state.attempt_number + 1,
                tries,
            )

    # -- helpers ------------------------------------------------------------
    def _with_outcome(self, exc: GoogleError, in_doubt: bool) -> GoogleError:
        """Attach what a failed request left behind (``exc.outcome``; the message is not touched)."""
        if exc.outcome is not None:
            return exc
        if in_doubt:
            exc.outcome = WriteOutcome.UNKNOWN
        elif not self.writes_done:
            exc.outcome = WriteOutcome.UNTOUCHED
        return exc

    @staticmethod
    def _in_doubt(what: str, failure: _Retry) -> GoogleError:
        """A non-idempotent write whose answer was lost or 5xx'd: not re-sent blindly."""
        return GoogleError(
            f"Google did not confirm the request while {what} ({failure.problem}).",
            outcome=WriteOutcome.UNKNOWN,
        )

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

    def _gave_up(self, what: str, failure: _Retry, tries: int, waited: float) -> GoogleError:
        span = f"{tries} tr{'y' if tries == 1 else 'ies'} over {waited:.0f} s"
        if failure.quota:
            later = f" (Google asked to wait {failure.retry_after:.0f} s more)" if failure.retry_after else ""
            return QuotaError(
                f"Google's request quota is used up ({failure.problem}) while {what}, after {span}{later}. "
                "The Sheets API allows 60 reads and 60 writes per minute per user; wait a minute and "
                "run the command again (or raise the quota in the Google Cloud console)."
            )
        return GoogleError(
            f"Google kept failing while {what} ({failure.problem}) after {span}. "
            "This is usually temporary on Google's side or a network problem; run the command again "
            "in a few minutes."
        )

    # -- conveniences used by the backend ----------------------------------------
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


def _compact(params: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
    """Every answer compact: ``prettyPrint=false`` (Google's default indents JSON, ~3x the bytes)."""
    out: MutableMapping[str, Any] = dict(params or {})
    out.setdefault("prettyPrint", "false")
    return out


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
                return str(consumer.split("/", 1)[1])
    match = _PROJECT.search(str(error.get("message", "")))
    return match.group(1) if match else None


def _activation_url(error: Mapping[str, Any], api: str, project: str | None) -> str:
    for detail in error.get("details") or []:
        if isinstance(detail, dict):
            url = (detail.get("metadata") or {}).get("activationUrl")
            if url:
                return str(url)
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
