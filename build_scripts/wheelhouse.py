"""The offline installer bundle: every wheel the app needs, pinned by hash, plus install scripts.

    python build_scripts/wheelhouse.py lock  --platform linux     # → build_scripts/lock/*.txt
    python build_scripts/wheelhouse.py lock  --platform windows   # (after linux: shares its pins)
    python build_scripts/wheelhouse.py build --platform linux   [--out dist/station-app-linux]
    python build_scripts/wheelhouse.py build --platform windows [--python-installer python.exe]
    python build_scripts/wheelhouse.py check DIR                  # re-verify a built bundle

``lock`` resolves the dependencies of pyproject.toml for one target (CPython 3.11 on x86-64
Linux with glibc ≤ 2.36, or 64-bit Windows) and writes ``name==version --hash=sha256:…`` lines.
``build`` downloads exactly those files (``--require-hashes``; PyPI or the index in your pip
configuration), builds the project's own wheel, writes the bundle's ``requirements.txt`` (the
lock plus our wheel's hash) and copies the install scripts and the document templates beside
it; then it checks the bundle: hashes, wheel tags, and that every dependency of every wheel,
with markers evaluated for the target, is in it. Only ``lock`` and ``build`` use the network.

Why a marker patch: ``pip download --platform win_amd64`` picks Windows wheels but evaluates
environment markers for the machine it runs on, so on Linux it wants ``uvloop`` (Linux-only) for
Windows and misses Windows-only dependencies. ``_pip`` runs pip with the target's marker
environment instead; the independent closure check of ``build`` catches anything it gets wrong.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

try:  # the project venv has packaging (pytest needs it); pip always carries a copy
    from packaging import tags as _tags
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name, parse_wheel_filename
except ImportError:  # pragma: no cover
    from pip._vendor.packaging import tags as _tags
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "build_scripts"
LOCKS = HERE / "lock"
PYTHON = (3, 11)
MAX_GLIBC = 36  # flet-desktop-light 0.82.2's client is built for glibc 2.36 (Debian 12)
HASH_LINE = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+) --hash=sha256:([0-9a-f]{64})$")


@dataclass(frozen=True)
class Target:
    name: str
    platforms: tuple[str, ...]  # pip --platform values, most preferred first
    markers: dict[str, str]  # PEP 508 marker environment
    scripts: tuple[str, ...]  # install scripts copied into the bundle


def _linux_platforms() -> tuple[str, ...]:
    modern = [f"manylinux_2_{minor}_x86_64" for minor in range(MAX_GLIBC, 16, -1)]
    return (*modern, "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64")


_COMMON = {"python_version": "3.11", "python_full_version": "3.11.9",
           "implementation_name": "cpython", "implementation_version": "3.11.9",
           "platform_python_implementation": "CPython"}
TARGETS = {
    "linux": Target("linux", _linux_platforms(),
                    {**_COMMON, "sys_platform": "linux", "platform_system": "Linux",
                     "os_name": "posix", "platform_machine": "x86_64",
                     "platform_release": "6.1.0", "platform_version": "#1 SMP Debian"},
                    ("install.sh",)),
    "windows": Target("windows", ("win_amd64",),
                      {**_COMMON, "sys_platform": "win32", "platform_system": "Windows",
                       "os_name": "nt", "platform_machine": "AMD64",
                       "platform_release": "10", "platform_version": "10.0.19045"},
                      ("install.ps1", "install.bat")),
}


# --------------------------------------------------------------------------- pip


def _pip_with_markers(target: str, argv: list[str]) -> int:
    """Run pip in this process with ``target``'s marker environment (see the module doc)."""
    from pip._internal.cli.main import main as pip_main
    from pip._vendor.packaging import markers

    host = markers.default_environment

    def environment() -> dict[str, str]:
        return {**host(), **TARGETS[target].markers}

    markers.default_environment = environment
    return int(pip_main(argv) or 0)


def _download_args(target: Target) -> list[str]:
    args = ["download", "--only-binary=:all:", "--python-version", "3.11",
            "--implementation", "cp", "--abi", "cp311", "--progress-bar", "off"]
    for platform in target.platforms:
        args += ["--platform", platform]
    return args


def _pip(target: Target, args: list[str]) -> None:
    command = [sys.executable, str(Path(__file__).resolve()), "_pip", target.name, "--", *args]
    subprocess.run(command, check=True)


# --------------------------------------------------------------------------- requirements


def project_requirements(extra: str | None = None) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    if extra is None:
        return list(project["dependencies"])
    return list(project["optional-dependencies"][extra])


def project_version() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return str(project["version"])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel_name_version(path: Path) -> tuple[str, str]:
    name, version, _build, _tags_ = parse_wheel_filename(path.name)
    return str(name), str(version)


