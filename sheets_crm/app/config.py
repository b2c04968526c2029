"""``sheets-crm.toml``: where the settings come from, checked once, frozen.

Precedence, strongest first: command-line options > environment variables >
the config file > built-in defaults. The file is the first found of:
``--config PATH``, ``$SHEETS_CRM_CONFIG``, ``./sheets-crm.toml``, then the
platform's user config folder (``platformdirs.user_config_dir("sheets-crm")``).

Everything is validated here, so a bad zone, a "25:00" sync time or a typo in
a key stops the command before anything runs, with a message naming the key
and the file. Secrets never live in the file: the SMTP password is read from
an environment variable (its *name* is configurable) and kept in a
:class:`Secret` that does not print; credentials are a *path*, and nothing
here ever shows a credentials file's contents.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from sheets_crm.app.scheduling import format_sync_time, parse_sync_time
from sheets_crm.backends.google.target import is_google_target
from sheets_crm.core.template import Template, default_template
from sheets_crm.errors import ConfigError

__all__ = [
    "CONFIG_FILENAME",
    "APP_NAME",
    "DEFAULT_PASSWORD_ENV",
    "ENV_CONFIG",
    "ENV_VARS",
    "Secret",
    "DigestConfig",
    "Config",
    "load_config",
    "find_config_file",
    "user_config_path",
    "resolve_target",
    "warn_if_readable_by_others",
]

APP_NAME = "sheets-crm"
CONFIG_FILENAME = "sheets-crm.toml"
DEFAULT_PASSWORD_ENV = "SHEETS_CRM_SMTP_PASSWORD"
ENV_CONFIG = "SHEETS_CRM_CONFIG"

#: Environment variables that override file settings, in priority order per key.
ENV_VARS: dict[str, tuple[str, ...]] = {
    "credentials": ("SHEETS_CRM_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS"),
    "time_zone": ("SHEETS_CRM_TZ",),
    "sync_time": ("SHEETS_CRM_SYNC_TIME",),
}

_TOP_KEYS = ("spreadsheets", "credentials", "time_zone", "sync_time", "upcoming_days", "freshness_days", "digest")
_DIGEST_KEYS = (
    "enabled",
    "smtp_host",
    "smtp_port",
    "starttls",
    "username",
    "password_env",
    "from",
    "to_team",
    "owners",
    "subject_prefix",
    "lang",
)
_OVERRIDE_KEYS = (
    "spreadsheets",
    "credentials",
    "time_zone",
    "sync_time",
    "upcoming_days",
    "freshness_days",
    *(f"digest.{k}" for k in _DIGEST_KEYS if k != "password_env"),
)
_DIGEST_LANGS = ("auto", "en", "ru")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRETISH = re.compile(
    r"""(?im)^\s*["']?(password|passwd|smtp_password|secret|client_secret|token|"""
    r"""refresh_token|api_key|private_key)["']?\s*[=:]"""
)


