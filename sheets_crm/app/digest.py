"""The morning digest: one e-mail per owner and one for the team, over SMTP.

Building and sending are separate so the content can be tested without a
server and the transport against a real one (aiosmtpd on loopback in the
tests). Every SMTP/TLS/socket failure becomes a :class:`DigestError` whose
message says what to check; the password never appears in it.

An empty digest (no calls at all) is not sent: an e-mail saying "nothing to
do" every morning teaches people to ignore the digest. A digest with only
overdue calls *is* sent, because those are the ones people forget.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import html
import re
import smtplib
import socket
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any, Protocol, cast

from sheets_crm.app.config import DigestConfig
from sheets_crm.core.model import SECTIONS, Call
from sheets_crm.core.text import normalise
from sheets_crm.errors import CrmError

if TYPE_CHECKING:  # the numbers come with the sync result; pandas is not imported here for them
    from sheets_crm.app.review import DayNumbers, DigestNumbers

__all__ = [
    "DigestError",
    "DigestMessage",
    "SECTIONS",
    "guess_lang",
    "render_text",
    "numbers_lines",
    "render_html",
    "build_digests",
    "send",
    "deliver",
]


_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "overdue": "Overdue",
        "today": "Today",
        "upcoming": "Upcoming",
        "title_owner": "Calls for {owner}",
        "title_team": "Team calls",
        "subject": "{prefix}Calls {date}: {overdue} overdue, {today} today, {upcoming} upcoming",
        "days_overdue": "{n} d overdue",
        "date": "Date",
        "project": "Project",
        "contact": "Contact",
        "phone": "Phone",
        "topic": "Topic",
        "last_result": "Last result",
        "owner": "Owner",
        "last": "last",
        "source": "Spreadsheet",
        "mine": "Yesterday done: {done_yesterday} · due today: {due_today} · overdue: {overdue} · "
        "leads with nothing planned: {nothing_planned}",
        "numbers": "Numbers per manager:",
        "manager": "Manager",
        "done_yesterday": "Done yesterday",
        "due_today": "Due today",
        "overdue_now": "Overdue",
        "nothing_planned": "Nothing planned",
        "nobody": "(no owner)",
        "team": "Team",
        "footer": "Sent by sheets-crm after the morning sync. Record results in the Contact Plan.",
        "workbook_open": (
            "The workbook was open in Excel or LibreOffice at {at}, so the sheet itself is not updated yet: these "
            "calls are read from it as last saved. sheets-crm tries again every {every} minutes until {until}."
        ),
    },
    "ru": {
        "overdue": "Просрочен",
        "today": "Сегодня",
        "upcoming": "Скоро",
        "title_owner": "Звонки: {owner}",
        "title_team": "Звонки команды",
        "subject": "{prefix}Звонки на {date}: просрочено {overdue}, сегодня {today}, скоро {upcoming}",
        "days_overdue": "просрочка {n} дн.",
        "date": "Дата",
        "project": "Проект",
        "contact": "Контакт",
        "phone": "Телефон",
        "topic": "Тема",
        "last_result": "Итог контакта",
        "owner": "Менеджер",
        "last": "итог",
        "source": "Таблица",
        "mine": "Вчера проведено: {done_yesterday} · на сегодня: {due_today} · просрочено: {overdue} · "
        "лидов без плана: {nothing_planned}",
        "numbers": "Цифры по менеджерам:",
        "manager": "Менеджер",
        "done_yesterday": "Проведено вчера",
        "due_today": "На сегодня",
        "overdue_now": "Просрочено",
        "nothing_planned": "Без плана",
        "nobody": "(без менеджера)",
        "team": "Команда",
        "footer": "Отправлено sheets-crm после утренней синхронизации. Итоги записывайте в План контактов.",
        "workbook_open": (
            "В {at} книга была открыта в Excel или LibreOffice, поэтому сама таблица ещё не обновлена: звонки "
            "прочитаны из неё в последнем сохранённом виде. sheets-crm пробует снова каждые {every} мин. до {until}."
        ),
    },
}


class DigestError(CrmError):
    """The digest could not be sent (server unreachable, login refused, TLS failed)."""


class _SyncResultLike(Protocol):
    """What the digest needs of :class:`sheets_crm.app.sync.SyncResult` (``lang`` is optional)."""

    target: str
    today: dt.date
    calls: list[Call]


@dataclass(frozen=True)
class DigestMessage:
    """One e-mail to send: who gets it and what it says."""

    audience: str  # "team" or the owner's name as configured
    to: tuple[str, ...]
    subject: str
    text: str
    html: str

    def to_email(self, sender: str) -> EmailMessage:
        """The message as a multipart/alternative (plain text + HTML) e-mail."""
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = ", ".join(self.to)
        msg["Subject"] = self.subject
        msg["Date"] = formatdate(localtime=True)
        # make_msgid() would otherwise look up this host's FQDN (a DNS query).
        domain = parseaddr(sender)[1].rpartition("@")[2] or "sheets-crm.invalid"
        msg["Message-ID"] = make_msgid(domain=domain)
        msg.set_content(self.text)
        msg.add_alternative(self.html, subtype="html")
        return msg


def guess_lang(calls: Iterable[Call]) -> str:
    """'ru' when the sheet's own text is mostly Cyrillic, else 'en'.

    A sync result does not carry the workbook's language, but its projects
    and topics do: a Russian studio writes them in Russian.
    """
    cyrillic = latin = 0
    for call in calls:
        for text in (call.project, call.topic, call.contact, call.last_result):
            for ch in text or "":
                if "\u0400" <= ch <= "\u04ff":
                    cyrillic += 1
                elif ch.isascii() and ch.isalpha():
                    latin += 1
    return "ru" if cyrillic > latin else "en"


def _fmt_date(day: dt.date, lang: str) -> str:
    return day.strftime("%d.%m.%Y") if lang == "ru" else day.isoformat()


def _grouped(calls: Sequence[Call]) -> dict[str, list[Call]]:
    groups: dict[str, list[Call]] = {s: [] for s in SECTIONS}
    for call in calls:
        groups.setdefault(call.section, []).append(call)
    return groups


def _counts(calls: Sequence[Call]) -> dict[str, int]:
    return {s: len(v) for s, v in _grouped(calls).items()}


_NUMBERS = ("done_yesterday", "due_today", "overdue", "nothing_planned")


def _numbers_rows(numbers: DigestNumbers, lang: str) -> tuple[list[str], list[list[str]]]:
    """The team message's table: a header and one row per manager, the team last."""
    labels = _LABELS[lang]
    head = [labels["manager"], *(labels["overdue_now" if n == "overdue" else n] for n in _NUMBERS)]
    rows = [[m.name or labels["nobody"], *(str(getattr(m, n)) for n in _NUMBERS)] for m in numbers.managers.values()]
    rows.append([labels["team"], *(str(getattr(numbers.team, n)) for n in _NUMBERS)])
    return head, rows