def read_lock(path: Path) -> dict[str, tuple[str, str]]:
    """``{canonical name: (version, sha256)}``; a line that is not a pinned hash line fails."""
    pins: dict[str, tuple[str, str]] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = HASH_LINE.match(line)
        if match is None:
            raise ValueError(f"{path.name}:{number}: not `name==version --hash=sha256:…`")
        pins[canonicalize_name(match[1])] = (match[2], match[3])
    return pins


def lock_lines(wheels: list[Path]) -> list[str]:
    lines = []
    for wheel in sorted(wheels, key=lambda p: canonicalize_name(wheel_name_version(p)[0])):
        name, version = wheel_name_version(wheel)
        lines.append(f"{canonicalize_name(name)}=={version} --hash=sha256:{sha256(wheel)}")
    return lines


def _write_lock(path: Path, header: str, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)} ({len(lines)} wheels)")


# --------------------------------------------------------------------------- lock


def lock(target: Target) -> None:
    """Resolve the runtime set and the packaging tools for ``target`` and write both locks."""
    with tempfile.TemporaryDirectory(prefix=f"lock-{target.name}-") as tmp:
        work = Path(tmp)
        constraints = _constraints(target, work)
        runtime = work / "runtime"
        # pip is in the set on purpose: the install scripts bootstrap the venv with it.
        _pip(target, [*_download_args(target), "-d", str(runtime), *constraints,
                      *project_requirements(), "pip"])
        runtime_lines = lock_lines(sorted(runtime.glob("*.whl")))
        _write_lock(LOCKS / f"{target.name}.txt", _header(target, "runtime"), runtime_lines)
        pinned = work / "runtime-pins.txt"
        pinned.write_text("\n".join(line.split(" ")[0] for line in runtime_lines) + "\n")
        tools = work / "pack"
        _pip(target, [*_download_args(target), "-d", str(tools), "-c", str(pinned),
                      *project_requirements(), *project_requirements("pack")])
        known = {line.split("==")[0] for line in runtime_lines}
        extra = [w for w in sorted(tools.glob("*.whl"))
                 if canonicalize_name(wheel_name_version(w)[0]) not in known]
        _write_lock(LOCKS / f"pack-{target.name}.txt", _header(target, "pack"), lock_lines(extra))


def _constraints(target: Target, work: Path) -> list[str]:
    """Windows shares the Linux lock's versions wherever a package exists on both."""
    linux = LOCKS / "linux.txt"
    if target.name == "linux" or not linux.exists():
        return []
    pins = work / "linux-pins.txt"
    pins.write_text("".join(f"{name}=={version}\n"
                            for name, (version, _) in read_lock(linux).items()))
    return ["-c", str(pins)]


def _header(target: Target, kind: str) -> str:
    what = ("the runtime wheels of station-app (pyproject.toml [project] dependencies + pip)"
            if kind == "runtime" else
            "the packaging tools (pyproject.toml [pack] extra) beyond the runtime lock")
    machine = f"x86-64 glibc <= 2.{MAX_GLIBC}" if target.name == "linux" else "win_amd64"
    return (f"# {what} for {target.name}, CPython 3.11, {machine}.\n"
            f"# Generated by: python build_scripts/wheelhouse.py lock --platform {target.name}\n"
            "# Every line is pinned with the sha256 of the one wheel the bundle carries.\n")


# --------------------------------------------------------------------------- build


def build(target: Target, out: Path, python_installer: Path | None = None) -> Path:
    """Download the locked wheels, build ours, write requirements.txt and the scripts."""
    lockfile = LOCKS / f"{target.name}.txt"
    if out.exists():
        shutil.rmtree(out)
    wheels = out / "wheels"
    wheels.mkdir(parents=True)
    _pip(target, [*_download_args(target), "--no-deps", "--require-hashes", "-r", str(lockfile),
                  "-d", str(wheels)])
    ours = build_project_wheel(wheels)
    requirements = [line for line in lockfile.read_text(encoding="utf-8").splitlines()
                    if line and not line.startswith("#")]
    requirements += lock_lines([ours])
    (out / "requirements.txt").write_text(
        "# Install only with --no-index --find-links wheels --require-hashes (see install.*)\n"
        + "\n".join(requirements) + "\n", encoding="utf-8")
    for script in target.scripts:
        shutil.copy2(HERE / script, out / script)
    shutil.copytree(ROOT / "templates", out / "templates")
    shutil.copy2(ROOT / "docs" / "install.md", out / "INSTALL.md")
    if python_installer is not None:
        shutil.copy2(python_installer, out / python_installer.name)
    problems = check(out, target)
    if problems:
        raise SystemExit("the bundle is not complete:\n  " + "\n  ".join(problems))
    _write_manifest(out, target)
    return out


