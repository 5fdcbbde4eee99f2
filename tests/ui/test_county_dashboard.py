"""The county-auditor role in the real Flet session against the real county server on
127.0.0.1 (the read API's scene: 东坑 honest but without a 七有 self-check — amber — and
西岭 back-dating — red): sign in with a token, the overview's colours, sorting, the trend,
drilling down to a station and the cases behind a figure, and 申请查看 with a reason —
answered by the station at its next sync and opened (查看) by the auditor who asked.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from station_app.domain.people import PersonDetails
from sync.client import HttpTransport
from sync.session import run_sync
from tests.sync import conftest as sync_fixtures
from tests.sync import test_read_api as api
from tests.sync.test_read_api import DONGKENG, XILING, Scene
from tests.ui.driver import App
from tests.ui.harness import FletHarness, ui_test

# The read API tests' scene and what it stands on.
county_clock, county = sync_fixtures.county_clock, api.county
server, scene = api.server, api.scene


@pytest.fixture(autouse=True)
def windows_closed(first_run: App) -> Iterator[None]:
    yield
    for h in first_run.harnesses:
        h.page.on_close(None)


async def sign_in(h: FletHarness, url: str, token: str) -> None:
    await h.enter_text(h.find_by_key("county_server"), url)
    await h.enter_text(h.find_by_key("county_token"), token)
    await h.click(h.find_by_key("county_go"))
    await h.settle(rounds=5)


def rag_text(h: FletHarness, code: str) -> str:
    return h.find_by_key(f"county_rag_{code}_text").value


@ui_test
async def test_an_auditor_signs_in_sees_the_colours_and_asks_to_unmask_with_a_reason(
        first_run: App, scene: Scene, applicant: PersonDetails):
    token = scene.auditor("wang")
    h = await first_run.start(demo=False)
    await h.click(h.find_by_key("signin_county"))  # on the first-run screen, as on sign-in
    assert h.find_by_key("county_signin_title").value == "县级审核登录"

    await sign_in(h, scene.server.url, token)

    assert h.crashed() is None
    assert "wang（审核人员，范围：全县）" in h.find_by_key("county_user").value
    assert rag_text(h, DONGKENG) == "黄" and rag_text(h, XILING) == "红"
    assert "红色 1 个 · 黄色 1 个 · 绿色 0 个" in h.find_by_key("county_counts").value
    assert not h.has_key("county_token")  # the sign-in form (and the token) are gone

    # Sorting by 状态 (red first), then the other way round.
    await h.fire(h.find_by_key("county_col_3"), "sort", {"ci": 3, "asc": True})
    order = [r.key for r in h.find_by_key("county_table").rows]
    assert order == [f"county_row_{XILING}", f"county_row_{DONGKENG}"]
    await h.fire(h.find_by_key("county_col_3"), "sort", {"ci": 3, "asc": False})
    order = [r.key for r in h.find_by_key("county_table").rows]
    assert order == [f"county_row_{DONGKENG}", f"county_row_{XILING}"]

    # 趋势: bar charts of the months
    await h.choose_menu(h.find_by_key("county_menu"), 1)
    assert h.has_key("trend_chart_on_time_rate")
    assert h.find_by_key("trend_on_site_rate_2025-10").value.endswith("%")
    await h.choose_menu(h.find_by_key("county_menu"), 0)

    # Drill down: 西岭's findings, then 东坑's cases behind 按时办结率.
    await h.click(h.find_by_key(f"county_open_{XILING}"))
    assert h.find_by_key("county_station_rag_text").value == "红"
    assert "BACKDATED" in h.page_text()
    await h.click(h.find_by_key("county_station_back"))
    await h.click(h.find_by_key(f"county_open_{DONGKENG}"))
    await h.click(h.find_by_key("county_cases_on_time_rate"))
    rows = h.find_by_key("county_cases").rows
    client = scene.client(token)
    behind = client.cases(DONGKENG, "on_time_rate", "2025-10")["rows"]
    assert [r.key for r in rows] == [f"county_case_{r['number']}" for r in behind]
    assert "张三丰" not in h.page_text()

    case_no = behind[0]["number"]
    await h.click(h.find_by_key(f"county_unmask_{case_no}"))
    await h.enter_text(h.find_by_key("dlg_reason"), "看看")
    await h.click(h.find_by_key("dlg_county_unmask_ok"))
    assert "至少 4 个字" in h.find_by_key("dlg_reason").error
    with scene.county.db.read() as tx:
        assert tx.unmask_requests() == []

    await h.enter_text(h.find_by_key("dlg_reason"), "核查群众投诉 2025-118 号")
    await h.click(h.find_by_key("dlg_county_unmask_ok"))
    await h.settle(rounds=5)

    with scene.county.db.read() as tx:
        (asked,) = tx.unmask_requests(DONGKENG)
    assert asked[1] == "wang" and asked[4:] == (case_no, "核查群众投诉 2025-118 号")
    assert any("已向站点" in t for t in h.toasts())
    row = h.find_by_key("county_requests").controls[0].controls
    assert "核查群众投诉 2025-118 号" in row[0].value
    assert h.find_by_key(f"county_request_state_{asked[0]}").value == "待站点答复"
    assert not h.has_key(f"county_request_view_{asked[0]}")

    # The station syncs and answers; the auditor opens the answer (the county logs it).
    with HttpTransport(scene.server.url) as transport:
        assert run_sync(scene.village, transport).relay_sent == 1
    await h.click(h.find_by_key("county_station_back"))
    await h.click(h.find_by_key(f"county_open_{DONGKENG}"))
    assert h.find_by_key(f"county_request_state_{asked[0]}").value == "已答复"
    await h.click(h.find_by_key(f"county_request_view_{asked[0]}"))
    await h.settle(rounds=5)
    h.dialog("county_unmasked")
    shown = h.find_by_key("county_unmasked_text").value
    assert applicant.name in shown and applicant.cert_no in shown
    assert "已由县级服务器记录" in h.find_by_key("county_unmasked_note").value
    with scene.county.db.read() as tx:
        assert ("wang", 200) in [(a, st) for a, _, _, p, st in tx.access_log()
                                 if p == f"/v1/audit/unmask/{asked[0]}"]
    await h.click(h.find_by_key("county_unmasked_close"))
    assert h.crashed() is None


@ui_test
async def test_a_wrong_token_or_an_unreachable_server_is_said_in_chinese(
        first_run: App, scene: Scene):
    h = await first_run.start(demo=False, county=scene.server.url)  # station-app --county URL
    assert h.find_by_key("county_server").value == scene.server.url

    await sign_in(h, scene.server.url, "wrong-token")
    assert any("审核令牌无效或已停用" in t for t in h.toasts())
    assert not h.has_key("county_table")

    await sign_in(h, "http://127.0.0.1:9", scene.auditor("li"))
    assert any("连不上县级服务器" in t for t in h.toasts())
    await sign_in(h, "", "x")
    assert h.find_by_key("county_server").error
    assert h.crashed() is None
