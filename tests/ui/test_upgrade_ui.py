"""The first start of a newer program on an older data folder: the window says it is
upgrading, then signs in as every day; a folder a newer program has opened is refused on a
plain screen that says why (docs/upgrades.md)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from station_app.domain.versions import APP_VERSION
from station_app.services.station import Station, upgrade_pending
from tests.fixtures.release import snapshot, unpack
from tests.ui.driver import App, enter_pin
from tests.ui.harness import FletHarness, ui_test


@pytest.fixture
def release_app(tmp_path: Path) -> Iterator[App]:
    app = App(unpack(tmp_path / "release").station)
    yield app
    for h in app.harnesses:
        h.page.on_close(None)
        assert h.crashed() is None


async def shown(h: FletHarness, key: str) -> None:
    for _ in range(600):  # the upgrade rebuilds every projection: allow it 30 s
        if h.has_key(key):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} never shown")


@ui_test
async def test_a_release_folder_is_upgraded_with_a_notice_then_signed_into(
        release_app: App) -> None:
    assert upgrade_pending(release_app.folder)
    h = await release_app.start(demo=False)
    assert "正在升级数据" in h.sent_strings()
    await shown(h, "signin_who")
    assert not upgrade_pending(release_app.folder)
    await enter_pin(h, release_app.user_id("王晓梅"), "1111")
    assert h.find_by_key("home_title").value == "您好，王晓梅"
    with Station.open(release_app.folder) as st:
        stamp = st.db.execute("SELECT value FROM meta WHERE key = 'app_version'").fetchone()
    assert stamp == (APP_VERSION,)


@ui_test
async def test_a_folder_a_newer_program_opened_is_refused_and_left_alone(
        release_app: App) -> None:
    with Station.open(release_app.folder):
        pass  # upgraded and stamped by this version
    db = sqlite3.connect(release_app.folder / "station.db")
    with db:
        db.execute("UPDATE meta SET value = '9.0.0' WHERE key = 'app_version'")
    db.close()
    before = data(release_app.folder)
    h = await release_app.start(demo=False)
    notice = h.find_by_key("start_notice").value
    assert "较新版本的程序（9.0.0 版）" in notice and f"本程序是 {APP_VERSION} 版" in notice
    assert not h.has_key("signin_who")
    assert data(release_app.folder) == before  # the window's own logs/ aside


def data(folder: Path) -> dict[str, str]:
    return {k: v for k, v in snapshot(folder).items() if not k.startswith("logs/")}
