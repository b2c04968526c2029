"""sheets-crm.toml: search order, precedence, validation, masking, permissions."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest

from sheets_crm.app.config import (
    DEFAULT_PASSWORD_ENV,
    Config,
    DigestConfig,
    Secret,
    find_config_file,
    is_google_target,
    load_config,
    resolve_target,
    warn_if_readable_by_others,
)
from sheets_crm.errors import ConfigError

SHEET_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd"

FULL = f"""
spreadsheets = ["crm.xlsx", "https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit", "{SHEET_ID}"]
credentials = "secrets/service-account.json"
time_zone = "Europe/Moscow"
sync_time = "07:45"
upcoming_days = 10
freshness_days = 21

[digest]
enabled = true
smtp_host = "smtp.studio.example"
smtp_port = 2525
username = "robot@studio.example"
from = "CRM robot <robot@studio.example>"
to_team = ["team@studio.example"]
subject_prefix = "[Studio CRM]"

[digest.owners]
"Anna" = "anna@studio.example"
"Борис" = ["boris@studio.example", "boris.mobile@studio.example"]
"""


def write(folder: Path, text: str, name: str = "sheets-crm.toml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(
    tmp_path: Path,
    text: str | None = None,
    *,
    env: dict | None = None,
    overrides: dict | None = None,
    cwd: Path | None = None,
) -> Config:
    """Load with an isolated cwd and user folder: never the real user's config."""
    folder = tmp_path / "project"
    folder.mkdir(parents=True, exist_ok=True)
    if text is not None:
        write(folder, text)
    return load_config(None, env or {}, overrides, cwd=cwd or folder, user_file=tmp_path / "user" / "sheets-crm.toml")


# --------------------------------------------------------------------------- reading


def test_full_file_is_read_and_relative_paths_follow_the_file(tmp_path):
    config = load(tmp_path, FULL, env={DEFAULT_PASSWORD_ENV: "hunter2"})
    folder = tmp_path / "project"
    assert config.source == folder / "sheets-crm.toml"
    assert config.spreadsheets == (
        str(folder / "crm.xlsx"),
        f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit",
        SHEET_ID,
    )
    assert config.credentials == folder / "secrets" / "service-account.json"
    assert config.time_zone == "Europe/Moscow" and config.zone().key == "Europe/Moscow"
    assert config.sync_time == dt.time(7, 45)
    assert (config.upcoming_days, config.freshness_days) == (10, 21)
    d = config.digest
    assert d.enabled and d.starttls  # STARTTLS is on unless switched off
    assert (d.smtp_host, d.smtp_port, d.username) == ("smtp.studio.example", 2525, "robot@studio.example")
    assert d.sender == "CRM robot <robot@studio.example>"
    assert d.to_team == ("team@studio.example",)
    assert dict(d.owners) == {
        "Anna": ("anna@studio.example",),
        "Борис": ("boris@studio.example", "boris.mobile@studio.example"),
    }
    assert d.password is not None and d.password.get_secret_value() == "hunter2"
    d.check_ready()


def test_template_gets_the_configured_days(tmp_path):
    settings = load(tmp_path, FULL).template().settings
    assert (settings.upcoming_days, settings.freshness_days) == (10, 21)
    defaults = load(tmp_path / "other").template().settings
    assert (defaults.upcoming_days, defaults.freshness_days) == (7, 30)


def test_no_file_gives_defaults_and_says_where_it_looked(tmp_path):
    config = load(tmp_path)
    assert config.source is None and config.spreadsheets == ()
    assert config.sync_time == dt.time(8, 0) and config.time_zone is None
    assert config.zone().key  # the machine's zone, whatever it is
    shown = config.show()
    assert "none found" in shown["config_file"] and "sheets-crm.toml" in shown["config_file"]
    assert "this machine's zone" in shown["time_zone"]


def test_toml_local_time_literal_is_accepted(tmp_path):
    assert load(tmp_path, "sync_time = 06:30:00\n").sync_time == dt.time(6, 30)


def test_a_single_spreadsheet_may_be_a_plain_string(tmp_path):
    assert load(tmp_path, 'spreadsheets = "~/crm.xlsx"\n').spreadsheets == (str(Path.home() / "crm.xlsx"),)


@pytest.mark.parametrize(
    "target, google",
    [
        (SHEET_ID, True),
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}", True),
        ("crm.xlsx", False),
        ("Sales/crm.xlsx", False),
        ("a_very_long_workbook_name_without_dots.xlsx", False),
    ],
)
def test_google_targets_are_told_from_paths(target, google, tmp_path):
    assert is_google_target(target) is google
    resolved = resolve_target(target, tmp_path)
    assert (resolved == target) if google else resolved == str(tmp_path / target)


