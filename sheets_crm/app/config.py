"""``sheets-crm.toml``: where the settings come from, checked once, frozen.

Precedence, strongest first: command-line options > environment variables >
the config file > built-in defaults. The file is the first found of:
``--config PATH``, ``$SHEETS_CRM_CONFIG``, ``./sheets-crm.toml``, then the
platform's user config folder (``platformdirs.user_config_dir("sheets-crm")``).

The settings are pydantic models (typed, frozen, unknown keys refused). Each
layer (file, environment, command line) is validated on its own, so a bad
zone, a "25:00" sync time or a typo in a key stops the command before
anything runs, with a message naming the key and where the value came from;
relative paths follow the layer (the file's folder, else the current one).

Secrets never live in the file: the SMTP password is read from an environment
variable (its *name* is configurable) into a :class:`~pydantic.SecretStr`,
which never prints. A ``password_env`` that does not look like a variable name
is probably the password itself, and is never echoed. Credentials are a
*path*; nothing here ever shows a credentials file's contents.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from sheets_crm.app.scheduling import format_sync_time, parse_sync_time
from sheets_crm.backends.google.target import is_google_target
from sheets_crm.core.template import Template, default_template
from sheets_crm.errors import ConfigError, TemplateError

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

#: A string that never shows itself in repr/str/logs; ``.get_secret_value()`` to use it.
Secret = SecretStr

#: Environment variables that override file settings, in priority order per key.
ENV_VARS: dict[str, tuple[str, ...]] = {
    "credentials": ("SHEETS_CRM_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS"),
    "time_zone": ("SHEETS_CRM_TZ",),
    "sync_time": ("SHEETS_CRM_SYNC_TIME",),
}

_DIGEST_LANGS = ("auto", "en", "ru")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Variable names are conventionally upper-case; a lower-case "name" may be a
# password typed into the wrong key, so it is shown only when the variable exists.
_PLAIN_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_SECRETISH = re.compile(
    r"""(?im)^\s*["']?(password|passwd|smtp_password|secret|client_secret|token|"""
    r"""refresh_token|api_key|private_key)["']?\s*[=:]"""
)
# Keys whose bad values are never repeated in messages (they may hold a secret typed by mistake).
_NEVER_ECHO = frozenset({"digest.password_env"})


# --------------------------------------------------------------------------- value checks


class _Problem(ValueError):
    """A bad value, worded for the person who typed it; ``key`` names a key inside a table."""

    def __init__(self, problem: str, key: str | None = None) -> None:
        super().__init__(problem)
        self.key = key


def _text(key: str | None, value: Any) -> str:
    if not isinstance(value, str):
        raise _Problem(f"expected text in quotes, got {value!r}", key)
    return value.strip()