class Secret:
    """A string that never shows itself in repr/str/logs; ``reveal()`` to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


@dataclass(frozen=True)
class DigestConfig:
    """The ``[digest]`` table: who gets the morning e-mail and how it is sent."""

    enabled: bool = False
    smtp_host: str = ""
    smtp_port: int = 587
    starttls: bool = True
    username: str | None = None
    password_env: str = DEFAULT_PASSWORD_ENV
    #: Loaded from ``$password_env`` at load time; None when unset/empty.
    password: Secret | None = field(default=None, repr=False, compare=False)
    sender: str = ""  # the "from" key
    to_team: tuple[str, ...] = ()
    #: Owner name as typed in the sheet -> e-mail addresses.
    owners: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    subject_prefix: str = "[CRM]"
    lang: str = "auto"

    def check_ready(self) -> None:
        """Raise ConfigError if an enabled digest could not be sent as configured.

        Called before connecting (and when ``schedule`` starts), so a missing
        password is reported at once rather than at 08:00 tomorrow.
        """
        where = "[digest]"
        if not self.smtp_host:
            raise ConfigError(f"{where} smtp_host is not set: name the SMTP server to send the digest through")
        if not self.sender:
            raise ConfigError(f'{where} from is not set: give the sender address, e.g. from = "crm@studio.example"')
        if not self.to_team and not self.owners:
            raise ConfigError(f"{where} has no recipients: set to_team = [...] and/or an [digest.owners] table")
        if self.username and self.password is None:
            raise ConfigError(
                f"{where} username is set but the environment variable {self.password_env} is empty or "
                f"missing: export {self.password_env}=... before running (the password is never "
                "read from the config file)"
            )

    def password_status(self) -> str:
        """What ``config show`` prints instead of the password."""
        if self.password is not None:
            return f"set in ${self.password_env}"
        return f"not set (${self.password_env} is empty)"


@dataclass(frozen=True)
class Config:
    """The effective settings. Build it with :func:`load_config`."""

    #: The config file that was read, or None when none was found.
    source: Path | None = None
    spreadsheets: tuple[str, ...] = ()
    credentials: Path | None = None
    #: IANA zone name; None = the machine's zone (see :meth:`zone`).
    time_zone: str | None = None
    sync_time: dt.time = dt.time(8, 0)
    upcoming_days: int | None = None
    freshness_days: int | None = None
    digest: DigestConfig = field(default_factory=DigestConfig)
    #: Where each explicitly set value came from ("file ...", "env VAR", "command line").
    origins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), compare=False)
    #: Files searched when none was found (for ``config show``).
    searched: tuple[Path, ...] = field(default=(), compare=False)

    def zone(self) -> ZoneInfo:
        """The configured zone, else the machine's (tzlocal), else UTC."""
        if self.time_zone:
            return ZoneInfo(self.time_zone)
        return _machine_zone()

    def zone_name(self) -> str:
        return self.time_zone or _machine_zone().key

    def template(self, base: Template | None = None) -> Template:
        """The template with this config's upcoming/freshness days applied."""
        base = base or default_template()
        return base.with_settings(upcoming_days=self.upcoming_days, freshness_days=self.freshness_days)

    def security_warnings(self) -> list[str]:
        """Warnings about files with secrets that other users can read."""
        out = []
        for path in (self.source, self.credentials):
            if path is not None:
                warning = warn_if_readable_by_others(path)
                if warning:
                    out.append(warning)
        return out

    def show(self, masked: bool = True) -> dict[str, Any]:
        """The effective settings as plain data for ``sheets-crm config show``.

        Never contains the SMTP password (only whether ``$VAR`` holds one) nor
        anything read from the credentials file (only its path). ``masked``
        (the default) also shortens the SMTP login name, which is often an
        e-mail address that doubles as half of the credentials.
        """
        settings = self.template().settings
        d = self.digest
        if d.username and masked:
            username: str | None = _mask(d.username)
        else:
            username = d.username
        if self.source is not None:
            config_file: str = str(self.source)
        elif self.searched:
            config_file = "none found (searched: " + ", ".join(str(p) for p in self.searched) + ")"
        else:
            config_file = "none"
        zone = self.time_zone or f"{self.zone_name()} (this machine's zone)"
        return {
            "config_file": config_file,
            "spreadsheets": list(self.spreadsheets),
            "credentials": None if self.credentials is None else str(self.credentials),
            "time_zone": zone,
            "sync_time": format_sync_time(self.sync_time),
            "upcoming_days": settings.upcoming_days,
            "freshness_days": settings.freshness_days,
            "digest": {
                "enabled": d.enabled,
                "smtp_host": d.smtp_host,
                "smtp_port": d.smtp_port,
                "starttls": d.starttls,
                "username": username,
                "password": d.password_status(),
                "from": d.sender,
                "to_team": list(d.to_team),
                "owners": {name: list(addrs) for name, addrs in d.owners.items()},
                "subject_prefix": d.subject_prefix,
                "lang": d.lang,
            },
            "sources": dict(self.origins),
            "warnings": self.security_warnings(),
        }


def _mask(text: str) -> str:
    user, at, domain = text.partition("@")
    return (user[:2] + "***" + at + domain) if at else text[:2] + "***"


def _machine_zone() -> ZoneInfo:
    try:
        import tzlocal

        zone = tzlocal.get_localzone()
        key = getattr(zone, "key", None) or tzlocal.get_localzone_name()
        return ZoneInfo(key)
    except Exception:  # an unconfigured container: no /etc/localtime
        return ZoneInfo("UTC")


# --------------------------------------------------------------------------- files


