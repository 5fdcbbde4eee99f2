"""县级通知 in the app: the admin (李站长) sees the county's open 整改通知 on 首页 (the overdue
one in red), opens the 县级通知 screen, answers one with a note and a photo and contests
another; a missing note or a bad photo is refused next to its field and nothing is written.
The notices arrive as the relay writes them (``services.notices.receive_notice``)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from station_app.domain import seven
from station_app.domain.audit.rectification import (
    DISPUTED,
    DONE,
    ItemResult,
    Notice,
    Source,
)
from station_app.services.notices import receive_notice
from station_app.ui import theme
from tests.photos import write_photo
from tests.ui.driver import App, go_to
from tests.ui.harness import FletHarness, ui_test

SIGN = ItemResult(item="有牌子", label="有牌子", ok=False, note="标识牌褪色")
SITE = ItemResult(item="有场所", label="有场所", ok=True)


def send(app: App, number: str, deadline: date | None, *results: ItemResult) -> None:
    """A notice taken in exactly as ``sync.relay_station`` takes one in."""
    with app.station() as st:
        notice = Notice(notice=number, station=st.info.code, source=Source.INSPECTION,
                        subject="2026-11-02", day=date(2026, 11, 2), results=results,
                        deadline=deadline, note="现场检查", inspector="县政务办 李明",
                        issued="2026-11-02T10:00:00.000+08:00")
        with st.transaction() as tx:
            receive_notice(tx, notice.payload(), {"from": "county/330199", "id": "0" * 32,
                                                  "sent": notice.issued, "seq": 1},
                           actor="relay")


async def open_notice(h: FletHarness, number: str) -> None:
    await h.fire(h.find_by_key(f"notice_row_{number}"), "select_change", "true")
    assert h.find_by_key("notice_title").value == f"县级通知 {number}"


@ui_test
async def test_the_admin_answers_the_county_s_rectification_notices(app: App,
                                                                    tmp_path: Path) -> None:
    today = date.today()
    send(app, "ZG20261102001", today - timedelta(days=3), SITE, SIGN)  # overdue
    send(app, "ZG20261102002", today + timedelta(days=30), SIGN)
    send(app, "ZG20261102003", None, SITE)  # all passed: the result only
    h = await app.sign_in("李站长")
    assert h.find_by_key("home_notices_open").value == "2"
    late = h.find_by_key("home_notices_overdue")
    assert late.value == "超期 1" and late.color == theme.OVERDUE

    await h.click(h.find_by_key("home_to_notices"))
    assert h.find_by_key("notices_summary").value == "待整改 2 件，其中超期 1 件"
    overdue = h.find_by_key("notice_deadline_ZG20261102001")
    assert overdue.color == theme.OVERDUE and overdue.value.endswith("（已超期）")
    assert h.find_by_key("notice_deadline_ZG20261102002").color is None
    assert h.find_by_key("notice_state_ZG20261102003").value == "结果告知"

    await open_notice(h, "ZG20261102001")
    assert h.find_by_key("notice_deadline").color == theme.OVERDUE
    before = app.log_size()
    await h.click(h.find_by_key("notice_done"))
    assert h.find_by_key("notice_note").error == "请填写整改情况"
    not_a_photo = tmp_path / "sign.jpg"
    not_a_photo.write_text("不是照片", encoding="utf-8")
    await h.enter_text(h.find_by_key("notice_photo_path"), str(not_a_photo))
    await h.click(h.find_by_key("notice_add_photo"))
    assert "不是 JPEG 或 PNG" in h.find_by_key("notice_photo_path").error
    assert app.log_size() == before

    photo = write_photo(tmp_path / "new-sign.jpg")
    await h.enter_text(h.find_by_key("notice_photo_path"), str(photo))
    await h.click(h.find_by_key("notice_add_photo"))
    assert h.find_by_key("notice_photos_added").value == "已添加：new-sign.jpg"
    await h.enter_text(h.find_by_key("notice_note"), "已更换新标识牌")
    await h.click(h.find_by_key("notice_done"))
    assert [e.kind for e in app.entries_since(before)] == [seven.PHOTO, DONE]
    assert h.find_by_key("notice_state").value == "状态：已整改"
    assert not h.keys("notice_form")  # answered once: no form any more

    await h.click(h.find_by_key("notice_back"))
    await open_notice(h, "ZG20261102002")
    await h.enter_text(h.find_by_key("notice_note"), "标识牌由县里统一制作，尚未下发")
    await h.click(h.find_by_key("notice_dispute"))
    assert app.entries_since(before)[-1].kind == DISPUTED
    assert h.find_by_key("notice_state").value == "状态：有异议"

    await go_to(h, "首页")
    assert h.find_by_key("home_notices_open").value == "0"
    assert h.find_by_key("home_notices_overdue").value == "超期 0"


@ui_test
async def test_only_the_admin_sees_the_notices_card(app: App) -> None:
    send(app, "ZG20261102001", date.today() + timedelta(days=5), SIGN)
    h = await app.sign_in("王晓梅")
    assert not h.keys("home_to_notices")