# --------------------------------------------------------------------------- search order


def test_search_order(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    user = write(tmp_path / "user", "sync_time = '05:00'\n")
    assert find_config_file(None, {}, cwd=cwd, user_file=user)[0] == user
    local = write(cwd, "sync_time = '06:00'\n")
    assert find_config_file(None, {}, cwd=cwd, user_file=user)[0] == local
    from_env = write(tmp_path / "env", "x = 1\n", "custom.toml")
    assert find_config_file(None, {"SHEETS_CRM_CONFIG": str(from_env)}, cwd=cwd, user_file=user)[0] == from_env
    explicit = write(tmp_path / "flag", "x = 1\n", "flag.toml")
    assert find_config_file(str(explicit), {"SHEETS_CRM_CONFIG": str(from_env)}, cwd=cwd, user_file=user)[0] == explicit


def test_an_explicit_config_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found: .*nope.toml.*--config"):
        load_config("nope.toml", {}, cwd=tmp_path, user_file=tmp_path / "u.toml")
    with pytest.raises(ConfigError, match=r"\$SHEETS_CRM_CONFIG"):
        load_config(
            None, {"SHEETS_CRM_CONFIG": str(tmp_path / "gone.toml")}, cwd=tmp_path, user_file=tmp_path / "u.toml"
        )


# --------------------------------------------------------------------------- precedence


def test_environment_overrides_file_and_flags_override_both(tmp_path):
    env = {
        "SHEETS_CRM_TZ": "Asia/Tokyo",
        "SHEETS_CRM_SYNC_TIME": "09:15",
        "GOOGLE_APPLICATION_CREDENTIALS": "/etc/gac.json",
    }
    config = load(tmp_path, FULL, env=env)
    assert config.time_zone == "Asia/Tokyo" and config.sync_time == dt.time(9, 15)
    assert config.credentials == Path("/etc/gac.json")
    assert config.origins["time_zone"] == "env SHEETS_CRM_TZ"
    assert config.origins["upcoming_days"].startswith("file ")

    env["SHEETS_CRM_CREDENTIALS"] = "/etc/mine.json"  # the tool's own variable wins over Google's
    assert load(tmp_path, FULL, env=env).credentials == Path("/etc/mine.json")

    flags = {
        "time_zone": "America/New_York",
        "sync_time": "06:00",
        "upcoming_days": 3,
        "credentials": None,
        "digest.enabled": False,
    }
    config = load(tmp_path, FULL, env=env, overrides=flags)
    assert config.time_zone == "America/New_York" and config.sync_time == dt.time(6, 0)
    assert config.upcoming_days == 3 and not config.digest.enabled
    assert config.credentials == Path("/etc/mine.json")  # None = flag not given
    assert config.origins["time_zone"] == "command line"


def test_paths_from_flags_and_environment_are_relative_to_the_current_folder(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = load(
        tmp_path,
        FULL,
        env={"SHEETS_CRM_CREDENTIALS": "key.json"},
        overrides={"spreadsheets": ["other.xlsx"]},
        cwd=elsewhere,
    )
    assert config.credentials == elsewhere / "key.json"
    assert config.spreadsheets == (str(elsewhere / "other.xlsx"),)


def test_unknown_override_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="unknown setting 'timezone'.*did you mean 'time_zone'"):
        load(tmp_path, overrides={"timezone": "UTC"})


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "text, message",
    [
        ('time_zone = "Mars/Olympus"\n', r"time_zone: 'Mars/Olympus' is not a known IANA time zone"),
        ('sync_time = "25:00"\n', r"sync_time: '25:00' is not a time of day"),
        ("sync_time = 8\n", r"sync_time: expected a time like \"08:00\""),
        ("upcoming_days = -1\n", r"upcoming_days: -1 is out of range"),
        ('freshness_days = "soon"\n', r"freshness_days: expected a whole number"),
        ("spreadsheets = [1, 2]\n", r"spreadsheets: expected a list of texts"),
        ("[digest]\nsmtp_port = 70000\n", r"digest.smtp_port: 70000 is out of range"),
        ('[digest]\nstarttls = "maybe"\n', r"digest.starttls: expected true or false"),
        ('[digest]\nto_team = ["not an address"]\n', r"digest.to_team: 'not an address' is not an e-mail"),
        ('[digest]\nowners = "Anna"\n', r"digest.owners: expected a table"),
        ('[digest]\nowners = {Anna = "anna"}\n', r"digest.owners.Anna: 'anna' is not an e-mail"),
        ('[digest]\nlang = "de"\n', r"digest.lang: 'de' is not one of auto, en, ru"),
        ('[digest]\npassword_env = "s3cr3t pass"\n', r"digest.password_env: .* never the password itself"),
        ("digest = 3\n", r"digest: expected a \[digest\] table"),
    ],
)
def test_bad_values_name_the_key_and_the_file(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as info:
        load(tmp_path, text)
    assert str(tmp_path / "project" / "sheets-crm.toml") in str(info.value)


def test_unknown_keys_name_the_key_the_file_and_the_allowed_keys(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, 'timezone = "UTC"\n')
    message = str(info.value)
    assert "unknown key 'timezone'" in message and "did you mean 'time_zone'" in message
    assert "allowed keys: spreadsheets, credentials, time_zone" in message
    assert "sheets-crm.toml" in message
    with pytest.raises(ConfigError, match=r"unknown key 'digest.password'.*allowed keys: enabled, smtp_host"):
        load(tmp_path, '[digest]\npassword = "hunter2"\n')


def test_invalid_toml_says_where(tmp_path):
    with pytest.raises(ConfigError, match=r"sheets-crm.toml: not valid TOML: .*line 1"):
        load(tmp_path, "sync_time = \n")


def test_bad_environment_value_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="environment variable SHEETS_CRM_TZ: time_zone: 'Nowhere'"):
        load(tmp_path, env={"SHEETS_CRM_TZ": "Nowhere"})
    with pytest.raises(ConfigError, match="environment variable SHEETS_CRM_SYNC_TIME: sync_time: '8pm'"):
        load(tmp_path, env={"SHEETS_CRM_SYNC_TIME": "8pm"})


