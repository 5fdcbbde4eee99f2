"""首页 warns when the county asks for a newer program than this one (docs/upgrades.md).

The requirement arrives as it does in the field: the county publishes its signed ``app``
collection, and the enrolled demo station syncs with the real server on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from station_app.domain.versions import APP_VERSION
from sync.client import HttpTransport
from sync.county.publish import publish_file
from sync.county.service import County
from sync.session import run_sync
from tests.sync.conftest import RunningServer, enroll_station
from tests.ui.driver import App, go_to
from tests.ui.harness import ui_test

NOTICE = "请在月底前升级"


@pytest.fixture(autouse=True)
def windows_closed(app: App) -> Iterator[None]:
    yield
    for h in app.harnesses:
        h.page.on_close(None)


@ui_test
async def test_home_shows_the_countys_minimum_version_banner(
        app: App, county: County, county_server: RunningServer, tmp_path: Path) -> None:
    h = await app.sign_in("王晓梅")
    assert h.has_key("home_title") and not h.has_key("home_app_update")

    requirement = tmp_path / "app.json"
    requirement.write_text(json.dumps({"min_version": "9.0.0", "notice": NOTICE},
                                      ensure_ascii=False), encoding="utf-8")
    publish_file(county, "app", requirement)
    with app.station() as st:
        enroll_station(st, county, county_server.url)
        with HttpTransport(county_server.url) as transport:
            run_sync(st, transport)

    await go_to(h, "首页")
    banner = h.find_by_key("home_app_update").content.value
    assert banner == (f"注意：县级要求使用 9.0.0 或更高版本的程序，本机是 {APP_VERSION} 版，"
                      f"请尽快联系县级管理员升级。{NOTICE}")
