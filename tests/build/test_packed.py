"""The single-file Linux executable (flet pack): it starts with no network, a fresh home folder
and no system fonts, and its first screen is readable Chinese in the font it carries.

Needs Xvfb, xdotool, ImageMagick and tesseract (chi_sim) besides the build's network; skipped
without them unless ``STATION_REQUIRE_BUILD=1``. The screenshot lands in
docs/screens/packed-linux.png.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.build.conftest import require
from tests.build.packed import ROOT, PackedApp, empty_fontconfig
from tests.e2e.desktop import Screen, missing_tools, ocr, sign_in_by_keyboard
from tests.e2e.test_desktop_smoke import CLERK_INDEX, CLERK_PIN, USERS

pytestmark = pytest.mark.slow

SCREENSHOT = ROOT / "docs" / "screens" / "packed-linux.png"
SIGNIN_TEXT = ("青石镇便民服务中心", "请选择您的名字", "PIN码")
HOME_TEXT = ("您好", "待办")  # the greeting and the clerk's worklist heading


def test_the_packed_executable_is_one_self_contained_file(packed_exe: Path):
    assert packed_exe.read_bytes()[:4] == b"\x7fELF"
    assert [p.name for p in packed_exe.parent.iterdir()] == ["station-app"]


def test_the_packed_app_starts_offline_with_only_its_own_font(packed_exe: Path, tmp_path: Path):
    missing = missing_tools() + [t for t in ("tesseract",) if shutil.which(t) is None]
    require(f"desktop test tools ({', '.join(missing)})", not missing)
    home = tmp_path / "home"
    home.mkdir()
    conf = empty_fontconfig(tmp_path / "fontconfig")
    if shutil.which("fc-list"):  # the premise: this fontconfig sees no font at all
        listed = subprocess.run(["fc-list"], env={"FONTCONFIG_FILE": str(conf)},
                                capture_output=True, text=True, timeout=60, check=False)
        assert listed.stdout.strip() == ""

    screen = Screen(tmp_path / "xvfb.log")
    app = None
    try:
        app = PackedApp(screen, packed_exe, tmp_path / "station", home, tmp_path / "app.log")
        app.wait_window(timeout=120)
        shot = app.wait_drawn(tmp_path / "signin.png", timeout=60)
        text = _read_when(app, shot, SIGNIN_TEXT)
        # And the packed program works past its first screen: a clerk signs in.
        home_screen = _sign_in(app, shot, tmp_path / "home.png")
        home_text = _read_when(app, home_screen, HOME_TEXT, crop="1366x380+0+0")
    finally:
        if app is not None:
            app.stop()
        screen.stop()

    # The demo station was created from the data packed inside, and its sign-in screen reads.
    assert (tmp_path / "station" / "station.db").is_file()
    assert all(s in text for s in SIGNIN_TEXT), text
    assert all(s in home_text for s in HOME_TEXT), home_text
    # The Flutter client came out of the executable, not from the network.
    assert any((home / ".flet" / "client").iterdir())
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)


def _read_when(app: PackedApp, shot: Path, wanted: tuple[str, ...], *, crop: str | None = None,
               timeout: float = 30) -> str:
    """OCR ``shot`` (re-taken each try) until all of ``wanted`` reads: on a busy machine the
    first frames can come before the bundled font has loaded."""
    deadline = time.monotonic() + timeout
    while True:
        text = ocr(app.screen, shot, crop=crop)
        if all(s in text for s in wanted) or time.monotonic() > deadline:
            return text
        time.sleep(1)
        app.screenshot(shot)


def _sign_in(app: PackedApp, signin: Path, out: Path) -> Path:
    """Sign in by keyboard; once more if the keys came before the PIN field took its focus."""
    for attempt in (1, 2):
        time.sleep(1.0 * attempt)
        sign_in_by_keyboard(app, CLERK_INDEX, USERS, CLERK_PIN)
        try:
            return app.wait_change(signin, out, share=0.10, timeout=30)
        except TimeoutError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
