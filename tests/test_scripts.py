"""scripts/: the scheduling examples are well-formed and call `sheets-crm sync`.

They cannot be run here (no cron daemon, systemd, GitHub or Windows), so the
tests read them: the structure each tool requires, the zone handling and the
no-overlap guard each one is meant to show.
"""

from __future__ import annotations

import configparser
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def read(name: str) -> str:
    return (SCRIPTS / name).read_text(encoding="utf-8")


def active_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def cron_fields_ok(fields: list[str]) -> bool:
    ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    for value, (low, high) in zip(fields, ranges, strict=True):
        for part in value.split(","):
            part = part.split("/")[0]
            if part == "*":
                continue
            for number in part.split("-"):
                if not number.isdigit() or not low <= int(number) <= high:
                    return False
    return True


# --------------------------------------------------------------------------- cron


def test_cron_line():
    lines = active_lines(read("cron.txt"))
    env = [line for line in lines if re.match(r"^[A-Z_]+=", line)]
    jobs = [line for line in lines if line not in env]
    assert env == ["CRON_TZ=Europe/Moscow"]
    ZoneInfo(env[0].split("=", 1)[1])
    assert len(jobs) == 1
    fields = jobs[0].split(None, 5)
    assert len(fields) == 6 and cron_fields_ok(fields[:5]), fields[:5]
    assert fields[:5] == ["0", "8", "*", "*", "*"]
    command = fields[5]
    assert "sheets-crm sync" in command
    assert re.search(r"flock -n \S*sheets-crm\.lock", command)  # the lock `schedule` uses too
    assert re.search(r">> \S*\.log\" 2>&1$", command)
    assert "%" not in command  # cron turns % into newlines


# --------------------------------------------------------------------------- systemd


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(read(f"systemd/{name}"))
    return parser


def test_systemd_sync_service():
    service = unit("sheets-crm-sync.service")
    assert service.sections() == ["Unit", "Service"]
    assert service["Service"]["Type"] == "oneshot"
    exec_start = service["Service"]["ExecStart"]
    assert "sheets-crm sync" in exec_start and "flock -n" in exec_start
    assert exec_start.split()[0].startswith("/")  # systemd wants an absolute path
    assert service["Service"]["EnvironmentFile"].startswith("-")  # secrets come from a private file
    assert "Environment" not in service["Service"]  # and never from the unit itself


def test_systemd_timer_has_a_zone_and_catches_up():
    timer = unit("sheets-crm-sync.timer")
    assert timer.sections() == ["Unit", "Timer", "Install"]
    on_calendar = timer["Timer"]["OnCalendar"]
    match = re.fullmatch(r"\*-\*-\* (\d\d):(\d\d):(\d\d) (\S+)", on_calendar)
    assert match, on_calendar
    ZoneInfo(match[4])
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "sheets-crm-sync.service"
    assert (SCRIPTS / "systemd" / timer["Timer"]["Unit"]).is_file()
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_schedule_service():
    service = unit("sheets-crm-schedule.service")
    assert service.sections() == ["Unit", "Service", "Install"]
    assert service["Service"]["ExecStart"].endswith("sheets-crm schedule")
    assert service["Service"]["KillSignal"] == "SIGTERM"
    assert service["Service"]["Restart"] == "on-failure"
    assert re.fullmatch(r"\d+min", service["Service"]["TimeoutStopSec"])  # time to finish a run


# --------------------------------------------------------------------------- GitHub Actions


def test_github_actions_workflow():
    text = read("github-actions-sync.yml")
    assert "\t" not in text
    for line in active_lines(text):
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 2 == 0, line
    try:
        import yaml
    except ImportError:
        yaml = None
    if yaml is not None:  # pragma: no cover - PyYAML is not a dependency
        data = yaml.safe_load(text)
        crons = [entry["cron"] for entry in data[True]["schedule"]]  # YAML 1.1 reads `on` as True
        steps = data["jobs"]["sync"]["steps"]
        runs = " ".join(step.get("run", "") for step in steps)
    else:
        assert re.search(r"^on:\n  schedule:\n    (#.*\n    )*- cron: ", text, re.M)
        assert re.search(r"^jobs:\n  sync:\n    runs-on: \S+", text, re.M)
        assert re.search(r"^    steps:\n", text, re.M)
        crons = re.findall(r'- cron: "([^"]+)"', text)
        runs = " ".join(re.findall(r"run: (.*)", text))
    assert len(crons) == 1 and len(crons[0].split()) == 5 and cron_fields_ok(crons[0].split())
    assert "sheets-crm sync" in runs
    assert "astral-sh/setup-uv" in text
    assert "${{ secrets.GOOGLE_CREDENTIALS }}" in text
    assert "umask 077" in text and "rm -f" in text
    assert "UTC" in text and "Europe/Moscow" in text  # the zone is explained next to the cron
    assert "cancel-in-progress: false" in text


# --------------------------------------------------------------------------- Windows


NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


def test_windows_task_xml():
    root = ET.fromstring(read("windows-task.xml").encode("utf-8"))
    assert root.tag == f"{{{NS['t']}}}Task"
    trigger = root.find("t:Triggers/t:CalendarTrigger", NS)
    assert trigger is not None
    start = trigger.findtext("t:StartBoundary", namespaces=NS)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT08:00:00[+-]\d\d:\d\d", start)  # explicit offset
    assert trigger.findtext("t:ScheduleByDay/t:DaysInterval", namespaces=NS) == "1"
    settings = root.find("t:Settings", NS)
    assert settings.findtext("t:MultipleInstancesPolicy", namespaces=NS) == "IgnoreNew"
    assert settings.findtext("t:StartWhenAvailable", namespaces=NS) == "true"
    command = root.findtext("t:Actions/t:Exec/t:Command", namespaces=NS)
    arguments = root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=NS)
    assert command.lower().endswith("uv.exe") and arguments == "run sheets-crm sync"


def test_windows_task_powershell():
    text = read("windows-task.ps1")
    assert text.count("{") == text.count("}") and text.count("(") == text.count(")")
    for cmdlet in (
        "New-ScheduledTaskAction",
        "New-ScheduledTaskTrigger",
        "New-ScheduledTaskSettingsSet",
        "Register-ScheduledTask",
    ):
        assert cmdlet in text
    assert re.search(r"New-ScheduledTaskTrigger -Daily -At \$At", text)
    assert '[string]$At = "08:00"' in text
    assert "-MultipleInstances IgnoreNew" in text and "-StartWhenAvailable" in text
    assert "run sheets-crm sync" in text


@pytest.mark.parametrize(
    "name",
    [
        "cron.txt",
        "systemd/sheets-crm-sync.service",
        "systemd/sheets-crm-schedule.service",
        "github-actions-sync.yml",
        "windows-task.ps1",
        "windows-task.xml",
    ],
)
def test_no_script_contains_a_secret(name):
    text = read(name)
    without_refs = re.sub(r"\$\{\{\s*secrets\.\w+\s*\}\}", "<secret reference>", text)
    assert not re.search(r"(?i)(password|token|secret)\w*\s*[=:]\s*['\"]?[A-Za-z0-9]{6,}", without_refs), name
    assert "BEGIN PRIVATE KEY" not in text