def _texts(value: Any) -> Any:
    """A list of texts (a single text counts as a list of one), stripped, empties dropped."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise _Problem(f'expected a list of texts, e.g. ["a", "b"], got {value!r}')
    return tuple(v.strip() for v in value if v.strip())


def _whole(low: int, high: int) -> BeforeValidator:
    """A whole number in ``low..high``; digits in quotes (environment, flags) count, true/false do not."""

    def check(value: Any) -> int:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Problem(f"expected a whole number, got {value!r}")
        if not low <= value <= high:
            raise _Problem(f"{value} is out of range ({low}..{high})")
        return value

    return BeforeValidator(check)


def _flag(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise _Problem(f"expected true or false, got {value!r}")


def _zone(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # None stays None; anything else fails as "expected text"
    name = value.strip()
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Problem(f"{name!r} is not a known IANA time zone (e.g. Europe/Moscow, America/New_York, UTC)") from None
    return name


def _sync_time(value: Any) -> dt.time:
    if not isinstance(value, (str, dt.time)):
        raise _Problem(f'expected a time like "08:00", got {value!r}')
    try:
        return parse_sync_time(value)
    except ValueError as exc:
        raise _Problem(str(exc)) from None


def _address(text: str) -> str:
    _, addr = parseaddr(text)
    if not addr or "@" not in addr or addr.startswith("@") or addr.endswith("@") or " " in addr:
        raise _Problem(f"{text!r} is not an e-mail address")
    return text


def _sender(text: str) -> str:
    return _address(text) if text else text  # unset ("") is reported by check_ready, when it matters


def _owners(value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise _Problem('expected a table: owners = { "Anna" = "anna@studio.example" }')
    return {str(owner).strip(): addrs for owner, addrs in value.items()}


def _lang(value: Any) -> str:
    lang = _text(None, value).lower()
    if lang not in _DIGEST_LANGS:
        raise _Problem(f"{lang!r} is not one of {', '.join(_DIGEST_LANGS)}")
    return lang


def _env_name(name: str) -> str:
    if not _ENV_NAME.match(name):
        # Never repeat the value: what people type here by mistake is the password itself.
        raise _Problem(
            "the value does not look like an environment variable name (letters, digits and _, not starting "
            "with a digit), so it is not shown here; this key names the variable that holds the password, "
            "never the password itself"
        )
    return name


def _columns(value: Any) -> Any:
    """``[columns]``: the person's headers mapped to template column ids.

    ``"Their header" = "phone"`` applies to every tab where that column is a user column;
    ``[columns.plan]`` (a tab id or a tab's name) holds mappings for one tab only. Column ids
    are checked against the template when it is built (:meth:`Config.template`).
    """
    if not isinstance(value, Mapping):
        raise _Problem('expected a table: [columns] "Their header" = "phone"')
    out: dict[str, dict[str, str]] = {}
    for key, item in value.items():
        if isinstance(item, Mapping):
            tab = out.setdefault(str(key).strip(), {})
            for header, column_id in item.items():
                tab[str(header).strip()] = _text(f"columns.{key}.{header}", column_id)
        else:
            out.setdefault("*", {})[str(key).strip()] = _text(f"columns.{key}", item)
    return MappingProxyType({tab: MappingProxyType(headers) for tab, headers in out.items()})


Flag = Annotated[bool, BeforeValidator(_flag)]
Texts = Annotated[tuple[str, ...], BeforeValidator(_texts)]
Address = Annotated[str, AfterValidator(_address)]
Addresses = Annotated[tuple[Address, ...], BeforeValidator(_texts)]
ZoneName = Annotated[str | None, BeforeValidator(_zone)]
SyncTime = Annotated[dt.time, BeforeValidator(_sync_time)]

_SETTINGS = ConfigDict(
    frozen=True,
    extra="forbid",
    str_strip_whitespace=True,
    hide_input_in_errors=True,  # pydantic's own messages never repeat a value (it may be a secret)
    validate_by_name=True,
    validate_by_alias=True,
)


# --------------------------------------------------------------------------- the settings


class DigestConfig(BaseModel):
    """The ``[digest]`` table: who gets the morning e-mail and how it is sent."""

    model_config = _SETTINGS

    enabled: Flag = False
    smtp_host: str = ""
    smtp_port: Annotated[int, _whole(1, 65535)] = 587
    starttls: Flag = True
    username: str | None = None
    #: The *name* of the variable holding the password; kept out of repr (it may be a mistyped password).
    password_env: Annotated[str, AfterValidator(_env_name)] = Field(default=DEFAULT_PASSWORD_ENV, repr=False)
    #: Loaded from ``$password_env`` at load time; None when unset/empty. Never in the file.
    password: SecretStr | None = Field(default=None, repr=False, exclude=True)
    sender: Annotated[str, AfterValidator(_sender)] = Field(default="", validation_alias="from")  # the "from" key
    to_team: Addresses = ()
    #: Owner name as typed in the sheet -> e-mail addresses.
    owners: Annotated[Mapping[str, Addresses], BeforeValidator(_owners)] = Field(default_factory=dict)
    subject_prefix: str = "[CRM]"
    lang: Annotated[str, BeforeValidator(_lang)] = "auto"

    @field_validator("username", mode="after")
    @classmethod
    def _blank_username_is_none(cls, value: str | None) -> str | None:
        return value or None

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
            if _PLAIN_ENV_NAME.match(self.password_env):
                export = f"export {self.password_env}=... before running"
            else:
                export = "check that digest.password_env names a variable and export it before running"
            raise ConfigError(
                f"{where} username is set but the environment variable {self._variable()} is empty or "
                f"missing: {export} (the password is never read from the config file)"
            )

    def _variable(self) -> str:
        """``password_env`` as safe to show: a name that may be a mistyped password is not shown."""
        if self.password is not None or _PLAIN_ENV_NAME.match(self.password_env):
            return self.password_env
        return "named in digest.password_env (not shown: it has lower-case letters, as a password might)"

    def password_status(self) -> str:
        """What ``config show`` prints instead of the password."""
        if self.password is not None:
            return f"set in ${self.password_env}"
        if _PLAIN_ENV_NAME.match(self.password_env):
            return f"not set (${self.password_env} is empty)"
        return f"not set (the variable {self._variable()} is empty)"


class Config(BaseModel):
    """The effective settings. Build it with :func:`load_config`."""

    model_config = _SETTINGS

    #: The config file that was read, or None when none was found.
    source: Path | None = None
    spreadsheets: Texts = ()
    credentials: Path | None = None
    #: IANA zone name; None = the machine's zone (see :meth:`zone`).
    time_zone: ZoneName = None
    sync_time: SyncTime = dt.time(8, 0)
    upcoming_days: Annotated[int, _whole(0, 366)] | None = None
    freshness_days: Annotated[int, _whole(1, 3650)] | None = None
    #: A scheduled sync that finds a workbook open in Excel/LibreOffice tries it again every so many
    #: minutes until this time of day (in ``time_zone``); a time at or before ``sync_time``: no retry.
    open_retry_until: SyncTime = dt.time(12, 0)
    open_retry_every_minutes: Annotated[int, _whole(1, 720)] = 5
    digest: DigestConfig = Field(default_factory=DigestConfig)
    #: The person's own headers: {tab id/name or "*": {their header: column id}} (``[columns]``).
    columns: Annotated[Mapping[str, Mapping[str, str]], BeforeValidator(_columns)] = Field(
        default_factory=lambda: MappingProxyType({})
    )
    #: Where each explicitly set value came from ("file ...", "env VAR", "command line").
    origins: Mapping[str, str] = Field(default_factory=dict)
    #: Files searched when none was found (for ``config show``).
    searched: tuple[Path, ...] = ()

    @field_validator("spreadsheets", mode="after")
    @classmethod
    def _targets_follow_their_layer(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        base = _base(info)
        return value if base is None else tuple(resolve_target(t, base) for t in value)

    @field_validator("credentials", mode="before")
    @classmethod
    def _credentials_path(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or isinstance(value, Path):
            return value
        text = _text(None, value)
        if not text:
            return None
        path = Path(os.path.expanduser(text))
        base = _base(info)
        return path if path.is_absolute() or base is None else base / path

    def zone(self) -> ZoneInfo:
        """The configured zone, else the machine's (tzlocal), else UTC."""
        if self.time_zone:
            return ZoneInfo(self.time_zone)
        from sheets_crm.core.dates import machine_zone  # the one rule for "this machine's zone"

        return machine_zone()

    def zone_name(self) -> str:
        return self.time_zone or self.zone().key

    def template(self, base: Template | None = None) -> Template:
        """The template with this config's upcoming/freshness days and header mapping applied."""
        base = base or default_template()
        template = base.with_settings(upcoming_days=self.upcoming_days, freshness_days=self.freshness_days)
        return _with_columns(template, self.columns, self.source)

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
        username = _mask(d.username) if d.username and masked else d.username
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
            "open_retry_until": format_sync_time(self.open_retry_until),
            "open_retry_every_minutes": self.open_retry_every_minutes,
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


def _base(info: ValidationInfo) -> Path | None:
    """The folder relative paths of the layer being validated are relative to (None: keep as given)."""
    context = info.context
    return context.get("base") if isinstance(context, dict) else None


def _mask(text: str) -> str:
    user, at, domain = text.partition("@")
    return (user[:2] + "***" + at + domain) if at else text[:2] + "***"


def _with_columns(template: Template, columns: Mapping[str, Mapping[str, str]], source: Path | None) -> Template:
    if not columns:
        return template
    try:
        return template.with_aliases(columns)
    except TemplateError as exc:
        raise ConfigError(f"{source or 'config'}: {exc}") from None


# The keys a person may set, per table, as spelled in the file (field aliases, e.g. "from").
def _keys(model: type[BaseModel], internal: tuple[str, ...]) -> dict[str, str]:
    """{key as written in the file: field name} for ``model``, leaving out ``internal`` fields."""
    out = {}
    for name, info in model.model_fields.items():
        if name not in internal:
            alias = info.validation_alias
            out[alias if isinstance(alias, str) else name] = name
    return out


_TOP_KEYS = _keys(Config, ("source", "origins", "searched"))
_DIGEST_KEYS = _keys(DigestConfig, ("password",))
_DIGEST_FILE_KEYS = {field: key for key, field in _DIGEST_KEYS.items()}
_OVERRIDE_KEYS = (
    *(k for k in _TOP_KEYS if k not in ("digest", "columns")),
    *(f"digest.{k}" for k in _DIGEST_KEYS if k != "password_env"),
)


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


_PHRASES = {
    "string_type": "expected text in quotes, got {input!r}",
    "model_type": "expected a [{name}] table",
    "model_attributes_type": "expected a [{name}] table",
    "dict_type": "expected a table",
    "mapping_type": "expected a table",
}


def _problem(error: Any) -> str:
    """One pydantic error as "key: what is wrong", never repeating a value that may be secret."""
    name = ".".join(str(part) for part in error["loc"] if isinstance(part, str))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _Problem):
        return f"{cause.key or name}: {cause}"
    if name in _NEVER_ECHO:
        return f'{name}: expected the name of an environment variable in quotes, e.g. "{DEFAULT_PASSWORD_ENV}"'
    phrase = _PHRASES.get(error["type"])
    if phrase is None:
        return f"{name}: {error['msg']}"
    return f"{name}: " + phrase.format(input=error.get("input"), name=name)


