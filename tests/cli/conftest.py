"""End-to-end helpers: run the real installed ``station`` executable on a temporary folder.

Every test here goes through a subprocess, exactly as a clerk or a script would, so the exit
codes, the bilingual error lines and the JSON shapes are checked as the user sees them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

SAMPLE_CATALOG = Path(__file__).resolve().parents[2] / "station_app" / "data" / \
    "sample_catalog.json"
DEMO_CODE = "330199101000"
DEMO_CASES = 30
TOWN_CODE = "330110001000"
VALID_ID = "11010519491231002X"  # GB 11643 check character X
ALL_CASE_STATES = ("DRAFT", "RECEIVED", "SUPPLEMENT", "ACCEPTED", "REJECTED", "IN_PROGRESS",
                   "SUSPENDED", "FINISHED", "WITHDRAWN", "VOID")


def _station_executable() -> str:
    beside_python = Path(sys.executable).with_name("station")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("station")
    if found is None:  # pragma: no cover - the venv always has it
        pytest.skip("the `station` command is not installed")
    return found


STATION = _station_executable()


class Result(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("STATION_DATA", "STATION_ACTOR")}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run(*args: object, data: Path | None = None, timeout: float = 60) -> Result:
    """``station [--data DATA] ARGS…``; returns (returncode, stdout, stderr)."""
    command = [STATION] + (["--data", str(data)] if data is not None else [])
    command += [str(a) for a in args]
    done = subprocess.run(command, capture_output=True, text=True, encoding="utf-8",
                          timeout=timeout, env=_environment(), check=False)
    return Result(done.returncode, done.stdout, done.stderr)


def json_of(result: Result) -> Any:
    """The JSON a ``--json`` command printed (with the process's stderr if it is not JSON)."""
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"not JSON (exit {result.returncode}):\n{result.stdout}\n"
                             f"{result.stderr}") from None


def ok_json(*args: object, data: Path) -> Any:
    """Run with ``--json``, insist on exit 0 and return the decoded output."""
    result = run("--json", *args, data=data)
    assert result.returncode == 0, result.stderr
    return json_of(result)


def ledger_count(data: Path) -> int:
    """How many entries the station log holds, read straight from the database file."""
    with sqlite3.connect(data / "station.db") as conn:
        count = conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]
    conn.close()
    return count


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def add_case(data: Path, *extra: object, item: str = "LOCAL-MZ-004", name: str = "张三丰",
             id_no: str = VALID_ID) -> dict[str, Any]:
    """``case add`` with a valid applicant; returns the new case as JSON."""
    return ok_json("case", "add", "--item", item, "--name", name, "--id-no", id_no,
                   "--phone", "13812341234", *extra, data=data)


@pytest.fixture(scope="session")
def initialised_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``station init`` and ``catalog import`` run once; each test gets a copy of the result."""
    data = tmp_path_factory.mktemp("template") / "station"
    created = run("init", "--name", "示例镇便民服务中心", "--code", TOWN_CODE,
                  "--region", "330110001", "--level", "town", data=data)
    assert created.returncode == 0, created.stderr
    imported = run("catalog", "import", SAMPLE_CATALOG, data=data)
    assert imported.returncode == 0, imported.stderr
    return data


@pytest.fixture
def initialised(initialised_template: Path, tmp_path: Path) -> Path:
    """A fresh town station with the sample catalog imported (a private copy)."""
    return Path(shutil.copytree(initialised_template, tmp_path / "station"))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """``station demo --cases 30`` once for the session: the folder and what it printed."""
    data = tmp_path_factory.mktemp("demo") / "station"
    return data, ok_json("demo", "--cases", DEMO_CASES, data=data)


@pytest.fixture(scope="session")
def demo_station(demo_run: tuple[Path, dict[str, Any]]) -> Path:
    """The shared demo station: tests only read it, or work on a copy (``demo_copy``)."""
    return demo_run[0]


@pytest.fixture
def demo_copy(demo_station: Path, tmp_path: Path) -> Path:
    """A private copy of the demo station, for tests that change it."""
    return Path(shutil.copytree(demo_station, tmp_path / "demo"))
