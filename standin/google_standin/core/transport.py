"""FakeGoogle: an in-process Sheets v4 + Drive v3 server behind a requests adapter.

Mount it on a ``requests.Session`` (or let :meth:`FakeGoogle.client` build a
gspread client) and every call to ``sheets.googleapis.com`` /
``www.googleapis.com`` is answered from memory — with Google's URLs, validation,
response shapes and error bodies — so the gspread backend can be tested and
benchmarked with no network.
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
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from google.auth.credentials import Credentials
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from . import batch_update, drive_api, fieldmask, sheets_api
from .discovery import BodyValidator, Method, route, validate_query
from .errors import FakeNotImplemented, GoogleError
from .faults import Fault, FaultPlan, Quota, method_matches
from .helpers import SeedAndInspect
from .person import Person
from .sheets_api import Call, Handler
from .state import State
from .stats import LogEntry, RequestInfo, Stats

SHEETS_ORIGIN = "https://sheets.googleapis.com/"
GOOGLEAPIS_ORIGIN = "https://www.googleapis.com/"

DEFAULT_IDENTITY = {
    "service": "crm-bot@crm-project.iam.gserviceaccount.com",
    "user": "owner@example.com",
}

HANDLERS: dict[str, Handler] = {
    "sheets.spreadsheets.create": sheets_api.spreadsheets_create,
    "sheets.spreadsheets.get": sheets_api.spreadsheets_get,
    "sheets.spreadsheets.batchUpdate": batch_update.spreadsheets_batch_update,
    "sheets.spreadsheets.values.get": sheets_api.values_get,
    "sheets.spreadsheets.values.batchGet": sheets_api.values_batch_get,
    "sheets.spreadsheets.values.update": sheets_api.values_update,
    "sheets.spreadsheets.values.batchUpdate": sheets_api.values_batch_update,
    "sheets.spreadsheets.values.append": sheets_api.values_append,
    "sheets.spreadsheets.values.clear": sheets_api.values_clear,
    "sheets.spreadsheets.values.batchClear": sheets_api.values_batch_clear,
    "drive.files.create": drive_api.files_create,
    "drive.files.list": drive_api.files_list,
    "drive.files.get": drive_api.files_get,
    "drive.files.update": drive_api.files_update,
    "drive.files.delete": drive_api.files_delete,
    "drive.files.copy": drive_api.files_copy,
    "drive.permissions.create": drive_api.permissions_create,
    "drive.permissions.list": drive_api.permissions_list,
    "drive.permissions.get": drive_api.permissions_get,
    "drive.permissions.delete": drive_api.permissions_delete,
}

# Name of the request-body field in Google's error paths ("data.values").
BODY_ROOT = {
    "sheets.spreadsheets.values.update": "data",
    "sheets.spreadsheets.values.append": "data",
    "sheets.spreadsheets.create": "spreadsheet",
}

Hook = Callable[..., Any]


class FakeCredentials(Credentials):
    """Always-valid google-auth credentials, so gspread / AuthorizedSession need no real login."""

    def __init__(self, email: str) -> None:
        super().__init__()
        self.token = "fake-access-token"
        self.expiry = None
        self._email = email

    @property
    def service_account_email(self) -> str:
        return self._email

    def refresh(self, request: Any) -> None:
        self.token = "fake-access-token"


class FakeGoogle(BaseAdapter, SeedAndInspect):
    """In-memory Google Sheets/Drive.

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
        pretty_json: indent response bodies like Google's default
            (``prettyPrint=true``). Off by default because it is much slower;
            a request's own ``prettyPrint`` parameter always wins.
            :attr:`stats` ``bytes_received`` counts the bytes actually sent.
    """

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
        super().__init__()
        self.latency = latency
        self.validate = validate
        self.keep_log = keep_log
        self.pretty_json = pretty_json
        self.state = State(identity or DEFAULT_IDENTITY[account], account, seed)
        self.person = Person(self)
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
    def patch(self) -> Iterator[FakeGoogle]:
        """Mount the fake on every ``requests.Session`` created inside the block.

        Lets code that builds its own client (``gspread.authorize(creds)``) talk
        to the fake; pair it with :meth:`credentials`.
        """
        original = requests.Session.__init__
        fake = self

        def init(session: requests.Session, *args: Any, **kwargs: Any) -> None:
            original(session, *args, **kwargs)
            fake.mount(session)

        requests.Session.__init__ = init  # type: ignore[method-assign]
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
    ) -> Fault:
        """Answer matching requests with an error status (429 carries Google's RESOURCE_EXHAUSTED body)."""
        return self.faults.add(Fault("status", method, status, times, at, retry_after, body))

    def inject_timeout(
        self, method: str | None = None, times: int | None = 1, *, at: int | None = None, applied: bool = False
    ) -> Fault:
        """Raise ``requests.exceptions.ReadTimeout``; ``applied=True`` serves the request first (lost response)."""
        return self.faults.add(Fault("timeout", method, 0, times, at, applied=applied))

    def inject_connection_error(
        self, method: str | None = None, times: int | None = 1, *, at: int | None = None
    ) -> Fault:
        """Raise ``requests.exceptions.ConnectionError`` before the request reaches the fake."""
        return self.faults.add(Fault("connection", method, 0, times, at))

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
    def send(  # type: ignore[override]
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
        if fault is not None and fault.kind == "connection":
            self._count(number, method, request, query, raw_bytes, info, None, None, fault=True)
            raise requests.exceptions.ConnectionError("FakeGoogle: injected connection error", request=request)
        if fault is not None and fault.kind == "timeout" and not fault.applied:
            self._count(number, method, request, query, raw_bytes, info, None, None, fault=True)
            raise requests.exceptions.ReadTimeout("FakeGoogle: injected read timeout", request=request)
        try:
            if fault is not None and fault.kind == "status":
                raise fault.error(method.is_read)
            if self.quota is not None and method.api.name == "sheets":
                try:
                    self.quota.charge(method.is_read)
                except GoogleError:
                    self.stats.quota_rejections += 1
                    raise
            if bad_json is not None:
                raise GoogleError.bad_request(f"Invalid JSON payload received. {bad_json}.", violation=True)
            status, payload = self._dispatch(method, path_params, query, body_json)
            headers: dict[str, str] = {}
        except GoogleError as err:
            status, payload, headers = err.code, err.body, err.headers
        self._count(number, method, request, query, raw_bytes, info, status, payload, fault=fault is not None)
        if fault is not None and fault.kind == "timeout":
            raise requests.exceptions.ReadTimeout(
                "FakeGoogle: injected read timeout (request applied)", request=request
            )
        return status, payload, headers

    def _dispatch(
        self, method: Method, path: dict[str, str], query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        handler = HANDLERS.get(method.id)
        if handler is None:
            raise FakeNotImplemented(method.id)
        typed_query = (
            validate_query(method, query)
            if self.validate
            else {k: (v if len(v) > 1 or k == "ranges" else v[-1]) for k, v in query.items()}
        )
        if method.request_ref and self.validate:
            body = BodyValidator(method.api).validate(
                body if body is not None else {}, method.request_ref, BODY_ROOT.get(method.id, "")
            )
        call = Call(self.state, method, path, typed_query, body)
        tree = None
        if typed_query.get("fields") and method.response_ref:
            # Every method takes ``fields``; a bad mask fails before anything changes.
            check = drive_api.fields_tree if method.api.name == "drive" else sheets_api.parse_fields
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
        resp.connection = self  # type: ignore[attr-defined]
        resp.elapsed = dt.timedelta(seconds=elapsed)
        with self._lock:
            self.stats.bytes_received += len(content)
        return resp


def _call(callback: Hook, info: RequestInfo) -> None:
    try:
        wants_arg = len(inspect.signature(callback).parameters) > 0
    except (TypeError, ValueError):
        wants_arg = True
    if wants_arg:
        callback(info)
    else:
        callback()
