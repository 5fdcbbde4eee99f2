"""七有自查 in the app: the admin (李站长) fills in the month's self-check with a photo from a
file; a bad file is refused next to its field and nothing is written; the saved self-check
shows its statuses and a thumbnail."""

from __future__ import annotations

from pathlib import Path

from station_app.domain import seven
from station_app.ui.views.seven import SEVEN
from tests.photos import write_photo
from tests.ui.driver import App, go_to
from tests.ui.harness import ui_test


@ui_test
async def test_the_admin_records_the_month_s_self_check_with_a_photo(app: App,
                                                                    tmp_path: Path) -> None:
    sign = write_photo(tmp_path / "sign.jpg")
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("不是照片", encoding="utf-8")
    h = await app.sign_in("李站长")
    await go_to(h, "七有自查")
    assert h.find_by_key("seven_form_title").value == "填写本月自查"
    assert h.find_by_key("seven_status_LEDGER").value  # suggested from the ledger's figures

    before = app.log_size()
    await h.enter_text(h.find_by_key("seven_path_SIGN"), str(not_a_photo))
    await h.click(h.find_by_key("seven_add_SIGN"))
    assert "不是 JPEG 或 PNG" in h.find_by_key("seven_path_SIGN").error
    await h.enter_text(h.find_by_key("seven_path_SIGN"), str(sign))
    await h.click(h.find_by_key("seven_add_SIGN"))
    assert h.find_by_key("seven_added_SIGN").value == "已添加：sign.jpg"

    # saving with an item unanswered is refused next to it, and nothing is written
    await h.click(h.find_by_key("seven_save"))
    assert h.find_by_key("seven_status_SITE").error_text == (
        "自查结果填写有误：请选择“有场所、有人员、有项目、有牌子、有制度、有公示栏”的结果")
    assert app.log_size() == before

    for item in seven.ITEMS[:-1]:
        await h.select(h.find_by_key(f"seven_status_{item.code}"),
                       "部分达标" if item.code == "BOARD" else "达标")
    await h.enter_text(h.find_by_key("seven_note_BOARD"), "公示内容待更新")
    await h.click(h.find_by_key("seven_save"))

    assert [e.kind for e in app.entries_since(before)] == [seven.PHOTO, seven.CHECKED]
    rows = h.find_by_key("seven_table").rows
    assert [r.cells[0].content.value for r in rows] == [name for name, _ in SEVEN]
    statuses = {r.cells[0].content.value: r.cells[2].content.value for r in rows}
    assert statuses["有公示栏"] == "部分达标" and statuses["有场所"] == "达标"
    assert h.find_by_key("seven_count_SIGN").value == "1"
    assert len(h.keys("seven_thumb_")) == 1
    assert h.find_by_key("seven_state").value.startswith("最近一次自查：")
    assert h.find_by_key("seven_form_title").value == "更正本月自查"

    # a second one the same month needs a reason
    before = app.log_size()
    await h.click(h.find_by_key("seven_save"))  # the form starts empty again
    for item in seven.ITEMS[:-1]:
        await h.select(h.find_by_key(f"seven_status_{item.code}"), "达标")
    await h.click(h.find_by_key("seven_save"))
    assert any("已做过七有自查" in t for t in h.toasts()) and app.log_size() == before
    await h.enter_text(h.find_by_key("seven_reason"), "公示栏已更新")
    await h.click(h.find_by_key("seven_save"))
    assert [e.kind for e in app.entries_since(before)] == [seven.CHECKED]