def numbers_lines(numbers: DayNumbers | DigestNumbers | None, lang: str) -> list[str]:
    """Each manager's own numbers (issue 14): one line in an owner's message, a table in the team's."""
    if numbers is None:
        return []
    labels = _LABELS[lang]
    if not hasattr(numbers, "managers"):  # one manager's
        return [labels["mine"].format(**{n: getattr(numbers, n) for n in _NUMBERS}), ""]
    head, rows = _numbers_rows(cast("DigestNumbers", numbers), lang)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    out = [labels["numbers"]]
    for r in [head, *rows]:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        out.append("  " + "  ".join(cells).rstrip())
    return [*out, ""]


def _numbers_html(numbers: DayNumbers | DigestNumbers | None, lang: str) -> list[str]:
    if numbers is None:
        return []
    e = html.escape
    if not hasattr(numbers, "managers"):
        return [f"<p>{e(numbers_lines(numbers, lang)[0])}</p>"]
    head, rows = _numbers_rows(cast("DigestNumbers", numbers), lang)
    parts = [f"<h3>{e(_LABELS[lang]['numbers'])}</h3>"]
    parts.append('<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">')
    parts.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>")
    for r in rows:
        cells = "".join(f'<td style="text-align: right">{e(c)}</td>' for c in r[1:])
        parts.append(f"<tr><td>{e(r[0])}</td>{cells}</tr>")
    parts.append("</table>")
    return parts


