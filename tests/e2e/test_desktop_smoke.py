"""Smoke test of the real desktop window: it opens, draws Chinese, and a clerk can sign in with
the keyboard alone.

Needs Xvfb, xdotool, ImageMagick and xclip (skipped without them unless
``STATION_REQUIRE_DESKTOP=1``); with tesseract (chi_sim) installed the checks read the screen.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import require
from tests.e2e.desktop import DesktopApp, Screen, missing_tools, ocr, sign_in_by_keyboard

pytestmark = pytest.mark.slow

# The sign-in screen lists the demo users in this order; 王晓梅 is the first of four.
CLERK_INDEX, USERS, CLERK_PIN = 0, 4, "1111"
RAIL = "106x640+0+60"  # the menu on the left, empty before sign-in


@pytest.fixture
def desktop(e2e_demo: Path, tmp_path: Path) -> Iterator[DesktopApp]:
    missing = missing_tools()
    require(f"desktop test tools ({', '.join(missing)})", not missing, "STATION_REQUIRE_DESKTOP")
    folder = tmp_path / "station"
    shutil.copytree(e2e_demo, folder)
    screen = Screen(tmp_path / "xvfb.log")
    app = None
    try:
        app = DesktopApp(screen, folder, tmp_path / "station-app.log")
        app.wait_window()
        yield app
    finally:
        if app is not None:
            app.stop()
        screen.stop()


def test_desktop_window_opens_and_a_clerk_signs_in_with_the_keyboard(
        desktop: DesktopApp, tmp_path: Path):
    signin = desktop.wait_drawn(tmp_path / "signin.png")
    assert desktop.colours(signin) > 100  # drawn, not a blank or single-colour window
    rail_before = desktop.colours(_crop(desktop, signin, tmp_path / "rail0.png"))

    sign_in_by_keyboard(desktop, CLERK_INDEX, USERS, CLERK_PIN)
    home = desktop.wait_change(signin, tmp_path / "home.png", share=0.10)
    # The menu appeared on the left, where the sign-in screen is one flat colour.
    assert rail_before < 10 < desktop.colours(_crop(desktop, home, tmp_path / "rail1.png"))

    text = ocr(desktop.screen, home, crop="1366x380+0+0")
    if shutil.which("tesseract"):
        assert "您好" in text, text
        assert "未注册县级服务器" in text, text  # the status bar: the demo is not enrolled
        assert "待办" in text, text  # the clerk's worklist heading


def _crop(app: DesktopApp, png: Path, out: Path) -> Path:
    app.screen.run("convert", str(png), "-crop", RAIL, "+repage", str(out))
    return out
