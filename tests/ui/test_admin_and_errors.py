"""设置 for the administrator (李站长), the 七有 page, who may do what, and the error boundary."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from station_app.domain.clock import CST
from station_app.domain.documents import DocKind
from station_app.domain.people import validate_person
from station_app.services.calendar import missing_years
from station_app.services.cases import CaseRequest, add_case
from station_app.services.profile import agents, profile
from station_app.services.proxy import ProxyRequest, register_proxy
from station_app.services.users import users
from station_app.ui.views import cases, proxies
from station_app.ui.views.seven import SEVEN
from tests.ui.driver import GOOD_ID, MENU_ADMIN, App, check_printed, enter_pin, go_to, menu_labels
from tests.ui.harness import FletHarness, ui_test

INTERNAL_ERROR = re.compile(r"^系统内部错误，已记录（编号 ([0-9a-f]{8})），请联系技术支持$")


def holiday_file(folder: Path, years: list[int]) -> Path:
    """A vss-holidays/1 file with each year's 元旦 (enough to make the year known)."""
    path = folder / "holidays.json"
    path.write_text(json.dumps({"format": "vss-holidays/1", "years": [
        {"year": y, "source": "国务院办公厅通知（测试）",
         "days": [{"date": f"{y}-01-01", "kind": "HOLIDAY", "name": "元旦"}]}
        for y in years]}, ensure_ascii=False), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ 七有


@ui_test
async def test_the_seven_haves_page_lists_all_seven_not_yet_checked(app: App) -> None:
    h = await app.sign_in("王晓梅")
    mark = h.mark()
    await go_to(h, "七有自查")
    rows = h.find_by_key("seven_table").rows
    assert [r.cells[0].content.value for r in rows] == [name for name, _ in SEVEN]
    assert {r.cells[2].content.value for r in rows} == {"未自查"}
    assert h.find_by_key("seven_state").value.startswith("本站尚未记录七有自查")
    assert h.find_by_key("seven_book").value.startswith("本月记录簿（由账本自动统计）：办件")
    assert h.has_key("seven_readonly") and not h.has_key("seven_form")  # a clerk only reads
    sent = h.sent_strings(since=mark)
    assert "有记录簿" in sent and "未自查" in sent


# ------------------------------------------------------------------------------ 设置


@ui_test
async def test_admin_saves_the_station_profile(app: App) -> None:
    h = await app.sign_in("李站长")
    assert menu_labels(h) == MENU_ADMIN
    await go_to(h, "设置")
    await h.enter_text(h.find_by_key("profile_phone"), "0571-68011234")
    await h.enter_text(h.find_by_key("profile_hours"), "工作日 8:30–17:00")
    mark = h.mark()
    await h.click(h.find_by_key("profile_save"))
    assert h.toasts() == ["站点信息已保存"]
    assert "站点信息已保存" in h.sent_strings(since=mark)
    with app.station() as st:
        saved = profile(st)
    assert (saved["phone"], saved["hours"]) == ("0571-68011234", "工作日 8:30–17:00")

    await go_to(h, "首页")
    await go_to(h, "设置")  # rebuilt from the log
    assert h.find_by_key("profile_phone").value == "0571-68011234"


@ui_test
async def test_admin_adds_and_removes_an_agent(app: App) -> None:
    h = await app.sign_in("李站长")
    await go_to(h, "设置")
    shown = h.keys("agent_remove_")
    await h.enter_text(h.find_by_key("agent_name"), "周志强")
    await h.enter_text(h.find_by_key("agent_phone"), "123")
    await h.enter_text(h.find_by_key("agent_village"), "石桥村")
    await h.click(h.find_by_key("agent_add"))
    assert h.find_by_key("agent_phone").error == "手机号码有误：长度应为11位，实为3位"
    assert h.toasts() == []

    await h.enter_text(h.find_by_key("agent_phone"), "13905710044")
    await h.click(h.find_by_key("agent_add"))
    with app.station() as st:
        added = next(a for a in agents(st) if a.name == "周志强")
    assert added.phone == "13905710044" and added.village == "石桥村"
    assert h.keys("agent_remove_") == sorted([*shown, f"agent_remove_{added.agent_id}"])
    assert "周志强（村级代办员）13905710044 · 石桥村" in h.page_text()

    await h.click(h.find_by_key(f"agent_remove_{added.agent_id}"))
    assert h.keys("agent_remove_") == shown
    with app.station() as st:
        assert "周志强" not in [a.name for a in agents(st)]


@ui_test
async def test_the_notice_board_is_printed_from_settings_and_flagged_once_agents_change(
        app: App) -> None:
    h = await app.sign_in("李站长")
    await go_to(h, "设置")
    before, mark = app.log_size(), h.mark()
    await h.click(h.find_by_key("notice_board_print"))
    check_printed(h, app, since_entry=before, since_mark=mark, kind="notice-board", subject="")
    await h.close_dialogs()
    assert h.find_by_key("notice_board_state").value == "墙上的公示栏与当前公示内容一致"

    await h.enter_text(h.find_by_key("agent_name"), "周志强")
    await h.enter_text(h.find_by_key("agent_phone"), "13905710044")
    await h.click(h.find_by_key("agent_add"))
    # the poster is regenerated at once (docs/notice-board.md): it waits to be printed
    assert h.find_by_key("notice_board_state").value == "公示栏已更新，请打印张贴"
    await go_to(h, "首页")
    assert h.find_by_key("home_notice_board").value.startswith("公示栏已更新，请打印张贴")


@ui_test
async def test_importing_next_years_holidays_removes_the_estimate_banner(
        app: App, tmp_path: Path) -> None:
    h = await app.sign_in("李站长")
    assert h.has_key("estimate_banner")
    await go_to(h, "设置")
    assert "期限为估算" in h.find_by_key("calendar_state").value

    path_field = h.find_by_key("calendar_path")
    await h.enter_text(path_field, str(tmp_path / "nowhere.json"))
    await h.click(h.find_by_key("calendar_import"))
    assert path_field.error.endswith("nowhere.json：文件不存在或无法读取")

    now = datetime.now(CST)
    with app.station() as st:
        missing = missing_years(st, range(now.year, now.year + 2))
    await h.enter_text(path_field, str(holiday_file(tmp_path, missing)))
    await h.click(h.find_by_key("calendar_import"))
    names = "、".join(f"{y} 年" for y in missing)
    assert h.toasts() == [f"已导入 {names}放假安排，在办期限已重新计算"]
    assert h.find_by_key("calendar_state").value == f"已导入 2004–{missing[-1]} 年"

    mark = h.mark()
    await go_to(h, "办件")
    assert h.has_key("work_table") and not h.has_key("estimate_banner")
    assert "尚未导入" not in h.sent_strings(since=mark)
    await go_to(h, "首页")
    assert not h.has_key("estimate_banner")


@ui_test
async def test_admin_chooses_a_printer_and_sees_the_template_versions(app: App) -> None:
    h = await app.sign_in("李站长")
    await go_to(h, "设置")
    choice = h.find_by_key("printer_choice")
    assert choice.options[0].key == "" and choice.options[0].text.startswith("系统默认")
    wanted = choice.options[-1].key  # a CUPS queue if the PC has one, else 系统默认
    await h.select(choice, wanted)
    await h.click(h.find_by_key("printer_save"))
    assert h.toasts() == ["打印机已设置"]
    with app.station() as st:
        assert profile(st)["printer"] == wanted

    versions = h.find_by_key("templates_versions").value
    assert {part.split()[0] for part in versions.split("；")} == {k.value for k in DocKind}
    assert all(re.fullmatch(r"\S+ \d{4}\.\d+", part) for part in versions.split("；"))


@ui_test
async def test_admin_adds_a_user_who_can_then_sign_in(app: App) -> None:
    h = await app.sign_in("李站长")
    await go_to(h, "设置")
    await h.enter_text(h.find_by_key("user_name"), "钱晓东")
    await h.select(h.find_by_key("user_role"), "CLERK")
    await h.enter_text(h.find_by_key("user_pin"), "12")
    await h.click(h.find_by_key("user_add"))
    assert h.find_by_key("user_pin").error == "PIN 码填写有误：应为 4–8 位数字"
    with app.station() as st:
        assert "钱晓东" not in [u.name for u in users(st)]

    await h.enter_text(h.find_by_key("user_pin"), "5678")
    await h.click(h.find_by_key("user_add"))
    assert "钱晓东（窗口人员）" in h.page_text()
    new_id = app.user_id("钱晓东")

    await h.click(h.find_by_key("status_logout"))
    await enter_pin(h, new_id, "5678")
    assert h.find_by_key("home_title").value == "您好，钱晓东"


# ------------------------------------------------------------------------------ who may do what


def _open_case_and_entry(app: App) -> tuple[str, str]:
    villager = validate_person(name="孙八", cert_no=GOOD_ID)
    with app.station() as st:
        case_no = add_case(st, CaseRequest(item="LOCAL-MZ-002", applicant=villager)).case_no
        proxy_no = register_proxy(st, ProxyRequest(item="LOCAL-MZ-002", villager=villager,
                                                   agent="王丽华")).proxy_no
    return case_no, proxy_no


async def open_case(h: FletHarness, case_no: str) -> None:
    await go_to(h, "办件")
    await h.fire(h.find_by_key(f"row_{case_no}"), "select_change", "true")
    assert h.find_by_key("case_title").value == f"办件 {case_no}"


@ui_test
async def test_the_auditor_sees_cases_but_cannot_move_them(app: App) -> None:
    case_no, proxy_no = _open_case_and_entry(app)
    h = await app.sign_in("赵核查")
    assert menu_labels(h) == ["首页", "代办台账", "办件", "七有自查"]
    await open_case(h, case_no)
    assert h.keys("case_to_") == []
    assert not h.has_key("case_visit") and not h.has_key("case_unmask")
    assert h.has_key("case_print_receipt")  # papers may be reprinted for the file

    await go_to(h, "代办台账")
    await h.fire(h.find_by_key(f"ledger_row_{proxy_no}"), "select_change", "true")
    assert h.keys("proxy_to_") == []


@ui_test
async def test_the_agent_can_look_at_a_case_but_not_move_it(app: App) -> None:
    case_no, _ = _open_case_and_entry(app)
    h = await app.sign_in("王丽华")
    await open_case(h, case_no)
    assert h.keys("case_to_") == [] and not h.has_key("case_unmask")


@ui_test
async def test_the_clerk_is_offered_only_legal_moves(app: App) -> None:
    case_no, _ = _open_case_and_entry(app)
    h = await app.sign_in("王晓梅")
    await open_case(h, case_no)
    assert h.keys("case_to_") == [f"case_to_{s}" for s in
                                  ("ACCEPTED", "REJECTED", "SUPPLEMENT", "VOID", "WITHDRAWN")]
    assert not h.has_key("case_to_FINISHED") and not h.has_key("case_evaluate")


# ------------------------------------------------------------------------------ error boundary


def _logged(app: App) -> str:
    return (app.folder / "logs" / "ui-errors.log").read_text(encoding="utf-8")


@ui_test
async def test_an_unexpected_error_while_saving_is_logged_never_shown_as_a_traceback(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("simulated disk failure")

    monkeypatch.setattr(cases, "add_case", broken)
    h = await app.sign_in("王晓梅")
    await go_to(h, "收件")
    await h.enter_text(h.find_by_key("receive_item_query"), "失业登记")
    await h.submit(h.find_by_key("receive_item_query"))
    await h.enter_text(h.find_by_key("receive_name"), "王五")
    await h.enter_text(h.find_by_key("receive_cert_no"), GOOD_ID)
    before = app.log_size()
    mark = h.mark()
    await h.click(h.find_by_key("receive_save"))

    assert h.crashed() is None
    [message] = h.toasts()
    assert h.find_by_key("toast_text").value == message
    ref = INTERNAL_ERROR.match(message)
    assert ref is not None, message
    sent = h.sent_strings(since=mark)
    assert message in sent
    assert "Traceback" not in sent and "simulated disk failure" not in sent
    log = _logged(app)
    assert f"internal error {ref[1]}" in log
    assert "Traceback" in log and "RuntimeError: simulated disk failure" in log
    assert h.has_key("receive_title") and h.find_by_key("receive_name").value == "王五"
    assert app.log_size() == before


@ui_test
async def test_an_unexpected_error_while_opening_a_screen_keeps_the_app_alive(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("simulated query failure")

    monkeypatch.setattr(proxies, "list_proxies", broken)
    h = await app.sign_in("王丽华")
    await go_to(h, "代办台账")
    assert h.crashed() is None
    [message] = h.toasts()
    assert INTERNAL_ERROR.match(message)
    assert "RuntimeError: simulated query failure" in _logged(app)

    await h.close_dialogs()
    await go_to(h, "七有自查")  # the rest of the app still works
    assert h.has_key("seven_table")