def _validate_layer(raw: Mapping[str, Any], where: str, base: Path) -> Config:
    """One layer's values, checked on their own; errors say ``where`` they came from."""
    try:
        return Config.model_validate(raw, context={"base": base})
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors(include_url=False)]
        raise ConfigError(f"{where}: " + "; ".join(problems)) from None


def _apply_layer(
    top: dict[str, Any], digest: dict[str, Any], origins: dict[str, str], layer: Config, origin: str
) -> None:
    """Copy the values ``layer`` set (and only those) over the lower layers'."""
    for name in layer.model_fields_set - {"digest"}:
        top[name] = getattr(layer, name)
        origins[name] = origin
    if "digest" in layer.model_fields_set:
        for name in layer.digest.model_fields_set:
            digest[name] = getattr(layer.digest, name)
            origins[f"digest.{_DIGEST_FILE_KEYS[name]}"] = origin


def _file_layer(source: Path) -> Config:
    data = _read_file(source)
    where = str(source)
    _check_keys(data, tuple(_TOP_KEYS), where)
    raw_digest = data.get("digest", {})
    if not isinstance(raw_digest, Mapping):
        raise ConfigError(f"{where}: digest: expected a [digest] table")
    _check_keys(raw_digest, tuple(_DIGEST_KEYS), where, "digest")
    return _validate_layer(data, where, source.parent)


