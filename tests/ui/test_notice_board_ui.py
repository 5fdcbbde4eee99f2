"""设置 → 公示栏 in the real Flet session (docs/notice-board.md): a change regenerates the
poster at once, 首页 and 设置 say 公示栏已更新，请打印张贴 until it is printed, and the
published items are chosen with checkboxes."""

from __future__ import annotations

from station_app.services.catalog import current_catalog
from station_app.services.notice_board import poster_versions
from station_app.services.notice_items import published_codes
from tests.documents.pdftools import page_text
from tests.ui.driver import App, go_to
from tests.ui.harness import ui_test

TO_PRINT = "公示栏已更新，请打印张贴"
CURRENT = "墙上的公示栏与当前公示内容一致"


@ui_test
async def test_unticking_an_item_regenerates_the_poster_until_it_is_printed(app: App) -> None:
    h = await app.sign_in("李站长")
    await go_to(h, "设置")
    await h.click(h.find_by_key("notice_board_print"))  # the first poster, printed by hand
    await h.close_dialogs()
    assert h.find_by_key("notice_board_state").value == CURRENT
    with app.station() as st:
        items = current_catalog(st).proxy_items()
        names = {i.code: i.name for i in items}
    dropped = items[0].code
    assert all(h.find_by_key(f"notice_item_{i.code}").value for i in items)

    before = app.log_size()
    await h.tick(h.find_by_key(f"notice_item_{dropped}"), False)
    await h.click(h.find_by_key("notice_items_save"))
    assert [e.kind for e in app.entries_since(before)] == [
        "notice.items_set", "doc.issued", "notice.regenerated"]
    regenerated = app.entries_since(before, "notice.regenerated")[0].body
    assert regenerated["changed"] == {"items": {"added": [], "removed": [dropped]}}
    with app.station() as st:
        assert published_codes(st) == [i.code for i in items[1:]]
        latest = poster_versions(st)[-1]
        pdf = st.folder / "documents" / str(st.clock.now().year) / latest.file
    text = page_text(pdf)
    assert names[dropped] not in text and names[items[1].code] in text
    assert not h.find_by_key(f"notice_item_{dropped}").value
    assert h.find_by_key("notice_board_state").value == TO_PRINT
    await go_to(h, "首页")
    assert h.find_by_key("home_notice_board").value.startswith(TO_PRINT)

    await go_to(h, "设置")
    mark = app.log_size()
    await h.click(h.find_by_key("notice_board_print"))
    await h.close_dialogs()
    (copy,) = app.entries_since(mark, "doc.printed")
    assert copy.body["doc_id"] == regenerated["doc_id"] and not copy.body["reprint"]
    assert h.find_by_key("notice_board_state").value == CURRENT
    await go_to(h, "首页")
    assert not h.has_key("home_notice_board")