def test_bad_flag_value_says_command_line(tmp_path):
    with pytest.raises(ConfigError, match="command line: sync_time: '25:00'"):
        load(tmp_path, overrides={"sync_time": "25:00"})


def test_port_follows_starttls_unless_set(tmp_path):
    assert load(tmp_path, "[digest]\n").digest.smtp_port == 587
    assert load(tmp_path, "[digest]\nstarttls = false\n").digest.smtp_port == 25
    assert load(tmp_path, "[digest]\nstarttls = false\nsmtp_port = 2525\n").digest.smtp_port == 2525


@pytest.mark.parametrize(
    "digest, message",
    [
        (DigestConfig(enabled=True, sender="a@b.example", to_team=("t@b.example",)), "smtp_host is not set"),
        (DigestConfig(enabled=True, smtp_host="h", to_team=("t@b.example",)), "from is not set"),
        (DigestConfig(enabled=True, smtp_host="h", sender="a@b.example"), "no recipients"),
        (
            DigestConfig(
                enabled=True,
                smtp_host="h",
                sender="a@b.example",
                to_team=("t@b.example",),
                username="u",
                password_env="MY_SMTP_PW",
            ),
            r"MY_SMTP_PW is empty or missing: export MY_SMTP_PW=",
        ),
    ],
)
def test_digest_check_ready_explains_what_is_missing(digest, message):
    with pytest.raises(ConfigError, match=message):
        digest.check_ready()


# --------------------------------------------------------------------------- showing


def test_show_never_contains_the_password_and_says_where_it_is(tmp_path):
    config = load(tmp_path, FULL + "\n", env={DEFAULT_PASSWORD_ENV: "hunter2-very-secret"})
    shown = config.show()
    dumped = json.dumps(shown, ensure_ascii=False)
    assert "hunter2-very-secret" not in dumped
    assert "hunter2-very-secret" not in repr(config) and "hunter2-very-secret" not in str(config.digest)
    assert shown["digest"]["password"] == f"set in ${DEFAULT_PASSWORD_ENV}"
    assert shown["digest"]["username"] == "ro***@studio.example"
    assert config.show(masked=False)["digest"]["username"] == "robot@studio.example"
    assert "hunter2-very-secret" not in json.dumps(config.show(masked=False))
    assert shown["sync_time"] == "07:45" and shown["time_zone"] == "Europe/Moscow"
    assert shown["digest"]["owners"]["Борис"] == ["boris@studio.example", "boris.mobile@studio.example"]
    assert shown["sources"]["digest.smtp_host"].startswith("file ")


def test_show_reports_a_missing_password_and_a_custom_variable(tmp_path):
    config = load(
        tmp_path,
        FULL.replace("[digest]\n", '[digest]\npassword_env = "STUDIO_SMTP"\n'),
        env={DEFAULT_PASSWORD_ENV: "not this one"},
    )
    assert config.digest.password is None
    assert config.show()["digest"]["password"] == "not set ($STUDIO_SMTP is empty)"