def _command_line_layer(overrides: Mapping[str, Any], cwd: Path) -> Config:
    unknown = [k for k in overrides if k not in _OVERRIDE_KEYS]
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}{_suggest(unknown[0], _OVERRIDE_KEYS)}")
    given = {k: v for k, v in overrides.items() if v is not None}
    raw: dict[str, Any] = {k: v for k, v in given.items() if not k.startswith("digest.")}
    digest = {k.removeprefix("digest."): v for k, v in given.items() if k.startswith("digest.")}
    if digest:
        raw["digest"] = digest
    return _validate_layer(raw, "command line", cwd)


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

    if source is not None:
        _apply_layer(top, digest, origins, _file_layer(source), f"file {source}")
    for key, names in ENV_VARS.items():
        for name in names:
            value = env.get(name, "").strip()
            if value:
                layer = _validate_layer({key: value}, f"environment variable {name}", cwd)
                _apply_layer(top, digest, origins, layer, f"env {name}")
                break
    if overrides:
        _apply_layer(top, digest, origins, _command_line_layer(overrides, cwd), "command line")

    # The SMTP port follows STARTTLS unless set: 587 (submission) or 25.
    if "smtp_port" not in digest and digest.get("starttls") is False:
        digest["smtp_port"] = 25
    password = env.get(digest.get("password_env", DEFAULT_PASSWORD_ENV)) or None
    digest_config = DigestConfig(**digest, password=SecretStr(password) if password else None)
    return Config(source=source, **top, digest=digest_config, origins=MappingProxyType(origins), searched=searched)