def user_config_path() -> Path:
    """``<user config dir>/sheets-crm.toml`` for this platform."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / CONFIG_FILENAME


def find_config_file(
    path: str | os.PathLike[str] | None,
    env: Mapping[str, str] = os.environ,
    *,
    cwd: Path | None = None,
    user_file: Path | None = None,
) -> tuple[Path | None, tuple[Path, ...]]:
    """(the config file to read or None, the places searched).

    An explicit ``path`` (``--config``) or ``$SHEETS_CRM_CONFIG`` must exist:
    a typo there is an error, not a silent fall-back to defaults.
    """
    cwd = cwd or Path.cwd()
    for explicit, how in ((path, "--config"), (env.get(ENV_CONFIG) or None, f"${ENV_CONFIG}")):
        if explicit:
            p = Path(os.path.expanduser(os.fspath(explicit)))
            p = p if p.is_absolute() else cwd / p
            if not p.is_file():
                raise ConfigError(f"config file not found: {p} (given by {how})")
            return p, (p,)
    candidates = (cwd / CONFIG_FILENAME, user_file or user_config_path())
    for candidate in candidates:
        if candidate.is_file():
            return candidate, candidates
    return None, candidates


def resolve_target(target: str, base: Path) -> str:
    """A Google URL/ID as is; a workbook path made absolute against ``base``.

    Paths in the config file are relative to the file's folder (so the file
    works from cron, whose working directory is $HOME); paths from the
    command line or environment are relative to the current directory.
    """
    text = target.strip()
    if is_google_target(text, base):
        return text
    p = Path(os.path.expanduser(text))
    return str(p if p.is_absolute() else (base / p))


def warn_if_readable_by_others(path: str | os.PathLike[str]) -> str | None:
    """A warning when a file holding a secret can be read by group or others.

    Only meaningful on POSIX (Windows ACLs are not mode bits): returns None
    there, for a missing file, and for a readable file with nothing secret in
    it (a config that only names ``password_env`` is fine to share).
    """
    if os.name != "posix":
        return None
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except OSError:
        return None
    if not mode & (stat.S_IRGRP | stat.S_IROTH):
        return None
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if '"private_key"' in text or "-----BEGIN" in text:
        what = "contains a private key (credentials)"
    elif _SECRETISH.search(text):
        what = "contains a password or token"
    else:
        return None
    who = "everyone" if mode & stat.S_IROTH else "its group"
    return f"{p} {what} and can be read by {who} (mode {stat.S_IMODE(mode):04o}); restrict it with: chmod 600 {p}"


# --------------------------------------------------------------------------- loading


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; allowed keys: {', '.join(allowed)}"


class _Reader:
    """Validates one layer of raw values, naming where each came from in errors."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: {key}: {problem}")

    def string(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected text in quotes, got {value!r}")
        return value.strip()

    def boolean(self, key: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.strip().lower() in ("1", "true", "yes", "on")
        raise self.fail(key, f"expected true or false, got {value!r}")

    def integer(self, key: str, value: Any, low: int, high: int) -> int:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a whole number, got {value!r}")
        if not low <= value <= high:
            raise self.fail(key, f"{value} is out of range ({low}..{high})")
        return value

    def strings(self, key: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f'expected a list of texts, e.g. ["a", "b"], got {value!r}')
        return tuple(v.strip() for v in value if v.strip())

    def zone(self, key: str, value: Any) -> str:
        name = self.string(key, value)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(
                key, f"{name!r} is not a known IANA time zone (e.g. Europe/Moscow, America/New_York, UTC)"
            ) from None
        return name

    def time(self, key: str, value: Any) -> dt.time:
        if not isinstance(value, (str, dt.time)):
            raise self.fail(key, f'expected a time like "08:00", got {value!r}')
        try:
            return parse_sync_time(value)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def address(self, key: str, value: Any) -> str:
        text = self.string(key, value)
        _, addr = parseaddr(text)
        if not addr or "@" not in addr or addr.startswith("@") or addr.endswith("@") or " " in addr:
            raise self.fail(key, f"{text!r} is not an e-mail address")
        return text

    def addresses(self, key: str, value: Any) -> tuple[str, ...]:
        return tuple(self.address(key, v) for v in self.strings(key, value))


def _check_keys(data: Mapping[str, Any], allowed: tuple[str, ...], where: str, table: str = "") -> None:
    for key in data:
        if key not in allowed:
            name = f"{table}.{key}" if table else key
            raise ConfigError(f"{where}: unknown key {name!r}{_suggest(key, allowed)}")


def _read_file(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None


def _apply_digest(
    values: dict[str, Any],
    raw: Mapping[str, Any],
    r: _Reader,
    origins: dict[str, str],
    origin: str,
    prefix: str = "digest.",
) -> None:
    """Validate ``[digest]`` keys from one layer into ``values`` (DigestConfig kwargs)."""
    for key, value in raw.items():
        name = prefix + key
        if key == "enabled":
            values["enabled"] = r.boolean(name, value)
        elif key == "smtp_host":
            values["smtp_host"] = r.string(name, value)
        elif key == "smtp_port":
            values["smtp_port"] = r.integer(name, value, 1, 65535)
        elif key == "starttls":
            values["starttls"] = r.boolean(name, value)
        elif key == "username":
            values["username"] = r.string(name, value) or None
        elif key == "password_env":
            env_name = r.string(name, value)
            if not _ENV_NAME.match(env_name):
                raise r.fail(
                    name,
                    f"{env_name!r} is not an environment variable name; this key names "
                    "the variable that holds the password, never the password itself",
                )
            values["password_env"] = env_name
        elif key == "from":
            values["sender"] = r.address(name, value)
        elif key == "to_team":
            values["to_team"] = r.addresses(name, value)
        elif key == "owners":
            if not isinstance(value, Mapping):
                raise r.fail(name, 'expected a table: owners = { "Anna" = "anna@studio.example" }')
            owners: dict[str, tuple[str, ...]] = {}
            for owner, addrs in value.items():
                owners[str(owner).strip()] = r.addresses(f"{name}.{owner}", addrs)
            values["owners"] = MappingProxyType(owners)
        elif key == "subject_prefix":
            values["subject_prefix"] = r.string(name, value)
        elif key == "lang":
            lang = r.string(name, value).lower()
            if lang not in _DIGEST_LANGS:
                raise r.fail(name, f"{lang!r} is not one of {', '.join(_DIGEST_LANGS)}")
            values["lang"] = lang
        else:  # pragma: no cover - keys were checked before
            raise r.fail(name, "unknown key")
        origins[name] = origin


def _apply_top(
    values: dict[str, Any], raw: Mapping[str, Any], r: _Reader, origins: dict[str, str], origin: str, base: Path
) -> None:
    """Validate top-level keys from one layer into ``values`` (Config kwargs)."""
    for key, value in raw.items():
        if key == "spreadsheets":
            values["spreadsheets"] = tuple(resolve_target(t, base) for t in r.strings(key, value))
        elif key == "credentials":
            text = r.string(key, value)
            if text:
                p = Path(os.path.expanduser(text))
                values["credentials"] = p if p.is_absolute() else base / p
            else:
                values["credentials"] = None
        elif key == "time_zone":
            values["time_zone"] = r.zone(key, value) if str(value).strip() else None
        elif key == "sync_time":
            values["sync_time"] = r.time(key, value)
        elif key == "upcoming_days":
            values["upcoming_days"] = r.integer(key, value, 0, 366)
        elif key == "freshness_days":
            values["freshness_days"] = r.integer(key, value, 1, 3650)
        else:  # pragma: no cover - keys were checked before
            raise r.fail(key, "unknown key")
        origins[key] = origin


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] = os.environ,
    overrides: Mapping[str, Any] | None = None,
    *,
    cwd: Path | None = None,
    user_file: Path | None = None,
) -> Config:
    """Find, read and validate the config; apply environment and command-line overrides.

    ``overrides`` holds command-line values by key (``spreadsheets``,
    ``credentials``, ``time_zone``, ``sync_time``, ``upcoming_days``,
    ``freshness_days``, ``digest.enabled``, ...); None means "not given".
    ``cwd``/``user_file`` exist so tests never read the real user's config.
    Raises ConfigError naming the key and where the bad value came from.
    """
    cwd = cwd or Path.cwd()
    source, searched = find_config_file(path, env, cwd=cwd, user_file=user_file)
    top: dict[str, Any] = {}
    digest: dict[str, Any] = {}
    origins: dict[str, str] = {}

    # 1. the file
    if source is not None:
        data = _read_file(source)
        where = str(source)
        _check_keys(data, _TOP_KEYS, where)
        raw_digest = data.get("digest", {})
        if not isinstance(raw_digest, Mapping):
            raise ConfigError(f"{where}: digest: expected a [digest] table")
        _check_keys(raw_digest, _DIGEST_KEYS, where, "digest")
        r = _Reader(where)
        _apply_top(top, {k: v for k, v in data.items() if k != "digest"}, r, origins, f"file {source}", source.parent)
        _apply_digest(digest, raw_digest, r, origins, f"file {source}")

    # 2. the environment
    for key, names in ENV_VARS.items():
        for name in names:
            value = env.get(name, "").strip()
            if value:
                _apply_top(top, {key: value}, _Reader(f"environment variable {name}"), origins, f"env {name}", cwd)
                break

    # 3. the command line
    if overrides:
        unknown = [k for k in overrides if k not in _OVERRIDE_KEYS]
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0]!r}{_suggest(unknown[0], _OVERRIDE_KEYS)}")
        given = {k: v for k, v in overrides.items() if v is not None}
        r = _Reader("command line")
        _apply_top(
            top, {k: v for k, v in given.items() if not k.startswith("digest.")}, r, origins, "command line", cwd
        )
        _apply_digest(
            digest,
            {k.removeprefix("digest."): v for k, v in given.items() if k.startswith("digest.")},
            r,
            origins,
            "command line",
        )

    # The SMTP port follows STARTTLS unless set: 587 (submission) or 25.
    if "smtp_port" not in digest and digest.get("starttls") is False:
        digest["smtp_port"] = 25
    password_env = digest.get("password_env", DEFAULT_PASSWORD_ENV)
    password = env.get(password_env) or None
    digest_config = DigestConfig(**digest, password=Secret(password) if password else None)
    return Config(source=source, **top, digest=digest_config, origins=MappingProxyType(origins), searched=searched)
