"""The offline installer bundle: its size, install time, the packed executable's size and start.

    python -m bench.bench_install [--runs 3] [--bundle DIR] [--exe FILE]

Without ``--bundle``/``--exe`` it builds both first (network for the wheels and the packaging
tools; times reported). Install: ``install.sh`` into a fresh folder with a fresh home and pip
pointed at a dead index (exactly as tests/build do), wall time. Start: the single-file
executable on its own Xvfb display, fontconfig with no fonts, on a copy of a demo station;
"cold" is the first start with an empty home (it unpacks the Flutter client into
~/.flet/client), "warm" starts again with that home; "drawn" is the first screenshot with the
sign-in card's pixels (more than 100 colours).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from station_app.services.demo import ensure_demo
from tests.build.packed import PACK_LINUX, WHEELHOUSE, PackedApp, offline_env
from tests.e2e.desktop import Screen


def _mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def _timed(argv: list[str], **kwargs: object) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - started


def install_once(bundle: Path, work: Path) -> tuple[float, float]:
    """Seconds for ``install.sh`` offline, and the installed folder's size in MB."""
    target, home = work / "installed", work / "home"
    shutil.rmtree(work, ignore_errors=True)
    home.mkdir(parents=True)
    seconds = _timed(["sh", str(bundle / "install.sh"), str(target)], env=offline_env(home),
                     cwd=home)
    return seconds, _mb(target)


def start_once(exe: Path, station: Path, home: Path, work: Path) -> tuple[float, float]:
    """Seconds until the window is mapped and until the sign-in screen is drawn."""
    folder = work / "station"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(station, folder)
    screen = Screen(work / "xvfb.log")
    app = None
    try:
        started = time.perf_counter()
        app = PackedApp(screen, exe, folder, home, work / "app.log")
        app.wait_window(timeout=120)
        mapped = time.perf_counter() - started
        shot = work / "start.png"
        while app.colours(app.screenshot(shot)) <= 100:
            if time.perf_counter() - started > 120:
                raise TimeoutError("the sign-in screen was not drawn within 120 s")
            time.sleep(0.05)
        return mapped, time.perf_counter() - started
    finally:
        if app is not None:
            app.stop()
        screen.stop()


def _row(label: str, samples: list[float], suffix: str = "s") -> str:
    return (f"| {label} | {statistics.median(samples):.2f} {suffix} | {min(samples):.2f} "
            f"{suffix} | {max(samples):.2f} {suffix} | {len(samples)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bundle", type=Path, help="a built Linux bundle (else build one)")
    parser.add_argument("--exe", type=Path, help="a packed station-app (else pack one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        work = Path(tmp)
        lines = []
        bundle = args.bundle
        if bundle is None:
            bundle = work / "station-app-linux"
            seconds = _timed([sys.executable, str(WHEELHOUSE), "build", "--platform", "linux",
                              "--out", str(bundle)])
            lines.append(f"| build the Linux wheelhouse (network) | {seconds:.1f} s | | | 1 |")
        exe = args.exe
        if exe is None:
            seconds = _timed(["sh", str(PACK_LINUX), str(bundle), str(work / "dist")])
            exe = work / "dist" / "station-app"
            lines.append(f"| flet pack, from the wheelhouse | {seconds:.1f} s | | | 1 |")

        wheels = sorted((bundle / "wheels").glob("*.whl"))
        lines.append(f"| wheelhouse: {len(wheels)} wheels | {_mb(bundle / 'wheels'):.1f} MB |"
                     " | | |")
        installs = [install_once(bundle, work / f"install{i}") for i in range(args.runs)]
        lines.append(_row("install from the wheelhouse (offline)", [s for s, _ in installs]))
        lines.append(f"| installed folder | {installs[-1][1]:.1f} MB | | | |")
        lines.append(f"| packed executable | {_mb(exe):.1f} MB | | | |")

        station = work / "demo-station"
        ensure_demo(station)
        cold, warm = [], []
        for i in range(args.runs):
            home = work / f"home{i}"
            home.mkdir()
            cold.append(start_once(exe, station, home, work / f"cold{i}"))
            warm.append(start_once(exe, station, home, work / f"warm{i}"))
        lines.append(_row("cold start (fresh home): window mapped", [m for m, _ in cold]))
        lines.append(_row("cold start (fresh home): sign-in drawn", [d for _, d in cold]))
        lines.append(_row("warm start: window mapped", [m for m, _ in warm]))
        lines.append(_row("warm start: sign-in drawn", [d for _, d in warm]))
        lines.append(f"| ~/.flet after the first start | {_mb(work / 'home0'):.1f} MB | | | |")

    print("| offline bundle (Linux) | median | min | max | runs |")
    print("|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