def render_text(
    calls: Sequence[Call],
    *,
    title: str,
    lang: str = "en",
    show_owner: bool = True,
    source: str | None = None,
    note: str | None = None,
    numbers: DayNumbers | DigestNumbers | None = None,
) -> str:
    """The plain-text body: the manager's numbers, then one block per non-empty section, one or two lines per call."""
    labels = _LABELS[lang]
    lines = [title]
    if source:
        lines.append(f"{labels['source']}: {source}")
    if note:
        lines.append(note)
    lines.append("")
    lines += numbers_lines(numbers, lang)
    for section, group in _grouped(calls).items():
        if not group or section not in labels:
            continue
        lines.append(f"{labels[section]} ({len(group)})")
        for call in group:
            when = _fmt_date(call.date, lang)
            if call.section == "overdue" and call.days_overdue:
                when += " (" + labels["days_overdue"].format(n=call.days_overdue) + ")"
            head = f"  {when}  {call.project}"
            if call.topic:
                head += f" — {call.topic}"
            lines.append(head)
            details = [x for x in (call.contact, call.phone) if x]
            if call.last_result:
                details.append(f"{labels['last']}: {call.last_result}")
            if show_owner and call.owner:
                details.append(f"{labels['owner'].lower()}: {call.owner}")
            if details:
                lines.append("      " + " · ".join(details))
        lines.append("")
    lines.append("-- ")
    lines.append(labels["footer"])
    return "\n".join(lines) + "\n"


def render_html(
    calls: Sequence[Call],
    *,
    title: str,
    lang: str = "en",
    show_owner: bool = True,
    source: str | None = None,
    note: str | None = None,
    numbers: DayNumbers | DigestNumbers | None = None,
) -> str:
    """A simple HTML version: the numbers, then one table per section. All sheet text is escaped."""
    labels = _LABELS[lang]
    e = html.escape
    cols = ["date", "project", "topic", "contact", "phone", "last_result"] + (["owner"] if show_owner else [])
    colours = {"overdue": "#F4C7C3", "today": "#FFF2CC", "upcoming": "#FFFFFF"}
    parts = [
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{e(title)}</title></head>',
        '<body style="font-family: sans-serif">',
        f"<h2>{e(title)}</h2>",
    ]
    if source:
        parts.append(f"<p>{e(labels['source'])}: {e(source)}</p>")
    if note:
        parts.append(f"<p><b>{e(note)}</b></p>")
    parts += _numbers_html(numbers, lang)
    for section, group in _grouped(calls).items():
        if not group or section not in labels:
            continue
        parts.append(f"<h3>{e(labels[section])} ({len(group)})</h3>")
        parts.append('<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">')
        parts.append("<tr>" + "".join(f"<th>{e(labels[c])}</th>" for c in cols) + "</tr>")
        for call in group:
            when = _fmt_date(call.date, lang)
            if call.section == "overdue" and call.days_overdue:
                when += " (" + labels["days_overdue"].format(n=call.days_overdue) + ")"
            values = {
                "date": when,
                "project": call.project,
                "topic": call.topic,
                "contact": call.contact,
                "phone": call.phone,
                "last_result": call.last_result,
                "owner": call.owner,
            }
            bg = colours.get(section, "#FFFFFF")
            parts.append(
                f'<tr style="background: {bg}">' + "".join(f"<td>{e(values[c] or '')}</td>" for c in cols) + "</tr>"
            )
        parts.append("</table>")
    parts.append(f'<p style="color: #666">{e(labels["footer"])}</p></body></html>')
    return "\n".join(parts) + "\n"


def _message(
    audience: str,
    to: tuple[str, ...],
    calls: Sequence[Call],
    *,
    title: str,
    today: dt.date,
    lang: str,
    prefix: str,
    show_owner: bool,
    source: str | None,
    note: str | None = None,
    numbers: DayNumbers | DigestNumbers | None = None,
) -> DigestMessage:
    counts = _counts(calls)
    subject = _LABELS[lang]["subject"].format(
        prefix=(prefix.strip() + " ") if prefix.strip() else "", date=_fmt_date(today, lang), **counts
    )
    if source:
        subject += f" ({source})"
    return DigestMessage(
        audience=audience,
        to=to,
        subject=subject,
        text=render_text(
            calls, title=title, lang=lang, show_owner=show_owner, source=source, note=note, numbers=numbers
        ),
        html=render_html(
            calls, title=title, lang=lang, show_owner=show_owner, source=source, note=note, numbers=numbers
        ),
    )


