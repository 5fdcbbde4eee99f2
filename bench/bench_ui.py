"""The desktop app: cold start, memory, and "save" to receipt PDF ready.

    python -m bench.bench_ui [--runs 3]

Targets (issue 4): start ≤ 3 s to the first interactive frame, Python RSS ≤ 120 MB, save to
receipt ≤ 300 ms. Start and memory are measured on the real desktop client
(flet-desktop-light 0.82.2) under Xvfb with software rendering; "first interactive frame"
is the moment the sign-in screen's pixels are on screen (the window shows a plain background
before Flutter draws). Save-to-receipt is measured in-process on Flet's real session: click
保存并打印回执 → proxy entry written → 代办登记回执 rendered, saved and logged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import row
from station_app.services.demo import ensure_demo
from station_app.ui.app import make_main
from tests.ui.harness import FletHarness

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / ".venv" / "bin" / "station-app"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    kids = [int(p) for p in out.split()]
    return kids + [g for k in kids for g in _children(k)]


def _drawn(display: str, shot: Path) -> bool:
    """True once the sign-in card is painted (more than a few colours on screen)."""
    env = {**os.environ, "DISPLAY": display}
    subprocess.run(["import", "-window", "root", "-resize", "25%", str(shot)], env=env,
                   capture_output=True, timeout=10)
    colours = subprocess.run(["identify", "-format", "%k", str(shot)], capture_output=True,
                             text=True).stdout.strip()
    return colours.isdigit() and int(colours) > 20


def desktop_start(folder: Path, display: str) -> tuple[float, float, float, float]:
    env = {**os.environ, "DISPLAY": display}
    started = time.perf_counter()
    app = subprocess.Popen([str(APP), "--data", str(folder)], env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    window = drawn = float("nan")
    try:
        while time.perf_counter() - started < 60:
            found = subprocess.run(["xdotool", "search", "--name", "便民服务站"], env=env,
                                   capture_output=True).stdout.strip()
            if found and window != window:  # first time the window exists
                window = time.perf_counter() - started
            if found and _drawn(display, folder.parent / "frame.png"):
                drawn = time.perf_counter() - started
                break
            time.sleep(0.05)
        time.sleep(1.0)
        python = _rss_mb(app.pid)
        kids = _children(app.pid)
        client = sum(_rss_mb(p) for p in kids)
    finally:
        kids = _children(app.pid)  # the client may sit in a process group of its own
        os.killpg(app.pid, 9)
        for pid in kids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        app.wait()
    return window, drawn, python, client


async def save_to_receipt(folder: Path, runs: int) -> list[float]:
    h = await FletHarness.start(make_main(folder, demo=True))
    from tests.ui.harness import _key

    users = [c for c in h.controls() if (_key(c) or "").startswith("signin_user_")]
    await h.click(next(c for c in users if "王丽华" in str(c.content)))
    await h.enter_text(h.find_by_key("signin_pin"), "2222")
    await h.submit(h.find_by_key("signin_pin"))
    timings = []
    for i in range(runs):
        menu = h.find_by_key("menu")
        h.session.apply_patch(menu._i, {"selected_index": 1})
        await h.fire(menu, "change", "1")
        await h.enter_text(h.find_by_key("proxy_item_query"), "zdsh")
        await h.click(h.find_by_key("proxy_pick_LOCAL-MZ-002"))
        await h.enter_text(h.find_by_key("proxy_name"), f"测试{i}")
        await h.enter_text(h.find_by_key("proxy_cert_no"), "11010519491231002X")
        started = time.perf_counter()
        await h.click(h.find_by_key("proxy_save"))
        timings.append(time.perf_counter() - started)
        shown = [_key(d) for d in h.page._dialogs.controls if d.open]
        assert shown[-1:] == ["printed"] and h.crashed() is None, shown
        h.page.pop_dialog()
    h.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    work = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    # a display of our own (-displayfd picks a free number), so no other window can answer
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1366x768x24",
                             "-nolisten", "tcp", "-noreset"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    display = ":" + (xvfb.stdout.readline().strip() if xvfb.stdout else "97")
    try:
        ensure_demo(work / "demo", cases=30, seed=1)
        starts = []
        for i in range(runs):
            copy = shutil.copytree(work / "demo", work / f"run{i}")
            starts.append(desktop_start(copy, display))
        saves = asyncio.run(save_to_receipt(shutil.copytree(work / "demo", work / "save"), 20))
    finally:
        xvfb.kill()
        shutil.rmtree(work, ignore_errors=True)
    print("| desktop start (Xvfb, software rendering) | median | min | max | runs |")
    print("|---|---|---|---|---|")
    for label, i, unit in (("window mapped", 0, "s"), ("sign-in screen drawn", 1, "s"),
                           ("Python RSS", 2, "MB"), ("Flutter client RSS", 3, "MB")):
        values = [s[i] for s in starts]
        print(f"| {label} | {statistics.median(values):.2f} {unit} | {min(values):.2f} {unit} |"
              f" {max(values):.2f} {unit} | {len(values)} |")
    print()
    print("| in-process (Flet session, no client) | median | p95 | runs |")
    print("|---|---|---|---|")
    print(row("save → 代办登记回执 PDF ready", saves))


if __name__ == "__main__":
    main()