def build_project_wheel(dest: Path) -> Path:
    """``pip wheel --no-deps`` of a clean copy of the sources (no build/ left in the tree)."""
    with tempfile.TemporaryDirectory(prefix="station-src-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
        for name in ("station_app", "sync"):
            shutil.copytree(ROOT / name, src / name, ignore=ignore)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, src / name)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                        "--progress-bar", "off", "-w", str(dest), str(src)], check=True)
    found = sorted(dest.glob("station_app-*.whl"))
    if len(found) != 1:
        raise SystemExit(f"expected one station_app wheel in {dest}, found {found}")
    return found[0]


def _write_manifest(out: Path, target: Target) -> None:
    files = sorted((out / "wheels").glob("*.whl"))
    manifest = {"platform": target.name, "python": "3.11", "version": project_version(),
                "wheels": len(files), "bytes": sum(f.stat().st_size for f in files)}
    (out / "bundle.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- check


def supported_tags(target: Target) -> set[_tags.Tag]:
    found = set(_tags.cpython_tags(PYTHON, abis=["cp311"], platforms=list(target.platforms)))
    found |= set(_tags.compatible_tags(PYTHON, "cp311", platforms=list(target.platforms)))
    return found


def check(out: Path, target: Target) -> list[str]:
    """Everything wrong with the bundle in ``out`` (empty when it installs offline)."""
    wheels = sorted((out / "wheels").glob("*.whl"))
    pins = read_lock(out / "requirements.txt")
    problems = _check_files(wheels, pins, target)
    metadata = {canonicalize_name(wheel_name_version(w)[0]): _metadata(w) for w in wheels}
    problems += _check_closure(metadata, target)
    return problems


def _check_files(wheels: list[Path], pins: dict[str, tuple[str, str]],
                 target: Target) -> list[str]:
    problems, allowed = [], supported_tags(target)
    present = set()
    for wheel in wheels:
        name, version = wheel_name_version(wheel)
        key = canonicalize_name(name)
        present.add(key)
        if key not in pins:
            problems.append(f"{wheel.name}: not in requirements.txt")
        elif pins[key] != (version, sha256(wheel)):
            problems.append(f"{wheel.name}: version or sha256 differs from requirements.txt")
        if not set(parse_wheel_filename(wheel.name)[3]) & allowed:
            problems.append(f"{wheel.name}: not installable on {target.name} CPython 3.11")
    problems += [f"{name}: pinned but no wheel" for name in sorted(set(pins) - present)]
    return problems


def _metadata(wheel: Path) -> tuple[str, list[str]]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist()
                    if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(archive.read(name).decode("utf-8"))
    return message["Version"], message.get_all("Requires-Dist") or []


def _check_closure(metadata: dict[str, tuple[str, list[str]]], target: Target) -> list[str]:
    """Walk station-app's requirements with the target's markers: all present, versions fit."""
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    queue: list[tuple[str, str]] = [("station-app", "")]
    while queue:
        name, extra = queue.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        for text in metadata[name][1]:
            requirement = Requirement(text)
            environment = {**target.markers, "extra": extra}
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            wanted = canonicalize_name(requirement.name)
            if wanted not in metadata:
                problems.append(f"{name} needs {requirement}, which is missing")
                continue
            version = metadata[wanted][0]
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{name} needs {requirement}, bundle has {version}")
            queue += [(wanted, "")] + [(wanted, e) for e in sorted(requirement.extras)]
    return problems


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_pip"]:  # internal: pip with a target's markers (see _pip)
        return _pip_with_markers(argv[1], argv[3:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    locking = commands.add_parser("lock", help="resolve and pin (network)")
    locking.add_argument("--platform", choices=sorted(TARGETS), required=True)
    building = commands.add_parser("build", help="download the pinned wheels (network)")
    building.add_argument("--platform", choices=sorted(TARGETS), required=True)
    building.add_argument("--out", type=Path, help="default: dist/station-app-PLATFORM")
    building.add_argument("--python-installer", type=Path,
                          help="(Windows) python-3.11.x-amd64.exe to carry on the stick")
    checking = commands.add_parser("check", help="verify a built bundle (offline)")
    checking.add_argument("bundle", type=Path)
    args = parser.parse_args(argv)
    if args.command == "lock":
        lock(TARGETS[args.platform])
    elif args.command == "build":
        out = args.out or ROOT / "dist" / f"station-app-{args.platform}"
        build(TARGETS[args.platform], out, args.python_installer)
        print(f"bundle ready: {out}")
    else:
        platform = json.loads((args.bundle / "bundle.json").read_text())["platform"]
        problems = check(args.bundle, TARGETS[platform])
        print("\n".join(problems) or "bundle OK")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
