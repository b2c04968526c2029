"""``schedule --print-cron`` / ``--print-systemd``: ready entries with this machine's real paths.

:func:`where` finds the paths (the installed command, the config file, the lock shared with
``sheets-crm schedule``, the optional secrets file); :func:`cron_entry` and :func:`systemd_units`
are pure text from them, so the tests can check them exactly.
"""

from __future__ import annotations

import datetime as dt
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Paths", "cron_entry", "systemd_units", "where"]


@dataclass(frozen=True)
class Paths:
    command: str  #: how to start sheets-crm, absolute (shell-quoted words)
    config: Path
    lock: Path
    env: Path  #: optional file of secrets (SHEETS_CRM_SMTP_PASSWORD=...), chmod 600
    log: Path  #: where cron appends the output
    units: Path  #: the user's systemd unit folder


def command_path() -> str:
    """The sheets-crm command as cron or systemd must call it: absolute, no PATH needed."""
    found = shutil.which("sheets-crm")
    if found:
        return shlex.quote(str(Path(found).absolute()))
    script = Path(sys.argv[0])
    if script.name == "sheets-crm" and script.exists():
        return shlex.quote(str(script.absolute()))
    return f"{shlex.quote(sys.executable)} -m sheets_crm"


def where(config: Path) -> Paths:
    from sheets_crm.app.config import user_config_path
    from sheets_crm.app.runner import default_lock_path

    lock = default_lock_path()
    return Paths(
        command=command_path(),
        config=config.absolute(),
        lock=lock,
        env=user_config_path().parent / "env",
        log=lock.parent / "cron.log",
        units=Path.home() / ".config" / "systemd" / "user",
    )


def _q(path: Path) -> str:
    return shlex.quote(str(path))


def cron_entry(paths: Paths, at: dt.time, zone: str, machine_zone: str, on: dt.date, *, digest: bool = True) -> str:
    """A crontab block: the daily sync (with the digest as configured), never two at once (flock)."""
    lines = [
        "# sheets-crm: the morning sync. Install: `crontab -e`, paste these lines.",
        f"# Needs once: mkdir -p {_q(paths.lock.parent)}",
        f"# Secrets (optional, chmod 600): {paths.env} with lines like",
        "#   export SHEETS_CRM_SMTP_PASSWORD='...'",
    ]
    hour, minute = at.hour, at.minute
    if zone != machine_zone:
        from zoneinfo import ZoneInfo

        local = dt.datetime.combine(on, at, ZoneInfo(zone)).astimezone(ZoneInfo(machine_zone))
        lines += [
            f"# {at:%H:%M} in {zone} is {local:%H:%M} in this machine's zone ({machine_zone}) on {on.isoformat()}.",
            "# CRON_TZ makes cron read the times in the sheet's zone (cronie honours it; if your cron",
            f"# ignores it, delete the CRON_TZ line and use {local.minute} {local.hour} * * * instead).",
            f"CRON_TZ={zone}",
        ]
    command = (
        f". {_q(paths.env)} 2>/dev/null; cd {_q(paths.config.parent)} && "
        f"flock -n {_q(paths.lock)} {paths.command} sync{' --digest' if digest else ''} --config {_q(paths.config)} "
        f">> {_q(paths.log)} 2>&1"
    )
    lines.append(f"{minute} {hour} * * * {command}")
    return "\n".join(lines) + "\n"


def systemd_units(paths: Paths, at: dt.time, zone: str, *, digest: bool = True) -> str:
    """A user service (one sync) and its timer (daily at ``at`` in ``zone``), each under its file name."""
    service = paths.units / "sheets-crm-sync.service"
    timer = paths.units / "sheets-crm-sync.timer"
    return (
        f"# Save the two files below, then:\n"
        f"#   systemctl --user daemon-reload && systemctl --user enable --now sheets-crm-sync.timer\n"
        f'#   loginctl enable-linger "$USER"   # run even when you are not logged in\n'
        f"# Check: systemctl --user list-timers; journalctl --user -u sheets-crm-sync.service\n"
        f"\n"
        f"# ---- {service}\n"
        f"[Unit]\n"
        f"Description=sheets-crm morning sync\n"
        f"Wants=network-online.target\n"
        f"After=network-online.target\n"
        f"\n"
        f"[Service]\n"
        f"Type=oneshot\n"
        f"WorkingDirectory={paths.config.parent}\n"
        f"# Secrets (optional): SHEETS_CRM_SMTP_PASSWORD=... in this file, chmod 600\n"
        f"EnvironmentFile=-{paths.env}\n"
        f"ExecStartPre=/usr/bin/mkdir -p {paths.lock.parent}\n"
        f"ExecStart=/usr/bin/flock -n {paths.lock} {paths.command} sync{' --digest' if digest else ''} "
        f"--config {paths.config}\n"
        f"TimeoutStartSec=15min\n"
        f"\n"
        f"# ---- {timer}\n"
        f"[Unit]\n"
        f"Description=sheets-crm morning sync at {at:%H:%M} {zone}\n"
        f"\n"
        f"[Timer]\n"
        f"OnCalendar=*-*-* {at:%H:%M}:00 {zone}\n"
        f"Persistent=true\n"
        f"AccuracySec=1min\n"
        f"Unit=sheets-crm-sync.service\n"
        f"\n"
        f"[Install]\n"
        f"WantedBy=timers.target\n"
    )
