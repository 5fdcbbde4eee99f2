"""The real desktop client (flet-desktop-light) on a private Xvfb screen, driven with xdotool.

Used by test_desktop_smoke.py and build_scripts/screenshots.py. Only pixels come back from a
desktop window, so checks are screenshots and OCR (tesseract, when installed).

Gotchas (see the team's flet_offline.md §4d): Xvfb needs ``-noreset`` or it resets when a
short-lived client such as ``xdotool search`` disconnects; ``xdotool type`` drops non-ASCII
characters, so Chinese goes through the clipboard (``paste``).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

SCREEN = (1366, 768)
TITLE = "便民服务站"
BIN = Path(sys.executable).parent
STATION_APP = str(BIN / "station-app") if (BIN / "station-app").exists() else "station-app"
TOOLS = ("Xvfb", "xdotool", "import", "convert", "compare", "xclip")


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def stop_group(proc: subprocess.Popen[bytes] | None) -> None:
    """Terminate a process and its group (children included), then reap it."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        proc.wait(timeout=10)


class Screen:
    """A private Xvfb display on a free, randomly chosen display number.

    Not ``-displayfd``: that always starts its search at :0, where other sessions' Xvfb
    servers come and go, and a server that exits there can take the socket of ours along.
    """

    def __init__(self, log: Path, *, attempts: int = 5) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        for _ in range(attempts):
            number = random.randrange(200, 900)
            if Path(f"/tmp/.X{number}-lock").exists():
                continue
            self.display = f":{number}"
            self.env = {**os.environ, "DISPLAY": self.display}
            with log.open("ab") as err:
                self.proc = subprocess.Popen(
                    ["Xvfb", self.display, "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
                     "-nolisten", "tcp", "-noreset"],
                    stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
            if self._ready(timeout=15):
                return
            self.stop()
        raise RuntimeError(f"Xvfb did not start:\n{log.read_text(errors='replace')}")

    def _ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False  # e.g. the display number was taken after all
            probe = subprocess.run(["xdotool", "getdisplaygeometry"], env=self.env,
                                   capture_output=True, text=True, timeout=10, check=False)
            if probe.returncode == 0:
                return True
            time.sleep(0.1)
        return False

    def run(self, *argv: str, timeout: float = 20) -> str:
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        return done.stdout

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_group(proc)


class DesktopApp:
    """``station-app --data FOLDER --demo`` with its Flutter window on ``screen``."""

    def __init__(self, screen: Screen, folder: Path, log: Path) -> None:
        self.screen, self.log = screen, log
        with log.open("ab") as out:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [STATION_APP, "--data", str(folder), "--demo"], env=screen.env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.window = ""

    def wait_window(self, timeout: float = 45) -> str:
        """The window's id, once one titled 便民服务站 is mapped."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError("station-app exited before its window appeared:\n"
                                   + self.log.read_text(encoding="utf-8", errors="replace"))
            found = self.screen.run("xdotool", "search", "--onlyvisible", "--name", TITLE)
            if found.split():
                self.window = found.split()[0]
                return self.window
            time.sleep(0.25)
        raise TimeoutError(f"no window titled {TITLE} after {timeout:.0f} s")

    # ----------------------------------------------------------------- pixels

    def screenshot(self, path: Path) -> Path:
        self.screen.run("import", "-window", "root", str(path))
        return path

    def colours(self, path: Path) -> int:
        return int(self.screen.run("convert", str(path), "-format", "%k", "info:") or 0)

    def wait_drawn(self, path: Path, timeout: float = 30) -> Path:
        """Wait until the window shows content: the first frames are one or two flat colours."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.colours(self.screenshot(path)) > 100:
                time.sleep(0.5)  # let the first frame's layout settle
                return self.screenshot(path)
            time.sleep(0.25)
        raise TimeoutError(f"the window stayed blank for {timeout:.0f} s")

    def changed(self, before: Path, after: Path) -> float:
        """Share of pixels that differ (a blinking cursor is well under 1 %)."""
        out = subprocess.run(["compare", "-metric", "AE", "-fuzz", "2%", str(before),
                              str(after), "null:"], capture_output=True, text=True,
                             timeout=20, check=False)
        try:
            return float(out.stderr.split()[0]) / (SCREEN[0] * SCREEN[1])
        except (IndexError, ValueError):
            return 1.0

    def wait_change(self, before: Path, path: Path, *, share: float = 0.05,
                    timeout: float = 20) -> Path:
        """Wait until at least ``share`` of the screen differs from ``before``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.changed(before, self.screenshot(path)) >= share:
                time.sleep(0.7)  # the new screen's later frames (fonts, table layout)
                return self.screenshot(path)
            time.sleep(0.25)
        raise TimeoutError(f"the screen did not change within {timeout:.0f} s")

    # ----------------------------------------------------------------- input

    def focus(self) -> None:
        self.screen.run("xdotool", "mousemove", str(SCREEN[0] // 2), str(SCREEN[1] - 5))
        self.screen.run("xdotool", "windowfocus", "--sync", self.window)

    def keys(self, *names: str) -> None:
        self.screen.run("xdotool", "key", "--delay", "80", *names)

    def type_ascii(self, text: str) -> None:
        assert text.isascii(), "xdotool type drops non-ASCII characters: use paste()"
        self.screen.run("xdotool", "type", "--delay", "60", text)

    def paste(self, text: str) -> None:
        """Put ``text`` on the clipboard and paste it into the focused field."""
        with subprocess.Popen(["xclip", "-selection", "clipboard", "-loops", "1"],
                              env=self.screen.env, stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as clip:
            assert clip.stdin is not None
            clip.stdin.write(text.encode())
            clip.stdin.close()
            time.sleep(0.2)
            self.keys("ctrl+v")
            try:
                clip.wait(timeout=5)
            except subprocess.TimeoutExpired:
                clip.kill()

    def click(self, x: int, y: int) -> None:
        self.screen.run("xdotool", "mousemove", str(x), str(y), "click", "1")

    def stop(self) -> None:
        """Stop the app and its Flutter client (same process group)."""
        proc, self.proc = self.proc, None
        stop_group(proc)


def sign_in_by_keyboard(app: DesktopApp, user_index: int, users: int, pin: str) -> None:
    """On a fresh sign-in screen the PIN field has the focus; the user buttons come before it.

    Shift+Tab walks back to the wanted user's button, Return picks it, Tab walks forward
    to the PIN field again, and Return in the field signs in. The field takes its autofocus
    a moment after the screen is drawn; keys sent before that are lost, hence the pause.
    """
    time.sleep(1.5)
    app.focus()
    app.keys(*["shift+Tab"] * (users - user_index))
    app.keys("Return")
    time.sleep(0.3)
    app.keys(*["Tab"] * (users - user_index))
    app.type_ascii(pin)
    app.keys("Return")


def ocr(screen: Screen, png: Path, *, crop: str | None = None) -> str:
    """Chinese + English OCR of ``png`` (optionally ``WxH+X+Y``), spaces removed; "" without
    tesseract."""
    if shutil.which("tesseract") is None:
        return ""
    big = png.with_suffix(".ocr.png")
    screen.run("convert", str(png), *(["-crop", crop, "+repage"] if crop else []),
               "-resize", "200%", "-colorspace", "gray", str(big))
    text = screen.run("tesseract", str(big), "-", "-l", "chi_sim+eng", "--psm", "4",
                      timeout=60)
    return "".join(text.split())