def build_digests(
    calls: Sequence[Call],
    config: DigestConfig,
    *,
    today: dt.date,
    lang: str | None = None,
    source: str | None = None,
    workbook_open: Mapping[str, object] | None = None,
    numbers: DigestNumbers | None = None,
) -> list[DigestMessage]:
    """One message per configured owner who has calls, plus one team message.

    ``numbers`` (:func:`sheets_crm.app.review.digest_numbers`, which the sync result carries): each
    owner's message opens with their own done yesterday / due today / overdue / nothing planned,
    the team's with a table of everyone's.

    Owners match the sheet's Owner column ignoring case, spaces and ё/е.
    Calls whose owner has no address reach only the team message. Nothing is
    built when there are no calls at all. ``lang`` None uses the config's
    ``lang`` ("auto" guesses from the calls' text). ``source`` labels the
    spreadsheet when several are synced. ``workbook_open`` ({at, every, until}): the scheduled sync
    found the workbook open and will try again; each message says so.
    """
    if not calls:
        return []
    if lang is None:
        lang = config.lang
    if lang not in _LABELS:
        lang = guess_lang(calls)
    labels = _LABELS[lang]
    note = labels["workbook_open"].format(**workbook_open) if workbook_open else None
    common: dict[str, Any] = {
        "today": today,
        "lang": lang,
        "prefix": config.subject_prefix,
        "source": source,
        "note": note,
    }
    messages = []
    for owner, addresses in config.owners.items():
        key = normalise(owner)
        mine = [c for c in calls if normalise(c.owner) == key]
        if mine and addresses:
            messages.append(
                _message(
                    owner,
                    tuple(addresses),
                    mine,
                    title=labels["title_owner"].format(owner=owner),
                    show_owner=False,
                    numbers=numbers.of(owner) if numbers is not None else None,
                    **common,
                )
            )
    if config.to_team:
        messages.append(
            _message(
                "team",
                tuple(config.to_team),
                calls,
                title=labels["title_team"],
                show_owner=True,
                numbers=numbers,
                **common,
            )
        )
    return messages


