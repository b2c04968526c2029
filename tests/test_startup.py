"""Start-up stays light: `--help` and `--version` load no data or network library (behaviour, not timing).

The timing target (under 0.3 s median) is measured by hand (see the README's command-line section);
here each check runs in a fresh interpreter, because this test process has long since imported pandas.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest

HEAVY = ("pandas", "numpy", "openpyxl", "gspread", "requests", "google.auth", "rich")

PROBE = """
import json, sys
args, watched = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.argv = ["sheets-crm", *args]
from sheets_crm.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "loaded": sorted(m for m in watched if m in sys.modules)}), file=sys.stderr)
"""


def _probe(args: list[str]) -> tuple[dict, str, str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    *rest, last = done.stderr.strip().splitlines()
    return json.loads(last), done.stdout, "\n".join(rest)


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["sync", "--help"], ["today", "--help"], []])
def test_help_and_version_load_no_heavy_library(args):
    result, stdout, stderr = _probe(args)
    assert result["loaded"] == [], f"`sheets-crm {' '.join(args)}` imported {result['loaded']}"
    if args:
        assert result["code"] in (0, None)
        assert stdout.strip()
    else:  # no arguments: the help, as a usage error
        assert result["code"] == 2
        assert "Usage:" in stderr


def test_version_comes_from_the_package_metadata():
    result, stdout, _ = _probe(["--version"])
    assert result["code"] in (0, None)
    assert stdout == f"sheets-crm {version('sheets-crm')}\n"


def test_importing_the_package_is_lazy_but_the_public_api_works():
    code = (
        "import sys, sheets_crm\n"
        "assert 'pandas' not in sys.modules and 'openpyxl' not in sys.modules, 'eager import'\n"
        "from sheets_crm import LocalWorkbook, sync, CrmError, Call\n"
        "assert LocalWorkbook.__module__ == 'sheets_crm.backends.local.workbook'\n"
        "assert sync.__module__ == 'sheets_crm.app.sync'\n"
        "ns = {}\n"
        "exec('from sheets_crm import *', ns)\n"
        "missing = [n for n in sheets_crm.__all__ if n not in ns]\n"
        "assert not missing, missing\n"
        "assert set(sheets_crm.__all__) <= set(dir(sheets_crm))\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"


def test_an_unknown_name_is_an_attribute_error():
    import sheets_crm

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sheets_crm.nope  # noqa: B018
    assert sheets_crm.__version__ == version("sheets-crm")