def test_show_mentions_the_credentials_path_but_never_its_contents(tmp_path):
    folder = tmp_path / "project"
    key = write(
        folder / "secrets",
        '{"type": "service_account", "private_key": "-----BEGIN KEY-----abc"}',
        "service-account.json",
    )
    key.chmod(0o600)
    shown = load(tmp_path, FULL).show()
    assert shown["credentials"] == str(key)
    assert "BEGIN" not in json.dumps(shown)


def windows(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(len(text) - size + 1)] or [text]


@pytest.mark.parametrize("mistake", ["s3cr3t pass!", "p@ssw0rd-2026", "9lives_of_a_cat"])
def test_a_password_typed_into_password_env_is_never_echoed(tmp_path, mistake):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, FULL.replace("[digest]\n", f'[digest]\npassword_env = "{mistake}"\n'))
    message = str(info.value)
    assert "digest.password_env: the value does not look like an environment variable name" in message
    assert "so it is not shown" in message and str(tmp_path / "project" / "sheets-crm.toml") in message
    assert not [w for w in windows(mistake) if w in message]
    assert not [w for w in windows(mistake) if w in repr(info.value.__context__)]  # not in the chained error either
    with pytest.raises(ConfigError) as info:  # a number where the name goes: said without repeating it
        load(tmp_path, "[digest]\npassword_env = 73194628\n")
    assert "digest.password_env: expected the name of an environment variable" in str(info.value)
    assert "73194628" not in str(info.value)


def test_a_lower_case_password_env_that_may_be_a_password_is_not_shown_unless_set(tmp_path):
    mistake = "Tr0ub4dor_and_3"  # a valid variable name, but more likely a password
    text = FULL.replace("[digest]\n", f'[digest]\npassword_env = "{mistake}"\n')
    config = load(tmp_path, text)
    shown = json.dumps(config.show(masked=False))
    assert "not set (the variable named in digest.password_env (not shown" in shown
    with pytest.raises(ConfigError) as info:
        config.digest.check_ready()
    assert "username is set but the environment variable named in digest.password_env" in str(info.value)
    for said in (shown, str(info.value), repr(config)):
        assert not [w for w in windows(mistake) if w in said]
    # a real variable by that name: then it is a name, and saying where the password is helps
    assert load(tmp_path, text, env={mistake: "pw"}).show()["digest"]["password"] == f"set in ${mistake}"


def test_secret_hides_itself():
    secret = Secret("pw")
    assert "pw" not in repr(secret) and "pw" not in str(secret) and f"{secret}" == "**********"
    assert secret.get_secret_value() == "pw"


# --------------------------------------------------------------------------- permissions


posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@posix_only
def test_readable_file_with_a_password_is_warned_about(tmp_path):
    path = write(tmp_path, '[digest]\npassword = "hunter2"\n', "a.toml")
    path.chmod(0o644)
    warning = warn_if_readable_by_others(path)
    assert warning and "contains a password" in warning and "everyone" in warning
    assert f"chmod 600 {path}" in warning and "0644" in warning
    assert "hunter2" not in warning
    path.chmod(0o600)
    assert warn_if_readable_by_others(path) is None


@posix_only
def test_readable_file_without_secrets_is_fine(tmp_path):
    path = write(tmp_path, FULL, "b.toml")  # names password_env only
    path.chmod(0o644)
    assert warn_if_readable_by_others(path) is None


@posix_only
def test_group_readable_credentials_are_warned_about(tmp_path):
    key = write(tmp_path, '{"private_key": "-----BEGIN PRIVATE KEY-----\\nabc"}', "key.json")
    key.chmod(0o640)
    warning = warn_if_readable_by_others(key)
    assert warning and "private key" in warning and "its group" in warning
    assert "abc" not in warning.replace(str(key), "")


@posix_only
def test_config_collects_warnings_for_its_files(tmp_path):
    folder = tmp_path / "project"
    key = write(folder / "secrets", '{"private_key": "x"}', "service-account.json")
    key.chmod(0o604)
    config = load(tmp_path, FULL)
    (folder / "sheets-crm.toml").chmod(0o644)
    warnings = config.security_warnings()
    assert len(warnings) == 1 and str(key) in warnings[0]
    assert config.show()["warnings"] == warnings


def test_missing_file_gives_no_warning(tmp_path):
    assert warn_if_readable_by_others(tmp_path / "nope") is None
    assert stat.S_IMODE(0o600) == 0o600
