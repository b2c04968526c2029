"""The morning digest: content per owner/team, and delivery to a real SMTP server on loopback."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from sheets_crm.app.config import DigestConfig, Secret
from sheets_crm.app.digest import DigestError, build_digests, deliver, guess_lang, render_text, send
from sheets_crm.core.model import Call
from sheets_crm.errors import ConfigError, CrmError

TODAY = dt.date(2025, 3, 3)
PASSWORD = "s3cret-Pa55"


def call(
    section: str,
    project: str,
    owner: str,
    *,
    days: int = 0,
    topic: str = "Follow up",
    row: int = 2,
    contact: str = "Maria",
    phone: str = "+7 999 000-00-00",
    last: str = "",
) -> Call:
    date = TODAY + dt.timedelta(days=-days if section == "overdue" else days)
    return Call(
        section=section,
        date=date,
        days_overdue=days if section == "overdue" else None,
        project=project,
        contact=contact,
        phone=phone,
        topic=topic,
        last_result=last,
        owner=owner,
        plan_row=row,
    )


CALLS = [
    call("overdue", "Acme Ltd", "Anna", days=3, topic="Send proposal", last="Asked to call back", row=5),
    call("today", "Globex", "  anna ", topic="Demo", row=6),
    call("today", "Initech", "Boris", topic="Contract", row=7),
    call("upcoming", "Umbrella", "", days=2, topic="Intro", row=8),
]


def digest_config(**changes: Any) -> DigestConfig:
    base = dict(
        enabled=True,
        smtp_host="127.0.0.1",
        smtp_port=25,
        starttls=False,
        sender="crm@studio.example",
        to_team=("team@studio.example",),
        owners={"Anna": ("anna@studio.example",), "Boris": ("boris@studio.example",), "Vera": ("vera@studio.example",)},
    )
    base.update(changes)
    return DigestConfig(**base)


# --------------------------------------------------------------------------- building


def test_one_message_per_owner_with_calls_plus_one_for_the_team():
    messages = build_digests(CALLS, digest_config(), today=TODAY, lang="en")
    by_audience = {m.audience: m for m in messages}
    assert list(by_audience) == ["Anna", "Boris", "team"]  # Vera has no calls: no message
    anna = by_audience["Anna"]
    assert anna.to == ("anna@studio.example",)
    assert anna.subject == "[CRM] Calls 2025-03-03: 1 overdue, 1 today, 0 upcoming"
    assert "Acme Ltd" in anna.text and "Globex" in anna.text  # "  anna " matches "Anna"
    assert "Initech" not in anna.text and "Umbrella" not in anna.text
    team = by_audience["team"]
    assert team.to == ("team@studio.example",)
    for project in ("Acme Ltd", "Globex", "Initech", "Umbrella"):  # the owner-less call reaches the team
        assert project in team.text


def test_text_lists_sections_in_order_with_details():
    text = render_text(CALLS, title="Team calls", lang="en")
    lines = text.splitlines()
    assert lines[0] == "Team calls"
    assert lines.index("Overdue (1)") < lines.index("Today (2)") < lines.index("Upcoming (1)")
    assert "  2025-02-28 (3 d overdue)  Acme Ltd — Send proposal" in lines
    assert "      Maria · +7 999 000-00-00 · last: Asked to call back · owner: Anna" in lines


def test_empty_digest_is_not_built_and_overdue_only_is():
    assert build_digests([], digest_config(), today=TODAY) == []
    overdue_only = [CALLS[0]]
    messages = build_digests(overdue_only, digest_config(), today=TODAY, lang="en")
    assert [m.audience for m in messages] == ["Anna", "team"]
    assert "Today (" not in messages[0].text and "Overdue (1)" in messages[0].text


def test_russian_digest_uses_russian_section_titles_and_dates():
    calls = [
        call("overdue", "Ромашка", "Анна", days=2, topic="Отправить КП"),
        call("today", "Лютик", "анна", topic="Созвон"),
        call("upcoming", "Василёк", "Анна", days=1, topic="Договор"),
    ]
    assert guess_lang(calls) == "ru" and guess_lang(CALLS) == "en"
    config = digest_config(owners={"Анна": ("anna@studio.example",)})
    (anna, team) = build_digests(calls, config, today=TODAY)  # lang "auto" guesses Russian
    assert anna.subject == "[CRM] Звонки на 03.03.2025: просрочено 1, сегодня 1, скоро 1"
    lines = anna.text.splitlines()
    assert lines[0] == "Звонки: Анна"
    assert "Просрочен (1)" in lines and "Сегодня (1)" in lines and "Скоро (1)" in lines
    assert "  01.03.2025 (просрочка 2 дн.)  Ромашка — Отправить КП" in lines
    assert "<th>Проект</th>" in anna.html
    assert build_digests(calls, config, today=TODAY, lang="en")[0].subject.startswith("[CRM] Calls")


def test_html_escapes_sheet_text():
    evil = [call("today", "<script>alert(1)</script>", "Anna", topic="a & b")]
    (anna, _team) = build_digests(evil, digest_config(), today=TODAY, lang="en")
    assert "<script>" not in anna.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in anna.html and "a &amp; b" in anna.html


def test_several_spreadsheets_are_labelled():
    (anna, *_rest) = build_digests(CALLS, digest_config(), today=TODAY, lang="en", source="north.xlsx")
    assert anna.subject.endswith("(north.xlsx)") and "Spreadsheet: north.xlsx" in anna.text


# --------------------------------------------------------------------------- a real SMTP server


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    refuse: tuple[str, ...] = ()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword) and auth_data.login == b"robot" and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


@contextmanager
def smtp_server(**kwargs: Any) -> Iterator[tuple[Handler, int]]:
    handler = Handler(refuse=kwargs.pop("refuse", ()))
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def body(message: email.message.EmailMessage, kind: str = "plain") -> str:
    return message.get_body(preferencelist=(kind,)).get_content()


def test_send_plain_smtp_delivers_each_message():
    with smtp_server() as (handler, port):
        config = digest_config(smtp_port=port)
        messages = build_digests(CALLS, config, today=TODAY, lang="en")
        assert send(messages, config) == 3
    assert [r.rcpt_tos for r in handler.received] == [
        ["anna@studio.example"],
        ["boris@studio.example"],
        ["team@studio.example"],
    ]
    anna = handler.received[0]
    assert anna.mail_from == "crm@studio.example"
    assert anna.message["Subject"] == "[CRM] Calls 2025-03-03: 1 overdue, 1 today, 0 upcoming"
    assert anna.message["To"] == "anna@studio.example"
    text = body(anna.message).splitlines()
    assert "Overdue (1)" in text and "  2025-03-03  Globex — Demo" in text
    assert "<td>Acme Ltd</td>" in body(anna.message, "html")


def test_russian_text_survives_the_trip():
    calls = [call("today", "Ромашка", "Анна", topic="Созвон по договору")]
    with smtp_server() as (handler, port):
        config = digest_config(smtp_port=port, owners={"Анна": ("anna@studio.example",)}, to_team=())
        assert deliver(type("R", (), {"calls": calls, "today": TODAY, "target": "x"})(), config) == 1
    (got,) = handler.received
    assert got.message["Subject"] == "[CRM] Звонки на 03.03.2025: просрочено 0, сегодня 1, скоро 0"
    assert "  03.03.2025  Ромашка — Созвон по договору" in body(got.message).splitlines()


def test_deliver_uses_the_workbooks_language_unless_configured():
    result = type("R", (), {"calls": CALLS[:1], "today": TODAY, "target": "x", "lang": "ru"})()
    with smtp_server() as (handler, port):
        deliver(result, digest_config(smtp_port=port, to_team=()))
        deliver(result, digest_config(smtp_port=port, to_team=(), lang="en"))
    assert [r.message["Subject"].split(":")[0] for r in handler.received] == [
        "[CRM] Звонки на 03.03.2025",
        "[CRM] Calls 2025-03-03",
    ]


def test_nothing_to_say_sends_nothing():
    with smtp_server() as (handler, port):
        result = type("R", (), {"calls": [], "today": TODAY, "target": "x"})()
        assert deliver(result, digest_config(smtp_port=port)) == 0
    assert handler.received == []


def test_a_refused_recipient_does_not_stop_the_others():
    with smtp_server(refuse=("boris@studio.example",)) as (handler, port):
        config = digest_config(smtp_port=port)
        with pytest.raises(DigestError, match=r"2 of 3 messages sent.*Boris: all recipients refused"):
            send(build_digests(CALLS, config, today=TODAY, lang="en"), config)
    assert [r.rcpt_tos for r in handler.received] == [["anna@studio.example"], ["team@studio.example"]]


def test_login_with_password_from_the_environment_variable():
    with smtp_server(authenticator=authenticator, auth_require_tls=False) as (handler, port):
        config = digest_config(smtp_port=port, username="robot", password=Secret(PASSWORD))
        assert send(build_digests(CALLS, config, today=TODAY), config) == 3
    assert len(handler.received) == 3


def test_wrong_password_is_a_clear_error_without_the_password():
    with smtp_server(authenticator=authenticator, auth_require_tls=False) as (_handler, port):
        config = digest_config(smtp_port=port, username="robot", password=Secret("wrong-" + PASSWORD))
        with pytest.raises(DigestError) as info:
            send(build_digests(CALLS, config, today=TODAY), config)
    message = str(info.value)
    assert f"127.0.0.1:{port} refused the login for 'robot'" in message
    assert "SHEETS_CRM_SMTP_PASSWORD" in message
    assert PASSWORD not in message and "wrong-" not in message
    assert isinstance(info.value, CrmError) and info.value.__cause__ is None


def quoted_auth_lines(login: bytes, password: bytes) -> list[str]:
    """What careless servers quote back: the AUTH PLAIN blob (three layouts, so the password sits at
    every offset modulo 3), the AUTH LOGIN password line, and a truncated blob."""
    blobs = [
        b"\0" + login + b"\0" + password,
        login + b"\0" + login + b"\0" + password,
        b"x\0" + login + b"\0" + password,
    ]
    quoted = [base64.b64encode(blob).decode("ascii") for blob in blobs]
    return [*quoted, base64.b64encode(password).decode("ascii"), quoted[0][:20]]


def quoting_authenticator(server, session, envelope, mechanism, auth_data):
    quoted = " ".join(quoted_auth_lines(auth_data.login, auth_data.password))
    return AuthResult(success=False, handled=False, message=f"535 5.7.8 Bad credentials: AUTH {mechanism} {quoted}")


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_a_535_reply_quoting_the_auth_line_does_not_leak_the_password_in_any_encoding(mechanism):
    others = [m for m in ("PLAIN", "LOGIN") if m != mechanism]
    server = {"authenticator": quoting_authenticator, "auth_require_tls": False, "auth_exclude_mechanism": others}
    with smtp_server(**server) as (_handler, port):
        config = digest_config(smtp_port=port, username="robot", password=Secret(PASSWORD))
        with pytest.raises(DigestError) as info:
            send(build_digests(CALLS, config, today=TODAY), config)
    message = str(info.value)
    assert f"refused the login for 'robot' (535 5.7.8 Bad credentials: AUTH {mechanism} ***" in message
    for quoted in [PASSWORD, *quoted_auth_lines(b"robot", PASSWORD.encode())]:
        leaked = [quoted[i : i + 8] for i in range(len(quoted) - 7) if quoted[i : i + 8] in message]
        assert not leaked, (quoted, leaked, message)


def test_username_without_password_is_a_config_error_before_connecting():
    config = digest_config(smtp_port=free_port(), username="robot", password=None)  # nothing listens there
    with pytest.raises(ConfigError, match=r"SHEETS_CRM_SMTP_PASSWORD is empty or missing"):
        send(build_digests(CALLS, config, today=TODAY), config)


def test_connection_refused_is_a_clear_error():
    port = free_port()
    config = digest_config(smtp_port=port)
    with pytest.raises(DigestError, match=rf"cannot connect to SMTP server 127.0.0.1:{port}: connection refused"):
        send(build_digests(CALLS, config, today=TODAY), config)


def test_starttls_required_but_not_offered():
    with smtp_server() as (_handler, port):
        config = digest_config(smtp_port=port, starttls=True)
        with pytest.raises(DigestError, match="does not offer STARTTLS"):
            send(build_digests(CALLS, config, today=TODAY), config)


# --------------------------------------------------------------------------- STARTTLS with a test certificate


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost, made for this test run."""
    pytest.importorskip("cryptography")  # a dependency of google-auth, so normally present
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sheets-crm test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def test_starttls_and_login_against_a_trusted_test_certificate(certificate):
    with smtp_server(
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    ) as (handler, port):
        config = digest_config(smtp_port=port, starttls=True, username="robot", password=Secret(PASSWORD))
        trust = ssl.create_default_context(cafile=str(certificate[0]))
        assert send(build_digests(CALLS, config, today=TODAY), config, ssl_context=trust) == 3
    assert [r.rcpt_tos[0] for r in handler.received] == [
        "anna@studio.example",
        "boris@studio.example",
        "team@studio.example",
    ]


def test_untrusted_certificate_is_refused(certificate):
    with smtp_server(tls_context=server_context(certificate), require_starttls=True) as (handler, port):
        config = digest_config(smtp_port=port, starttls=True)
        with pytest.raises(DigestError, match="TLS certificate is not trusted"):
            send(build_digests(CALLS, config, today=TODAY), config)  # system CAs only
    assert handler.received == []
