"""The offline wheelhouse: pinned by hash, complete for its platform, and installable into a
fresh venv with pip unable to reach any index."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from build_scripts import wheelhouse
from tests.build.conftest import Installed, install
from tests.build.packed import ROOT, offline_env
from tests.cli.conftest import SAMPLE_CATALOG, TOWN_CODE

pytestmark = pytest.mark.slow

LOCKS = ROOT / "build_scripts" / "lock"


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = {}
    for text in project["dependencies"] + project["optional-dependencies"]["pack"]:
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==([^;\s]+)", text)
        if match:
            pins[wheelhouse.canonicalize_name(match[1])] = match[2]
    return pins


# --------------------------------------------------------------------------- the lock files


def test_every_lock_line_is_pinned_with_a_sha256_and_matches_pyproject():
    pins = _pyproject_pins()
    locks = {name: wheelhouse.read_lock(LOCKS / f"{name}.txt")
             for name in ("linux", "windows", "pack-linux", "pack-windows")}
    for platform in ("linux", "windows"):
        merged = {**locks[platform], **locks[f"pack-{platform}"]}
        assert not set(locks[platform]) & set(locks[f"pack-{platform}"])  # tools only add
        for name, version in pins.items():
            if name == "flet-desktop-light" and platform == "windows":
                continue
            if name == "flet-desktop" and platform == "linux":
                continue
            assert merged[name][0] == version, f"{platform}: {name} locked at {merged[name][0]}" \
                f", pyproject says {version} (run wheelhouse.py lock --platform {platform})"
        assert "pip" in locks[platform]  # the installers bootstrap the venv with it
    assert "flet-desktop-light" in locks["linux"] and "flet-desktop" not in locks["linux"]
    assert "flet-desktop" in locks["windows"] and "uvloop" not in locks["windows"]
    shared = set(locks["linux"]) & set(locks["windows"])
    assert {n for n in shared if locks["linux"][n][0] != locks["windows"][n][0]} == set()


# --------------------------------------------------------------------------- Linux


def test_linux_bundle_is_complete_pinned_and_carries_the_app(linux_bundle: Path):
    assert wheelhouse.check(linux_bundle, wheelhouse.TARGETS["linux"]) == []
    requirements = wheelhouse.read_lock(linux_bundle / "requirements.txt")
    wheels = sorted((linux_bundle / "wheels").glob("*.whl"))
    assert len(wheels) == len(requirements)
    ours = next(w for w in wheels if w.name.startswith("station_app-"))
    assert requirements["station-app"] == (wheelhouse.project_version(), wheelhouse.sha256(ours))
    assert (linux_bundle / "install.sh").is_file()
    assert sorted(p.name for p in (linux_bundle / "templates").glob("*.toml")) == \
        sorted(p.name for p in (ROOT / "templates").glob("*.toml"))
    manifest = json.loads((linux_bundle / "bundle.json").read_text())
    assert manifest["platform"] == "linux" and manifest["wheels"] == len(wheels)


def test_the_bundle_check_finds_a_missing_dependency_and_a_foreign_wheel(linux_bundle: Path,
                                                                         tmp_path: Path):
    bundle = tmp_path / "bundle"
    (bundle / "wheels").mkdir(parents=True)
    for wheel in (linux_bundle / "wheels").iterdir():
        if not wheel.name.startswith("h11-"):
            os.symlink(wheel, bundle / "wheels" / wheel.name)
    lines = (linux_bundle / "requirements.txt").read_text().splitlines()
    (bundle / "requirements.txt").write_text(
        "\n".join(line for line in lines if not line.startswith("h11==")) + "\n")
    problems = wheelhouse.check(bundle, wheelhouse.TARGETS["linux"])
    assert any(p.startswith("httpcore needs h11") and "missing" in p for p in problems), problems
    # The same Linux wheels are not a Windows bundle.
    foreign = wheelhouse.check(bundle, wheelhouse.TARGETS["windows"])
    assert any("cryptography-" in p and "not installable on windows" in p for p in foreign)


def _station(installed: Installed, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(installed.target / "bin" / "station"), *map(str, args)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env=offline_env(installed.home), cwd=installed.home)


def test_offline_install_gives_working_commands_from_the_bundle_only(installed: Installed):
    assert "安装完成" in installed.output and "Done." in installed.output
    venv = installed.target / "venv"
    # The app itself came from the bundle's wheel, not from this source tree.
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import station_app, flet; print(station_app.__file__)"],
                           capture_output=True, text=True, check=True,
                           env=offline_env(installed.home), cwd=installed.home).stdout
    assert Path(where.strip()).is_relative_to(venv)
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, check=True,
                            env=offline_env(installed.home), cwd=installed.home).stdout
    versions = {wheelhouse.canonicalize_name(p["name"]): p["version"] for p in json.loads(listed)}
    locked = wheelhouse.read_lock(installed.target.parent / "station-app-linux" /
                                  "requirements.txt")
    assert versions == {name: version for name, (version, _) in locked.items()}

    shown = _station(installed, "--help")
    assert shown.returncode == 0 and "便民服务站" in shown.stdout
    version = _station(installed, "--version")
    assert wheelhouse.project_version() in version.stdout
    window = subprocess.run([str(installed.target / "bin" / "station-app"), "--help"],
                            capture_output=True, text=True, timeout=120, check=False,
                            env=offline_env(installed.home), cwd=installed.home)
    assert window.returncode == 0 and "便民服务站桌面程序" in window.stdout


def test_the_installed_station_creates_a_station_and_finds_its_templates(
        installed: Installed, tmp_path: Path):
    data = tmp_path / "station"
    created = _station(installed, "--data", data, "init", "--name", "示例镇便民服务中心",
                       "--code", TOWN_CODE, "--region", "330110001", "--level", "town")
    assert created.returncode == 0, created.stderr
    assert (data / "station.db").is_file()
    imported = _station(installed, "--data", data, "catalog", "import", SAMPLE_CATALOG)
    assert imported.returncode == 0, imported.stderr
    verified = _station(installed, "--data", data, "--json", "ledger", "verify")
    assert verified.returncode == 0, verified.stderr
    # The wheel does not carry templates/: the launcher points at the installed copy.
    checked = _station(installed, "--data", data, "doc", "templates", "--json")
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["ok"] is True and report["folder"] == str(installed.target / "templates")
    assert set(report["versions"]) >= {"receipt", "proxy-slip", "notice-board"}


def test_a_damaged_bundle_is_refused_with_a_bilingual_message(linux_bundle: Path,
                                                              tmp_path: Path):
    damaged = tmp_path / "usb"
    (damaged / "wheels").mkdir(parents=True)
    for item in linux_bundle.iterdir():
        if item.name != "wheels":
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, damaged / item.name)
    for wheel in (linux_bundle / "wheels").iterdir():
        os.symlink(wheel, damaged / "wheels" / wheel.name)
    six = next((damaged / "wheels").glob("six-*.whl"))
    data = six.read_bytes()
    six.unlink()
    six.write_bytes(data + b"\0")  # one byte more: the sha256 no longer matches

    done, _ = install(damaged, tmp_path / "target", tmp_path / "home")
    assert done.returncode != 0
    assert "安装失败" in done.stderr and "Installation failed" in done.stderr
    assert not (tmp_path / "target" / "venv").exists()  # nothing half-installed left behind


# --------------------------------------------------------------------------- Windows


def test_windows_bundle_has_only_windows_wheels_pinned_by_hash(windows_bundle: Path):
    target = wheelhouse.TARGETS["windows"]
    assert wheelhouse.check(windows_bundle, target) == []
    lock = wheelhouse.read_lock(LOCKS / "windows.txt")
    for wheel in (windows_bundle / "wheels").glob("*.whl"):
        platforms = {tag.platform for tag in wheelhouse.parse_wheel_filename(wheel.name)[3]}
        assert platforms <= {"win_amd64", "any"}, wheel.name
        name, version = wheelhouse.wheel_name_version(wheel)
        if name != "station-app":
            assert lock[wheelhouse.canonicalize_name(name)] == (version,
                                                                wheelhouse.sha256(wheel))
    assert {p.name for p in windows_bundle.iterdir()} >= {
        "install.ps1", "install.bat", "requirements.txt", "templates", "wheels", "INSTALL.md"}
    # Windows PowerShell 5.1 reads a script without a BOM in the ANSI code page (GBK on a
    # Chinese Windows), which would garble every Chinese message.
    assert (windows_bundle / "install.ps1").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (windows_bundle / "install.bat").read_bytes().isascii()
