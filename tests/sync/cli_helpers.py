"""Run the installed ``county`` and ``station`` executables as a person or a script would,
and ``county serve`` as a real process on 127.0.0.1 (stopped, bounded, when the test ends).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.sync.conftest import free_port


def executable(name: str) -> str:
    beside_python = Path(sys.executable).with_name(name)
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:  # pragma: no cover - `pip install -e .` puts both in the venv
        pytest.skip(f"the `{name}` command is not installed")
    return found


class Result(NamedTuple):
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("STATION_DATA", "STATION_ACTOR", "COUNTY_DATA")}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run(program: str, *args: object, timeout: float = 60) -> Result:
    done = subprocess.run([executable(program), *(str(a) for a in args)], capture_output=True,
                          text=True, encoding="utf-8", env=_environment(), timeout=timeout)
    return Result(done.returncode, done.stdout, done.stderr)


def county(data: Path, *args: object) -> Result:
    return run("county", "--data", data, *args)


def station(data: Path, *args: object) -> Result:
    return run("station", "--data", data, *args)


def ok_json(result: Result) -> Any:
    assert result.returncode == 0, result.stderr
    return result.json()


def init_county(data: Path, *, db: str | None = None) -> dict[str, Any]:
    return ok_json(county(data, "init", "--name", "示范县", "--code", "330199",
                          *(["--db", db] if db else []), "--json"))


def init_station(data: Path, code: str = "330199101201") -> dict[str, Any]:
    return ok_json(station(data, "init", "--name", "东坑村便民服务站", "--code", code,
                           "--region", code, "--level", "village", "--json"))


@contextmanager
def county_serving(data: Path, *, db: str | None = None, timeout: float = 30,
                   extra: tuple[str, ...] = ()) -> Iterator[str]:
    """``county serve`` in its own process on a free loopback port; yields its URL."""
    port = free_port()
    log = data.parent / f"county-serve-{port}.log"
    command = [executable("county"), "--data", str(data), "serve", "--host", "127.0.0.1",
               "--port", str(port), *(["--db", db] if db else []), *extra]
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT,
                                   env=_environment())
    try:
        _wait_listening(port, process, log, timeout)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - uvicorn stops on SIGTERM
            process.kill()
            process.wait(timeout=10)


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path,
                    timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"county serve exited: {log.read_text(errors='replace')}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"county serve did not listen within {timeout} s")
