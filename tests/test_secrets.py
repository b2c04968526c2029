"""Secrets never print: not in output, logs or exception text, raw or encoded, whole or in part.

One known secret goes everywhere a secret can go (the SMTP password's variable, a password
typed into the wrong key, a credentials file's private key), then the command line is run the
way a person would, against a hostile SMTP server that quotes the AUTH line back.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from typer.testing import CliRunner, Result

from sheets_crm.backends.google.auth import load_account
from sheets_crm.cli.main import app
from sheets_crm.errors import AuthError

SECRET = "Qz7-horse!Battery#staple"  # not a variable name: it may also be typed into password_env
SHEET_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd"
PEM = f"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC{SECRET}\n-----END PRIVATE KEY-----\n"


def forbidden(secret: str) -> set[str]:
    """The secret, its base64 forms (alone, and as AUTH PLAIN sends it), and every 8-character piece of each."""
    forms = [
        secret,
        base64.b64encode(secret.encode()).decode(),
        base64.b64encode(b"\0robot\0" + secret.encode()).decode(),
    ]
    return {form[i : i + 8] for form in forms for i in range(len(form) - 7)}


def leaks(text: str, secret: str = SECRET) -> list[str]:
    return sorted(piece for piece in forbidden(secret) if piece in text)


def everything_said(result: Result, caplog: pytest.LogCaptureFixture) -> str:
    # every log record but the hostile test server's own ("mail.log"), which logs what it was sent
    logged = [f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records if r.name != "mail.log"]
    parts = [result.output, result.stderr, *logged]
    if result.exception is not None:
        parts.append("".join(traceback.format_exception(result.exception)))
    return "\n".join(parts)


# --------------------------------------------------------------------------- a hostile SMTP server


def _quote_the_auth_line(server, session, envelope, mechanism, auth_data):
    blob = base64.b64encode(b"\0" + auth_data.login + b"\0" + auth_data.password).decode()
    return AuthResult(success=False, handled=False, message=f"535 5.7.8 rejected: AUTH {mechanism} {blob}")


class _Accept:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        return "250 OK"


@contextmanager
def hostile_smtp_server() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(
        _Accept(), hostname="127.0.0.1", port=port, authenticator=_quote_the_auth_line, auth_require_tls=False
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


@pytest.fixture
def crm(make_workbook) -> Path:
    return make_workbook(
        [["Acme", "Bob", "+7 916 000-00-01", "", "Proposal", "Anna", "", ""]],
        [["Acme", "2026-11-22", "Call back", "Planned", "", "Anna"]],
    )


def write_config(folder: Path, port: int, *, password_env: str = "SHEETS_CRM_SMTP_PASSWORD") -> Path:
    path = folder / "sheets-crm.toml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(
        'spreadsheets = ["crm.xlsx"]\ntime_zone = "UTC"\n'
        f'[digest]\nenabled = true\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nstarttls = false\n'
        f'username = "robot"\npassword_env = "{password_env}"\n'
        'from = "crm@studio.example"\nto_team = ["team@studio.example"]\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def service_account_file(folder: Path, private_key: object) -> Path:
    path = folder / "service-account.json"
    info = {
        "type": "service_account",
        "project_id": "studio-crm",
        "client_email": "robot@studio-crm.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
        "private_key_id": "abc123",
        "private_key": private_key,
    }
    path.write_text(json.dumps(info), encoding="utf-8")
    path.chmod(0o600)
    return path


# --------------------------------------------------------------------------- leak (c): key material


@pytest.mark.parametrize(
    "private_key",
    [PEM.splitlines(), {"pem": PEM}, PEM.replace("-----BEGIN", "-----BEGlN")],
    ids=["list", "table", "broken-pem"],
)
def test_an_unusable_private_key_is_never_quoted(tmp_path, private_key):
    key_file = service_account_file(tmp_path, private_key)
    with pytest.raises(AuthError) as info:
        load_account(key_file, env={})
    message = str(info.value)
    assert f"The private key in {key_file} (--credentials) cannot be used" in message
    assert "Download a new JSON key for robot@studio-crm.iam.gserviceaccount.com" in message
    assert "BEGIN" not in message and "MIIEvQ" not in message and not leaks(message)
    assert ("not one piece of text" in message) == (not isinstance(private_key, str))


# --------------------------------------------------------------------------- the general test


def test_the_secret_never_appears_anywhere_through_the_command_line(runner, tmp_path, crm, caplog, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-user-config"))
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("SHEETS_CRM_SMTP_PASSWORD", SECRET)
    key_file = service_account_file(tmp_path, PEM.splitlines())
    caplog.set_level(logging.DEBUG)

    with hostile_smtp_server() as port:
        config = write_config(tmp_path, port)
        shown = runner.invoke(app, ["config", "show", "--config", str(config), "--json"])
        shown_text = runner.invoke(app, ["config", "show", "--config", str(config), "--credentials", str(key_file)])
        sent = runner.invoke(
            app, ["digest", str(crm), "--send", "--config", str(config), "--today", "2026-11-22", "-v"]
        )
    mistaken = write_config(tmp_path / "mistake", port, password_env=SECRET)  # the password in the wrong key
    mistaken_show = runner.invoke(app, ["config", "show", "--config", str(mistaken)])
    bad_key = runner.invoke(
        app, ["sync", SHEET_ID, "--credentials", str(key_file), "--today", "2026-11-22", "--config", str(config)]
    )

    # each command did what it should, so the absence of the secret means something
    assert shown.exit_code == 0 and json.loads(shown.stdout)["digest"]["password"] == (
        "set in $SHEETS_CRM_SMTP_PASSWORD"
    )
    assert shown_text.exit_code == 0 and str(key_file) in shown_text.stdout
    assert sent.exit_code == 1 and "refused the login for 'robot' (535 5.7.8 rejected: AUTH PLAIN ***" in sent.stderr
    assert mistaken_show.exit_code == 1 and "does not look like an environment variable name" in mistaken_show.stderr
    assert bad_key.exit_code == 1 and "cannot be used (not one piece of text)" in bad_key.stderr
    for result in (shown, shown_text, sent, mistaken_show, bad_key):
        said = everything_said(result, caplog)
        assert not leaks(said), (result.output, leaks(said))
    assert "BEGIN PRIVATE KEY" not in everything_said(bad_key, caplog)
