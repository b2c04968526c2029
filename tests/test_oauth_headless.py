"""Issue 16: an OAuth login on a server with no browser works through an SSH tunnel instead of dying.

The real google-auth-oauthlib local server runs; the test plays the person's browser (the request
Google's redirect makes through the tunnel), and only the token exchange with Google is replaced.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
import webbrowser

import pytest

from sheets_crm.backends.google import auth

CLIENT = {
    "installed": {
        "client_id": "123-abc.apps.googleusercontent.com",
        "client_secret": "not-a-secret",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "redirect_uris": ["http://localhost"],
    }
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return int(s.getsockname()[1])


def _no_browser(monkeypatch):
    def fail(*_args, **_kwargs):
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", fail)
    monkeypatch.setattr(webbrowser, "open", fail)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is for Linux/BSD")
def test_no_display_means_no_browser():
    assert not auth.browser_available({})  # a server over SSH: w3m may exist, Google's sign-in needs more
    assert not auth.browser_available({"SSH_CONNECTION": "10.0.0.2 5 10.0.0.1 22"})


def test_no_runnable_browser_means_no_browser(monkeypatch):
    _no_browser(monkeypatch)
    assert not auth.browser_available({"DISPLAY": ":0"})


def test_headless_login_through_a_tunnel(tmp_path, monkeypatch, caplog):
    _no_browser(monkeypatch)
    port = _free_port()
    monkeypatch.setenv("SHEETS_CRM_OAUTH_PORT", str(port))
    monkeypatch.setenv("DISPLAY", ":0")  # a display, but no browser to run on it: still headless
    from google_auth_oauthlib.flow import InstalledAppFlow

    exchanged: list[str] = []

    def fake_fetch_token(self, **kwargs):  # Google's token endpoint: the only part not run for real
        exchanged.append(kwargs["authorization_response"])
        self.oauth2session.token = {
            "access_token": "ya29.test",
            "refresh_token": "1//test",
            "token_type": "Bearer",
            "expires_in": 3600,
            "expires_at": time.time() + 3600,
        }
        return self.oauth2session.token

    monkeypatch.setattr(InstalledAppFlow, "fetch_token", fake_fetch_token)
    secrets = tmp_path / "credentials.json"
    secrets.write_text(json.dumps(CLIENT), encoding="utf-8")
    saved = tmp_path / "authorized_user.json"
    result: dict[str, object] = {}

    def login() -> None:
        try:
            result["account"] = auth.oauth_login(secrets, authorized_user=saved)
        except Exception as exc:  # handed to the test thread
            result["error"] = exc

    caplog.set_level(logging.WARNING, logger="sheets_crm")
    worker = threading.Thread(target=login, daemon=True)
    worker.start()
    url = None
    for _ in range(200):  # the flow logs the address before it waits
        said = [r.getMessage() for r in caplog.records if "ssh -L" in r.getMessage()]
        if said:
            url = said[0].split()[-1]
            break
        worker.join(0.05)
    assert url is not None, result
    message = [r.getMessage() for r in caplog.records if "ssh -L" in r.getMessage()][0]
    assert f"ssh -L {port}:localhost:{port}" in message and "service-account" in message
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert query["redirect_uri"] == [f"http://localhost:{port}/"]
    # the person's browser, on the far side of the tunnel, follows Google's redirect
    answer_query = urllib.parse.urlencode({"state": query["state"][0], "code": "4/test", "scope": query["scope"][0]})
    back = f"http://localhost:{port}/?{answer_query}"
    with urllib.request.urlopen(back, timeout=10) as answer:
        assert answer.status == 200
    worker.join(10)
    assert "error" not in result, result.get("error")
    account = result["account"]
    assert isinstance(account, auth.GoogleAccount) and account.kind == "user"
    assert exchanged and "code=4%2Ftest" in exchanged[0]
    stored = json.loads(saved.read_text(encoding="utf-8"))
    assert stored["refresh_token"] == "1//test"  # the next run reuses it: no login again


def test_a_saved_login_needs_no_browser_at_all(tmp_path, monkeypatch):
    _no_browser(monkeypatch)
    saved = tmp_path / "authorized_user.json"
    saved.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "123-abc.apps.googleusercontent.com",
                "client_secret": "not-a-secret",
                "refresh_token": "1//test",
            }
        ),
        encoding="utf-8",
    )
    account = auth.oauth_login(tmp_path / "missing.json", authorized_user=saved)
    assert account.kind == "user"


def test_a_busy_port_is_a_clear_failure(tmp_path, monkeypatch):
    _no_browser(monkeypatch)
    with socket.socket() as taken:
        taken.bind(("localhost", 0))
        taken.listen(1)
        monkeypatch.setenv("SHEETS_CRM_OAUTH_PORT", str(taken.getsockname()[1]))
        secrets = tmp_path / "credentials.json"
        secrets.write_text(json.dumps(CLIENT), encoding="utf-8")
        with pytest.raises(auth.AuthError, match="did not complete"):
            auth.oauth_login(secrets, authorized_user=tmp_path / "saved.json")
