"""The transport: a ``requests`` adapter answering Google's hosts from memory.

Mount it on a ``requests.Session`` (or let :meth:`Transport.client` build a
gspread client) and every call to ``sheets.googleapis.com`` /
``www.googleapis.com`` is routed (by the discovery documents), validated,
counted, perhaps failed on purpose (:mod:`.faults`), and handed to the handler
its API package registered — :mod:`google_standin.sheets.api` and
:mod:`google_standin.drive.api`, assembled by :class:`google_standin.FakeGoogle`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import io
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit

import requests
from google.auth.credentials import Credentials
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from . import fieldmask
from .discovery import BodyValidator, Method, route, validate_query
from .errors import FakeNotImplemented, GoogleError
from .faults import Fault, FaultPlan, Quota, method_matches
from .stats import LogEntry, RequestInfo, Stats

if TYPE_CHECKING:  # pragma: no cover
    from ..state import State

__all__ = ["Call", "FakeCredentials", "Handler", "Hook", "MaskCheck", "Transport"]

SHEETS_ORIGIN = "https://sheets.googleapis.com/"
GOOGLEAPIS_ORIGIN = "https://www.googleapis.com/"

Hook = Callable[..., Any]


@dataclass
class Call:
    """One decoded request as handlers see it."""

    state: State
    method: Method
    path: dict[str, str]
    query: dict[str, Any]
    body: Any
    extras: dict[str, Any] = field(default_factory=dict)


#: An endpoint: a decoded request in, ``(status, json)`` out (errors raised as GoogleError).
Handler = Callable[[Call], tuple[int, Any]]
#: Checks a ``fields`` mask against a response schema (API-specific error shape); None = no mask.
MaskCheck = Callable[[Call, str], "fieldmask.Tree | None"]


class FakeCredentials(Credentials):
    """Always-valid google-auth credentials, so gspread / AuthorizedSession need no real login."""

    def __init__(self, email: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.token = "fake-access-token"
        self.expiry = None
        self._email = email

    @property
    def service_account_email(self) -> str:
        return self._email

    def refresh(self, request: Any) -> None:
        self.token = "fake-access-token"


class Transport(BaseAdapter):
    """The adapter: routing, validation, stats, faults, quotas, hooks and HTTP responses.

    Subclasses fill :attr:`handlers` (method id -> endpoint), :attr:`body_roots`
    and :attr:`mask_checks` from the API packages.

    Args:
        state: the world the handlers work on.
        latency: seconds slept per request (simulated network time).
        quota_per_minute: per-user read and write budgets per simulated minute
            for Sheets (None = unlimited); excess answers 429.
        validate: check bodies and query parameters against the discovery documents.
        keep_log: record every request in :attr:`log` / :attr:`exchanges`.
        pretty_json: indent response bodies like Google's default
            (``prettyPrint=true``). Off by default because it is much slower;
            a request's own ``prettyPrint`` parameter always wins.
            :attr:`stats` ``bytes_received`` counts the bytes actually sent.
    """

    handlers: ClassVar[Mapping[str, Handler]] = {}
    #: Name of the request-body field in Google's error paths ("data.values"), per method id.
    body_roots: ClassVar[Mapping[str, str]] = {}
    #: How each API (by name: "sheets", "drive") checks a ``fields`` mask.
    mask_checks: ClassVar[Mapping[str, MaskCheck]] = {}

    def __init__(
        self,
        state: State,
        *,
        latency: float = 0.0,
        quota_per_minute: int | None = None,
        validate: bool = True,
        keep_log: bool = True,
        pretty_json: bool = False,
    ) -> None:
        super().__init__()
        self.latency = latency
        self.validate = validate
        self.keep_log = keep_log
        self.pretty_json = pretty_json
        self.state = state
        self.stats = Stats()
        self.log: list[LogEntry] = []
        self.exchanges: list[RequestInfo] = []
        self.faults = FaultPlan()
        self._clock_offset = 0.0
        self.quota = Quota(quota_per_minute, self.clock) if quota_per_minute else None
        self._lock = threading.RLock()
        self._number = 0
        self._every: list[Hook] = []
        self._scheduled: list[tuple[int, str | None, Hook]] = []
        self._method_counts: Counter[str] = Counter()

    # -- identity ---------------------------------------------------------------------------
    @property
    def identity(self) -> str:
        return self.state.identity

    @property
    def account(self) -> str:
        return self.state.account

    # -- wiring into requests / gspread --------------------------------------------------------
    def mount(self, session: requests.Session) -> requests.Session:
        """Route this session's Google API traffic to the fake."""
        session.mount(SHEETS_ORIGIN, self)
        session.mount(GOOGLEAPIS_ORIGIN, self)
        return session

    def session(self) -> requests.Session:
        return self.mount(requests.Session())

    def credentials(self) -> FakeCredentials:
        return FakeCredentials(self.identity)

    def client(self, http_client: type | None = None) -> Any:
        """A ``gspread.Client`` wired to the fake (``http_client=gspread.BackOffHTTPClient`` for retries)."""
        import gspread

        client = gspread.Client(auth=self.credentials(), http_client=http_client or gspread.HTTPClient)
        self.mount(client.http_client.session)
        return client

    @contextlib.contextmanager
    def patch(self) -> Iterator[Self]:
        """Mount the fake on every ``requests.Session`` created inside the block.

        Lets code that builds its own client (``gspread.authorize(creds)``) talk
        to the fake; pair it with :meth:`credentials`.
        """
        original = requests.Session.__init__
        fake = self

        def init(session: requests.Session, *args: Any, **kwargs: Any) -> None:
            original(session, *args, **kwargs)
            fake.mount(session)

        requests.Session.__init__ = init  # type: ignore[method-assign, assignment]
        try:
            yield self
        finally:
            requests.Session.__init__ = original  # type: ignore[method-assign]

    # -- clock (for quotas) ----------------------------------------------------------------------
    def clock(self) -> float:
        return time.monotonic() + self._clock_offset

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward (e.g. past a quota minute) without sleeping."""
        self._clock_offset += seconds

    # -- faults ------------------------------------------------------------------------------------
    def inject(
        self,
        method: str | None = None,
        status: int = 429,
        times: int | None = 1,
        retry_after: float | None = None,
        *,
        at: int | None = None,
        body: dict[str, Any] | None = None,
        after_apply: bool = False,
    ) -> Fault:
        """Answer matching requests with an error status (429 carries Google's RESOURCE_EXHAUSTED body).

        ``after_apply=True`` serves the request first and then answers the
        error: a write Google applied whose success never reached the caller
        (a 5xx from a proxy, a reply lost on the way back).
        """
        return self.faults.add(Fault("status", method, status, times, at, retry_after, body, after_apply=after_apply))

    def inject_timeout(
        self,
        method: str | None = None,
        times: int | None = 1,
        *,
        at: int | None = None,
        after_apply: bool = False,
        applied: bool = False,
    ) -> Fault:
        """Raise ``requests.exceptions.ReadTimeout``; ``after_apply=True`` serves the request first (lost response).

        ``applied`` is the older name of ``after_apply``.
        """
        return self.faults.add(Fault("timeout", method, 0, times, at, after_apply=after_apply or applied))

    def inject_connection_error(
        self, method: str | None = None, times: int | None = 1, *, at: int | None = None, after_apply: bool = False
    ) -> Fault:
        """Raise ``requests.exceptions.ConnectionError``: before the request reaches the fake, or after it
        was served when ``after_apply=True`` (the connection dropped while the answer was on its way)."""
        return self.faults.add(Fault("connection", method, 0, times, at, after_apply=after_apply))

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- hooks ---------------------------------------------------------------------------------------
    def before_request(self, callback: Hook) -> None:
        """Run ``callback(info)`` (or ``callback()``) before every request is served."""
        self._every.append(callback)

    def on_request(self, n: int, callback: Hook, *, method: str | None = None) -> None:
        """Run ``callback`` once, just before the ``n``-th request (1-based).

        With ``method``, count only requests of that method (``"values.batchGet"``),
        e.g. "a person edits the sheet right before the tool's first write".
        """
        self._scheduled.append((n, method, callback))

    # -- stats -----------------------------------------------------------------------------------------
    def reset_stats(self) -> None:
        """Zero the counters and forget the log (state and faults are kept)."""
        with self._lock:
            self.stats = Stats()
            self.log.clear()
            self.exchanges.clear()

    def calls(self, method: str | None = None) -> list[LogEntry]:
        """Logged requests of one method (full id or dotted suffix)."""
        return [e for e in self.log if method_matches(method, e.method_id)]

    # -- the transport ----------------------------------------------------------------------------------
    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        started = time.perf_counter()
        with self._lock:
            status, payload, headers = self._serve(request)
        pretty = self.pretty_json
        flag = parse_qs(urlsplit(request.url or "").query).get("prettyPrint")
        if flag:
            pretty = flag[-1].lower() != "false"
        if self.latency:
            read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
            if read_timeout is not None and self.latency > read_timeout:
                time.sleep(read_timeout)
                raise requests.exceptions.ReadTimeout(f"FakeGoogle: latency {self.latency}s > timeout", request=request)
            time.sleep(self.latency)
        return self._response(request, status, payload, headers, time.perf_counter() - started, pretty)

    def close(self) -> None:
        pass

    def _serve(self, request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
        self._number += 1
        number = self._number
        parts = urlsplit(request.url or "")
        base = f"{parts.scheme}://{parts.netloc}{parts.path}"
        query = parse_qs(parts.query, keep_blank_values=True)
        raw = request.body or b""
        raw_bytes = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        try:
            method, path_params = route(request.method or "GET", base)
        except GoogleError as err:
            self._count(number, None, request, query, raw_bytes, None, err.code, err.body)
            return err.code, err.body, err.headers
        body_json: Any = None
        bad_json: str | None = None
        try:
            body_json = json.loads(raw_bytes) if raw_bytes.strip() else None
        except ValueError as exc:
            body_json, bad_json = raw_bytes.decode("utf-8", "replace"), str(exc)
        info = RequestInfo(number, method.id, (request.method or "GET").upper(), request.url or "", query, body_json)
        self._run_hooks(info)
        fault = self.faults.pick(number, method.id)
        if fault is not None and fault.kind != "status" and not fault.after_apply:
            self._count(number, method, request, query, raw_bytes, info, None, None, fault=True)
            _raise_transport_fault(fault, request)
        status, payload, headers = self._answer(method, path_params, query, body_json, bad_json, fault)
        self._count(number, method, request, query, raw_bytes, info, status, payload, fault=fault is not None)
        if fault is not None and fault.kind != "status":
            _raise_transport_fault(fault, request)
        return status, payload, headers

    def _answer(
        self,
        method: Method,
        path: dict[str, str],
        query: dict[str, list[str]],
        body: Any,
        bad_json: str | None,
        fault: Fault | None,
    ) -> tuple[int, Any, dict[str, str]]:
        """Serve one routed request; a status fault answers instead (before or after it is applied)."""
        status_fault = fault if fault is not None and fault.kind == "status" else None
        try:
            if status_fault is not None and not status_fault.after_apply:
                raise status_fault.error(method.is_read)
            self._charge_quota(method)
            if bad_json is not None:
                raise GoogleError.bad_request(f"Invalid JSON payload received. {bad_json}.", violation=True)
            status, payload = self._dispatch(method, path, query, body)
            headers: dict[str, str] = {}
        except GoogleError as err:
            status, payload, headers = err.code, err.body, err.headers
        if status_fault is not None and status_fault.after_apply:
            # The work is done (or failed on its own); the caller hears only the fault.
            late = status_fault.error(method.is_read)
            return late.code, late.body, late.headers
        return status, payload, headers

    def _charge_quota(self, method: Method) -> None:
        if self.quota is None or method.api.name != "sheets":
            return
        try:
            self.quota.charge(method.is_read)
        except GoogleError:
            self.stats.quota_rejections += 1
            raise

    def _dispatch(
        self, method: Method, path: dict[str, str], query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        handler = self.handlers.get(method.id)
        if handler is None:
            raise FakeNotImplemented(method.id)
        typed_query = (
            validate_query(method, query)
            if self.validate
            else {k: (v if len(v) > 1 or k == "ranges" else v[-1]) for k, v in query.items()}
        )
        if method.request_ref and self.validate:
            body = BodyValidator(method.api).validate(
                body if body is not None else {}, method.request_ref, self.body_roots.get(method.id, "")
            )
        call = Call(self.state, method, path, typed_query, body)
        tree = None
        check = self.mask_checks.get(method.api.name)
        if typed_query.get("fields") and method.response_ref and check is not None:
            # Every method takes ``fields``; a bad mask fails before anything changes.
            tree = check(call, method.response_ref)
        status, payload = handler(call)
        if tree is not None and isinstance(payload, dict) and status < 300:
            payload = fieldmask.filter_response(payload, tree)
        return status, payload

    def _run_hooks(self, info: RequestInfo) -> None:
        self._method_counts[info.method_id] += 1
        for entry in list(self._scheduled):
            n, method, callback = entry
            if method is None:
                seen = info.number
            elif method_matches(method, info.method_id):
                seen = sum(c for mid, c in self._method_counts.items() if method_matches(method, mid))
            else:
                continue
            if seen == n:
                self._scheduled.remove(entry)
                _call(callback, info)
        for callback in list(self._every):
            _call(callback, info)

    def _count(
        self,
        number: int,
        method: Method | None,
        request: requests.PreparedRequest,
        query: dict[str, list[str]],
        raw: bytes,
        info: RequestInfo | None,
        status: int | None,
        payload: Any,
        *,
        fault: bool = False,
    ) -> None:
        st = self.stats
        mid = method.id if method else "unknown"
        st.requests += 1
        st.by_method[mid] += 1
        st.by_api[method.api.name if method else "unknown"] += 1
        if method is None or method.is_read:
            st.reads += 1
        else:
            st.writes += 1
        st.bytes_sent += len(raw)
        if status is not None:
            st.by_status[status] += 1
            if status >= 400:
                st.errors += 1
        if fault:
            st.faults += 1
        if not self.keep_log:
            return
        if info is None:
            info = RequestInfo(number, mid, (request.method or "GET").upper(), request.url or "", query, None)
        info.status, info.response = status, payload
        self.log.append(LogEntry(mid, info.url, info.body))
        self.exchanges.append(info)

    def _response(
        self,
        request: requests.PreparedRequest,
        status: int,
        payload: Any,
        headers: dict[str, str],
        elapsed: float,
        pretty: bool,
    ) -> requests.Response:
        resp = requests.Response()
        resp.status_code = status
        try:
            resp.reason = HTTPStatus(status).phrase
        except ValueError:
            resp.reason = "Unknown"
        if payload is None:
            content = b""
            resp.headers = CaseInsensitiveDict({"Content-Type": "text/html", "Content-Length": "0"})
        else:
            if pretty:
                content = json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")
            else:
                content = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            resp.headers = CaseInsensitiveDict({"Content-Type": "application/json; charset=UTF-8"})
        resp.headers.update(headers)
        resp._content = content
        resp._content_consumed = True  # type: ignore[attr-defined]
        resp.raw = io.BytesIO(content)
        resp.encoding = "utf-8"
        resp.url = request.url or ""
        resp.request = request
        resp.connection = self  # type: ignore[assignment]
        resp.elapsed = dt.timedelta(seconds=elapsed)
        with self._lock:
            self.stats.bytes_received += len(content)
        return resp


def _raise_transport_fault(fault: Fault, request: requests.PreparedRequest) -> None:
    """Raise what ``requests`` raises for a timeout or a dropped connection."""
    applied = " (request applied)" if fault.after_apply else ""
    if fault.kind == "connection":
        raise requests.exceptions.ConnectionError(f"FakeGoogle: injected connection error{applied}", request=request)
    raise requests.exceptions.ReadTimeout(f"FakeGoogle: injected read timeout{applied}", request=request)


def _call(callback: Hook, info: RequestInfo) -> None:
    try:
        wants_arg = len(inspect.signature(callback).parameters) > 0
    except (TypeError, ValueError):
        wants_arg = True
    if wants_arg:
        callback(info)
    else:
        callback()