def _base64_cores(secret: bytes) -> set[str]:
    """The base64 text that ``secret`` becomes inside *any* base64 blob.

    Where the secret starts in the blob (its offset modulo 3) changes its
    encoding, so there are three; only the characters made of the secret's
    own bits are kept, because the neighbouring bytes change the others.
    """
    cores = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret).decode("ascii")
        first = -(-shift * 8 // 6)  # the first character with no padding bits
        last = (shift + len(secret)) * 8 // 6  # one past the last character with only secret bits
        core = encoded[first:last]
        if len(core) >= 4:
            cores.add(core)
    return cores


def _decodes_to_secret(token: str, secrets: list[bytes]) -> bool:
    """Whether a base64-looking token decodes to bytes holding a secret or a piece of it (a truncated quote)."""
    body = token.rstrip("=")
    body = body[: len(body) - len(body) % 4]
    if not body:
        return False
    try:
        decoded = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return False
    for secret in secrets:
        if secret in decoded:
            return True
        window = min(len(secret), 6)
        if any(secret[i : i + window] in decoded for i in range(len(secret) - window + 1)):
            return True
    return False


class _Scrubber:
    """Removes every form of the login the SMTP dialogue may quote back.

    A server's "535 authentication failed" reply sometimes quotes the AUTH
    line: ``AUTH PLAIN base64(\\0user\\0password)``, or the base64 password
    that AUTH LOGIN sent. So besides the raw password, any base64 run that
    decodes to (a piece of) it, and the password's base64 text at every
    alignment, become ``***``.
    """

    def __init__(self, password: str | None) -> None:
        self.raw = password or ""
        self.secrets = [self.raw.encode("utf-8")] if self.raw else []
        self.cores = sorted(set().union(*(_base64_cores(s) for s in self.secrets)), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        if not self.raw:
            return text
        text = _BASE64_RUN.sub(lambda m: "***" if _decodes_to_secret(m.group(), self.secrets) else m.group(), text)
        for form in (self.raw, *self.cores):
            text = text.replace(form, "***")
        return text


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{8,}={0,2}")


def _server_said(exc: smtplib.SMTPResponseException, scrub: _Scrubber) -> str:
    raw = exc.smtp_error
    said = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return scrub(f"{exc.smtp_code} {said}".strip())


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """Log in with one mechanism (PLAIN, else LOGIN), not smtplib's try-them-all.

    ``SMTP.login`` retries a refused password with every other mechanism the
    server offers: two or three failed logins per run can lock the mailbox
    account at providers that count them.
    """
    offered = (smtp.esmtp_features.get("auth") or "").upper().split()
    smtp.user, smtp.password = username, password
    for mechanism, answer in (("PLAIN", smtp.auth_plain), ("LOGIN", smtp.auth_login)):
        if mechanism in offered:
            smtp.auth(mechanism, answer)  # raises SMTPAuthenticationError when refused
            return
    smtp.login(username, password)  # other mechanisms, or the "no AUTH" error


def _send_all(
    smtp: smtplib.SMTP, messages: Sequence[DigestMessage], config: DigestConfig, scrub: _Scrubber
) -> tuple[int, list[str]]:
    """Send each message on an open, logged-in connection: (accepted, what failed)."""
    failures: list[str] = []
    sent = 0
    for message in messages:
        try:
            refused = smtp.send_message(message.to_email(config.sender))
        except smtplib.SMTPRecipientsRefused as exc:
            failures.append(f"{message.audience}: all recipients refused ({', '.join(exc.recipients)})")
            continue
        except smtplib.SMTPResponseException as exc:
            failures.append(f"{message.audience}: {_server_said(exc, scrub)}")
            continue
        sent += 1
        if refused:
            failures.append(f"{message.audience}: refused {', '.join(refused)}")
    return sent, failures


def _smtp_problem(exc: smtplib.SMTPException, config: DigestConfig, server: str, scrub: _Scrubber) -> str:
    """What an SMTP-level failure means, in words that say what to check."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            f"SMTP server {server} refused the login for {config.username!r} ({_server_said(exc, scrub)}); "
            f"check [digest] username and the password in ${config.password_env}"
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if "AUTH" in str(exc).upper():
            return (
                f"SMTP server {server} does not offer login (AUTH) on this connection; "
                "many servers offer it only after STARTTLS (starttls = true)"
            )
        return (
            f"SMTP server {server} does not offer STARTTLS; use its submission port (587), "
            "or set starttls = false only for a server on a trusted network"
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP server {server} refused: {_server_said(exc, scrub)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"SMTP server {server} closed the connection unexpectedly"
    return f"SMTP error with {server}: {scrub(str(exc))}"


def _network_problem(exc: OSError, server: str, timeout: float, scrub: _Scrubber) -> str:
    """What a TLS or socket failure means."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"SMTP server {server}: its TLS certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"SMTP server {server}: TLS failed ({exc.reason or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot connect to SMTP server {server}: connection refused (check [digest] smtp_host and smtp_port)"
    if isinstance(exc, socket.gaierror):
        return f"cannot connect to SMTP server {server}: unknown host name"
    if isinstance(exc, TimeoutError):
        return f"cannot connect to SMTP server {server}: timed out after {timeout:g} s"
    return f"cannot connect to SMTP server {server}: {scrub(str(exc.strerror or exc))}"


def send(
    messages: Sequence[DigestMessage],
    config: DigestConfig,
    *,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = 30.0,
) -> int:
    """Send ``messages`` over one SMTP connection; return how many were accepted.

    STARTTLS (when configured) verifies the server's certificate with
    ``ssl_context`` (default: the system's trusted CAs). Logs in when a
    username is set, with the password from ``$password_env``. Raises
    ConfigError for settings that cannot work and DigestError for anything the
    server or network refused; a refused recipient does not stop the others.
    No message ever holds the password, raw or encoded.
    """
    if not messages:
        return 0
    config.check_ready()
    password = config.password.get_secret_value() if config.password is not None else None
    scrub = _Scrubber(password)
    server = f"{config.smtp_host}:{config.smtp_port}"
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=timeout) as smtp:
            smtp.ehlo()
            if config.starttls:
                smtp.starttls(context=ssl_context or ssl.create_default_context())
                smtp.ehlo()
            if config.username:
                _login(smtp, config.username, password or "")
            sent, failures = _send_all(smtp, messages, config, scrub)
    except smtplib.SMTPException as exc:
        raise DigestError(_smtp_problem(exc, config, server, scrub)) from None
    except OSError as exc:  # TLS and socket failures (smtplib's own errors are OSErrors too: caught above)
        raise DigestError(_network_problem(exc, server, timeout, scrub)) from None
    if failures:
        raise DigestError(f"digest: {sent} of {len(messages)} messages sent via {server}; " + "; ".join(failures))
    return sent


def deliver(
    result: _SyncResultLike,
    config: DigestConfig,
    *,
    source: str | None = None,
    lang: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    workbook_open: Mapping[str, object] | None = None,
) -> int:
    """Build and send the digests for one sync result; return messages sent (0 = nothing to say).

    Does not look at ``config.enabled``: that switch is for the scheduler; a
    person asking for a digest on the command line gets one.
    """
    if lang is None and config.lang == "auto":
        lang = getattr(result, "lang", None)  # the workbook's language, when the sync knows it
    messages = build_digests(
        result.calls,
        config,
        today=result.today,
        lang=lang,
        source=source,
        workbook_open=workbook_open,
        numbers=getattr(result, "numbers", None),  # the managers' own numbers, when the sync worked them out
    )
    return send(messages, config, ssl_context=ssl_context)
