"""The offline installer bundle, really built: once per test session, in a temporary folder.

Building needs the network (PyPI, or the index in pip's configuration) and, for the packed
executable, about a minute and a half of CPU. Without the network the tests skip, unless
``STATION_REQUIRE_BUILD=1`` (CI) makes that a failure. Installing and running never use it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.build.packed import BASE_PYTHON, PACK_LINUX, WHEELHOUSE, offline_env

REQUIRE = "STATION_REQUIRE_BUILD"
INDEX = "https://pypi.org/simple/pip/"


def require(what: str, present: bool) -> None:
    """Skip when something is missing, or fail when STATION_REQUIRE_BUILD=1 says it must run."""
    if present:
        return
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{what} is missing, but {REQUIRE}=1 says these tests must run here")
    pytest.skip(f"{what} is missing (set {REQUIRE}=1 to make this a failure)")


def _index_reachable() -> bool:
    try:
        with urllib.request.urlopen(INDEX, timeout=10) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def run_logged(argv: list[str], log: Path, *, timeout: float,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a build step, keep its output in ``log``; fail the test with the tail if it fails."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)
    log.write_text(done.stdout + "\n--- stderr ---\n" + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        pytest.fail(f"{' '.join(argv[:3])} … exited {done.returncode}:\n{tail}")
    return done


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("build")


@pytest.fixture(scope="session")
def network_for_build() -> None:
    require(f"the package index ({INDEX}) for building the bundle", _index_reachable())


def _bundle(platform: str, build_dir: Path) -> Path:
    out = build_dir / f"station-app-{platform}"
    if not (out / "bundle.json").exists():
        run_logged([sys.executable, str(WHEELHOUSE), "build", "--platform", platform,
                    "--out", str(out)], build_dir / f"wheelhouse-{platform}.log", timeout=600)
    return out


@pytest.fixture(scope="session")
def linux_bundle(network_for_build: None, build_dir: Path) -> Path:
    return _bundle("linux", build_dir)


@pytest.fixture(scope="session")
def windows_bundle(network_for_build: None, build_dir: Path) -> Path:
    return _bundle("windows", build_dir)


class Installed(NamedTuple):
    target: Path
    home: Path
    seconds: float
    output: str


def install(bundle: Path, target: Path, home: Path) -> tuple[subprocess.CompletedProcess[str],
                                                              float]:
    """``sh install.sh TARGET`` from ``bundle`` on a machine without network."""
    home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    done = subprocess.run(["sh", str(bundle / "install.sh"), str(target)], capture_output=True,
                          text=True, timeout=600, env=offline_env(home), cwd=home,
                          check=False)
    return done, time.monotonic() - started


def require_python_311() -> None:
    version = subprocess.run([str(BASE_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=False).stdout.strip()
    require(f"Python 3.11 to install the cp311 wheels with (found {version} at {BASE_PYTHON})",
            version == "(3, 11)")


@pytest.fixture(scope="session")
def installed(linux_bundle: Path, build_dir: Path) -> Installed:
    require_python_311()
    done, seconds = install(linux_bundle, build_dir / "installed", build_dir / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    return Installed(build_dir / "installed", build_dir / "home", seconds,
                     done.stdout + done.stderr)


@pytest.fixture(scope="session")
def packed_exe(linux_bundle: Path, build_dir: Path) -> Path:
    require_python_311()
    dist = build_dir / "dist"
    run_logged(["sh", str(PACK_LINUX), str(linux_bundle), str(dist)], build_dir / "pack.log",
               timeout=900, env={**os.environ, "PYTHON": str(BASE_PYTHON)})
    return dist / "station-app"
