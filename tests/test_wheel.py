"""The sheets-crm wheel holds the product and nothing else: its modules, template and py.typed — no stand-in, no tests.

Builds the wheel with ``uv build`` (hatchling backend) offline into a temporary folder; skips when uv, or the
build backend in uv's cache, is not available on this machine.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = shutil.which("uv")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    if UV is None:
        pytest.skip("uv is not installed")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [UV, "build", "--wheel", "--offline", "--out-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    if done.returncode != 0 and ("offline" in done.stderr.lower() or "network" in done.stderr.lower()):
        pytest.skip(f"the build backend is not available offline: {done.stderr.strip()[-300:]}")
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("sheets_crm-*.whl")
    return zipfile.ZipFile(built)


def test_wheel_holds_the_product(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    modules = {n for n in names if n.startswith("sheets_crm/") and n.endswith(".py")}
    for expected in (
        "sheets_crm/__init__.py",
        "sheets_crm/core/planner.py",
        "sheets_crm/backends/google/workbook.py",
        "sheets_crm/cli/main.py",
    ):
        assert expected in modules
    assert len(modules) > 20
    assert "sheets_crm/templates/default.toml" in names
    assert "sheets_crm/py.typed" in names


def test_wheel_holds_no_stand_in_and_no_tests(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert not [n for n in names if "google_standin" in n or n.startswith("standin/")]
    assert not [n for n in names if n.startswith(("tests/", "bench/")) or "/tests/" in n or "conftest" in n]
    assert {n.split("/")[0] for n in names} == {"sheets_crm", "sheets_crm-0.1.0.dist-info"}


def test_wheel_does_not_depend_on_the_stand_in(wheel: zipfile.ZipFile) -> None:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    requires = Parser().parsestr(wheel.read(metadata).decode()).get_all("Requires-Dist") or []
    assert requires and not [r for r in requires if "standin" in r or "pytest" in r]
