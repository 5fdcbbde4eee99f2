"""The town clerk (王晓梅): 收件 (walk-in and handed over by an agent), one case from 收件 to
评价, 不予受理, and the worklist."""

from __future__ import annotations

from datetime import datetime, timedelta

from station_app.domain.cases import Channel
from station_app.domain.clock import CST
from station_app.domain.documents import DocKind
from station_app.domain.people import validate_person
from station_app.domain.states import CASE_TRANSITIONS, CaseState, ProxyState
from station_app.services.calendar import missing_years
from station_app.services.cases import (
    CaseFilter,
    CaseRequest,
    add_case,
    get_case,
    list_cases,
    move_case,
)
from station_app.services.clock import ManualClock
from station_app.services.dashboard import OPEN_STATES, dashboard
from station_app.services.documents import issue_document
from station_app.services.evaluations import evaluations
from station_app.services.proxy import ProxyRequest, get_proxy, register_proxy
from station_app.services.station import Station
from station_app.ui import theme
from tests.ui.driver import GOOD_ID, MENU_CLERK, App, check_printed, go_to, menu_labels
from tests.ui.harness import FletHarness, ui_test

DISABILITY_CARD = "LOCAL-CL-001"  # 残疾人证新办: a 承诺件 with five materials
LOW_INCOME = "LOCAL-MZ-002"


def moves_offered(h: FletHarness) -> set[CaseState]:
    return {CaseState(k.removeprefix("case_to_")) for k in h.keys("case_to_")}


def case_number(h: FletHarness) -> str:
    return h.find_by_key("case_title").value.removeprefix("办件 ")


def state_line(h: FletHarness) -> str:
    return h.find_by_key("case_state").value


async def receive_walk_in(h: FletHarness) -> str:
    """收件 for 李秀兰's 残疾人证: everything brought except the application form."""
    await go_to(h, "收件")
    await h.enter_text(h.find_by_key("receive_item_query"), "残疾人证新办")
    await h.click(h.find_by_key(f"receive_pick_{DISABILITY_CARD}"))
    await h.tick(h.find_by_key("receive_material_3"), False)  # 申请表 not brought
    await h.enter_text(h.find_by_key("receive_name"), "李秀兰")
    await h.enter_text(h.find_by_key("receive_cert_no"), GOOD_ID)
    await h.click(h.find_by_key("receive_save"))
    assert h.crashed() is None
    return case_number(h)


async def answer(h: FletHarness, **values: str) -> None:
    """Fill the open move dialog's fields (by key) and press 确定."""
    for key, text in values.items():
        await h.enter_text(h.find_by_key(key), text)
    await h.click(h.find_by_key("dlg_case_move_ok"))


# ------------------------------------------------------------------------------ home


@ui_test
async def test_clerk_home_shows_the_worklist_and_todays_counts(app: App) -> None:
    h = await app.sign_in("王晓梅")
    assert menu_labels(h) == MENU_CLERK  # no 代办登记, no 设置
    with app.station() as st:
        d = dashboard(st, datetime.now(CST))
    cards = {k: int(h.find_by_key(k).value) for k in
             ("home_today", "home_open", "home_overdue", "home_due_soon", "home_unsynced")}
    assert cards == {"home_today": d.received_today, "home_open": d.open_cases,
                     "home_overdue": d.overdue, "home_due_soon": d.due_soon,
                     "home_unsynced": d.entries}
    table = h.find_by_key("home_worklist")
    assert [r.key for r in table.rows] == [f"row_{r.case_no}" for r in d.worklist]
    assert not h.has_key("home_proxy_waiting")
    # Not enrolled with a county: every entry is unsynced, and the status bar says why.
    assert h.find_by_key("status_sync").value == "未注册县级服务器"
    assert h.find_by_key("home_last_sync").value == "最后同步：未注册县级服务器"


# ------------------------------------------------------------------------------ 收件


@ui_test
async def test_walk_in_receive_opens_the_new_case_and_prints_the_receipt(app: App) -> None:
    h = await app.sign_in("王晓梅")
    before = app.log_size()
    await go_to(h, "收件")
    await h.enter_text(h.find_by_key("receive_item_query"), "残疾人证")
    assert h.keys("receive_pick_") == [f"receive_pick_{DISABILITY_CARD}"]
    await h.click(h.find_by_key(f"receive_pick_{DISABILITY_CARD}"))
    assert len(h.find_by_key("receive_materials").controls) == 5
    await h.tick(h.find_by_key("receive_material_3"), False)
    await h.enter_text(h.find_by_key("receive_name"), "李秀兰")
    await h.enter_text(h.find_by_key("receive_cert_no"), GOOD_ID)
    mark = h.mark()
    await h.click(h.find_by_key("receive_save"))

    number = case_number(h)
    assert f"办件 {number}" in h.sent_strings(since=mark)
    assert state_line(h).startswith("状态：已收件　事项：残疾人证新办")
    assert "申报方式：窗口收件" in state_line(h)
    check_printed(h, app, since_entry=before, since_mark=mark, kind="receipt", subject=number)
    with app.station() as st:
        case = get_case(st, number)
    assert case.state is CaseState.RECEIVED and case.channel is Channel.WINDOW
    assert [m.name for m in case.materials] == [
        "居民身份证", "居民户口簿", "近期二寸白底免冠彩色照片", "残疾评定表"]


@ui_test
async def test_receive_without_an_applicant_is_refused_next_to_the_field(app: App) -> None:
    h = await app.sign_in("王晓梅")
    await go_to(h, "收件")
    await h.click(h.find_by_key("receive_save"))
    assert h.find_by_key("receive_item_query").error == "请填写申请事项"
    await h.enter_text(h.find_by_key("receive_item_query"), "失业登记")
    await h.submit(h.find_by_key("receive_item_query"))
    await h.enter_text(h.find_by_key("receive_phone"), "12345")
    await h.enter_text(h.find_by_key("receive_name"), "王五")
    await h.enter_text(h.find_by_key("receive_cert_no"), GOOD_ID)
    await h.click(h.find_by_key("receive_save"))
    assert h.find_by_key("receive_phone").error.startswith("手机号码有误")
    assert h.has_key("receive_title") and not h.has_dialog("printed")


def _agents_entry(app: App) -> tuple[str, str]:
    """An entry 王丽华 registered in the village, and the token of its printed slip."""
    with app.station() as st:
        entry = register_proxy(st, ProxyRequest(
            item=LOW_INCOME, agent="王丽华", village_group="东坑村3组",
            villager=validate_person(name="张三丰", cert_no=GOOD_ID)))
        slip = issue_document(st, DocKind.PROXY_SLIP, entry.proxy_no, print_it=False)
    return entry.proxy_no, slip.token


async def hand_over(h: FletHarness, text: str) -> None:
    await go_to(h, "收件")
    field = h.find_by_key("receive_handover")
    await h.enter_text(field, text)
    await h.submit(field)


@ui_test
async def test_a_typed_proxy_number_fills_the_item_and_villager(app: App) -> None:
    number, _ = _agents_entry(app)
    h = await app.sign_in("王晓梅")
    mark = h.mark()
    await hand_over(h, f" {number.lower()} ")  # typed sloppily

    info = h.find_by_key("receive_handover_info").value
    assert info == (f"代办件：代办序号 {number} · 村民 张*丰（110***********002X）· 代办员 王丽华"
                    "（申请人信息取自代办登记，无需再填）")
    assert info in h.sent_strings(since=mark)
    assert h.find_by_key("receive_item_chosen").value == f"已选：最低生活保障申请（{LOW_INCOME}）"
    assert len(h.find_by_key("receive_materials").controls) == 6

    before = app.log_size()
    mark = h.mark()
    await h.click(h.find_by_key("receive_save"))
    case_no = case_number(h)
    assert f"办件 {case_no}" in h.sent_strings(since=mark)
    assert "申报方式：村级代办　代办员：王丽华" in state_line(h)
    check_printed(h, app, since_entry=before, since_mark=mark, kind="receipt", subject=case_no)
    with app.station() as st:
        case, entry = get_case(st, case_no), get_proxy(st, number)
    assert case.proxy_no == number and case.channel is Channel.PROXY
    assert entry.state is ProxyState.SUBMITTED and entry.case_no == case_no


@ui_test
async def test_the_token_from_the_slips_qr_code_finds_the_entry(app: App) -> None:
    number, token = _agents_entry(app)
    h = await app.sign_in("王晓梅")
    await hand_over(h, "VSS1.garbage")
    assert h.find_by_key("receive_handover").error == \
        "二维码填写有误：无法识别，请重新扫描或手工输入代办序号"

    await hand_over(h, token)
    assert h.find_by_key("receive_handover").error is None
    assert h.find_by_key("receive_handover_info").value.startswith(f"代办件：代办序号 {number}")
    await h.click(h.find_by_key("receive_save"))
    with app.station() as st:
        assert get_proxy(st, number).case_no == case_number(h)


@ui_test
async def test_a_token_of_another_paper_is_not_taken_for_a_slip(app: App) -> None:
    h = await app.sign_in("王晓梅")
    case_no = await receive_walk_in(h)
    with app.station() as st:
        receipt = issue_document(st, DocKind.RECEIPT, case_no, print_it=False)
    await h.close_dialogs()
    await hand_over(h, receipt.token)
    assert "不是代办登记回执" in h.find_by_key("receive_handover").error
    assert h.find_by_key("receive_handover_info").value == ""


# ------------------------------------------------------------------------------ one case


@ui_test
async def test_a_case_from_receipt_to_evaluation(app: App) -> None:
    h = await app.sign_in("王晓梅")
    before = app.log_size()
    number = await receive_walk_in(h)
    await h.close_dialogs()
    assert moves_offered(h) == CASE_TRANSITIONS[CaseState.RECEIVED]
    assert h.find_by_key("case_to_SUPPLEMENT").content == "要求补正（一次性告知）"

    # 要求补正: nothing ticked is refused; ticking the missing form prints the 一次性告知书.
    await h.click(h.find_by_key("case_to_SUPPLEMENT"))
    await answer(h)
    # the message shows inside the dialog, not behind it
    assert h.find_by_key("dlg_missing_error").value == "变更为“补正中”时必须填写需补正的材料清单"
    assert h.toasts() == []
    await h.tick(h.find_by_key("dlg_missing_3"))
    mark = h.mark()
    await answer(h, dlg_missing_reason_3="缺少申请人签名")
    assert not h.has_dialog("dlg_case_move")  # the form closed, not just the error bar
    assert state_line(h).startswith("状态：补正中")
    assert h.find_by_key("case_missing").value == \
        "需补正：中华人民共和国残疾人证申请表（缺少申请人签名）"
    check_printed(h, app, since_entry=before, since_mark=mark, kind="supplement-notice",
                  subject=number)
    await h.close_dialogs()
    assert moves_offered(h) == CASE_TRANSITIONS[CaseState.SUPPLEMENT]

    # 补齐材料 → 已收件 (no paper), then 受理 prints the 受理通知书 at once.
    await h.click(h.find_by_key("case_to_RECEIVED"))
    assert state_line(h).startswith("状态：已收件") and not h.has_dialog("printed")
    mark = h.mark()
    await h.click(h.find_by_key("case_to_ACCEPTED"))
    assert state_line(h).startswith("状态：已受理")
    check_printed(h, app, since_entry=before, since_mark=mark, kind="accept-notice",
                  subject=number)
    await h.close_dialogs()
    assert moves_offered(h) == CASE_TRANSITIONS[CaseState.ACCEPTED]
    with app.station() as st:
        assert get_case(st, number).state is CaseState.ACCEPTED

    # 开始办理, 特别程序 (a reason is required), back to 办理中.
    await h.click(h.find_by_key("case_to_IN_PROGRESS"))
    assert state_line(h).startswith("状态：办理中")
    await h.click(h.find_by_key("case_to_SUSPENDED"))
    await answer(h)
    assert h.find_by_key("dlg_reason").error == "变更为“特别程序（暂停计时）”时必须填写特别程序事由"
    await answer(h, dlg_reason="需进行残疾等级评定")
    assert state_line(h).startswith("状态：特别程序（暂停计时）")
    assert "当前期限：计时暂停中" in h.find_by_key("case_deadline").value
    assert moves_offered(h) == CASE_TRANSITIONS[CaseState.SUSPENDED]
    await h.click(h.find_by_key("case_to_IN_PROGRESS"))

    # 办结 prints the 办结通知书; a finished case offers no moves, only papers and 评价.
    await h.click(h.find_by_key("case_to_FINISHED"))
    mark = h.mark()
    await answer(h, dlg_cert_no="33019920260001")
    assert state_line(h).startswith("状态：已办结")
    check_printed(h, app, since_entry=before, since_mark=mark, kind="finish-notice",
                  subject=number)
    await h.close_dialogs()
    assert moves_offered(h) == set() and not h.has_key("case_visit")
    assert h.keys("case_print_") == sorted(
        f"case_print_{k}" for k in ("receipt", "accept-notice", "supplement-notice",
                                    "finish-notice"))

    await h.click(h.find_by_key("case_evaluate"))
    await h.click(h.find_by_key("dlg_evaluate_ok"))
    timeline = [t.value.split()[2] for t in h.find_by_key("case_timeline").controls]
    assert timeline == ["已收件", "补正中", "已收件", "已受理", "办理中", "特别程序（暂停计时）",
                        "办理中", "已办结"]
    with app.station() as st:
        case = get_case(st, number)
        assert case.state is CaseState.FINISHED and case.details["outcome"] == "APPROVED"
        assert [e.assess_number for e in evaluations(st, number)] == [1]
    assert h.crashed() is None


@ui_test
async def test_refusing_a_case_needs_a_reason_and_prints_the_refusal(app: App) -> None:
    with app.station() as st:
        number = add_case(st, CaseRequest(item=LOW_INCOME, applicant=validate_person(
            name="赵六", cert_no=GOOD_ID))).case_no
    h = await app.sign_in("王晓梅")
    await go_to(h, "办件")
    await h.fire(h.find_by_key(f"row_{number}"), "select_change", "true")
    assert case_number(h) == number

    await h.click(h.find_by_key("case_to_REJECTED"))
    assert h.find_by_key("dlg_legal_basis").value == "《中华人民共和国行政许可法》第三十二条"
    await answer(h)
    assert h.find_by_key("dlg_reason").error == "变更为“不予受理”时必须填写不予受理理由"
    before = app.log_size()
    mark = h.mark()
    await answer(h, dlg_reason="申请人户籍不在本镇，请向户籍地乡镇申请")
    assert state_line(h).startswith("状态：不予受理")
    check_printed(h, app, since_entry=before, since_mark=mark, kind="reject-notice",
                  subject=number)
    assert moves_offered(h) == set()
    assert h.has_key("case_print_reject-notice")
    with app.station() as st:
        case = get_case(st, number)
    assert case.state is CaseState.REJECTED
    assert case.details["legal_basis"] == "《中华人民共和国行政许可法》第三十二条"


# ------------------------------------------------------------------------------ worklist


def _stale_case(app: App) -> str:
    """A case received 30 days ago and never decided: overdue by now."""
    when = datetime.now(CST) - timedelta(days=30)
    with Station.open(app.folder, clock=ManualClock(when)) as st:
        return add_case(st, CaseRequest(item=DISABILITY_CARD, applicant=validate_person(
            name="钱七", cert_no=GOOD_ID))).case_no


def _waiting_cases(app: App) -> tuple[str, str]:
    """A 登记 draft (not received yet) and a case waiting for the applicant's 补正."""
    person = validate_person(name="孙八", cert_no=GOOD_ID)
    with app.station() as st:
        draft = add_case(st, CaseRequest(item=LOW_INCOME, applicant=person, draft=True))
        waiting = add_case(st, CaseRequest(item=LOW_INCOME, applicant=person))
        move_case(st, waiting.case_no, CaseState.SUPPLEMENT,
                  details={"missing": [{"name": "居民户口簿", "reason": "缺少原件"}]})
    return draft.case_no, waiting.case_no


def work_rows(h: FletHarness) -> list[str]:
    return [r.key.removeprefix("row_") for r in h.find_by_key("work_table").rows]


@ui_test
async def test_the_worklist_is_ordered_by_deadline_with_overdue_rows_in_red(app: App) -> None:
    stale = _stale_case(app)
    h = await app.sign_in("王晓梅")
    mark = h.mark()
    await go_to(h, "办件")
    now = datetime.now(CST)
    with app.station() as st:
        expected = list_cases(st, CaseFilter(states=OPEN_STATES, limit=200))
        missing = missing_years(st, range(now.year, now.year + 2))
    assert work_rows(h) == [r.case_no for r in expected]
    dated = [r.deadline_ts for r in expected if r.deadline_ts is not None]
    assert dated == sorted(dated) and expected[0].deadline_ts is not None  # deadlines first

    overdue = {r.case_no for r in expected if r.deadline_ts and r.deadline_ts < now.timestamp()}
    assert stale in overdue
    for row in h.find_by_key("work_table").rows:
        late = row.key.removeprefix("row_") in overdue
        assert (row.color == theme.OVERDUE_BG) is late, row.key
        assert row.cells[4].content.value.endswith(" · 已超期") is late
    assert "#fdecea" in h.sent_strings(since=mark)  # the red rows reached the screen

    # Holidays for next year are not imported yet: deadlines there are estimates, and it says so.
    assert missing, "the demo station should lack next year's holidays"
    assert f"尚未导入 {missing[0]} 年放假安排" in h.find_by_key("estimate_banner").content.value


@ui_test
async def test_cases_without_a_running_deadline_say_why(app: App) -> None:
    draft, waiting = _waiting_cases(app)
    h = await app.sign_in("王晓梅")
    await go_to(h, "办件")
    deadline = {r.key.removeprefix("row_"): r.cells[4].content.value
                for r in h.find_by_key("work_table").rows}
    assert deadline[waiting] == "待申请人补正"
    assert deadline[draft] == "—"  # a draft is not waiting for any 补正


@ui_test
async def test_the_worklist_filters_by_state_text_and_overdue(app: App) -> None:
    stale = _stale_case(app)
    h = await app.sign_in("王晓梅")
    await go_to(h, "办件")
    everything = work_rows(h)

    await h.tick(h.find_by_key("work_overdue"))
    late = work_rows(h)
    assert stale in late and set(late) < set(everything)
    assert all(r.color == theme.OVERDUE_BG for r in h.find_by_key("work_table").rows)
    await h.tick(h.find_by_key("work_overdue"), False)

    await h.select(h.find_by_key("work_state"), "RECEIVED")
    states = {r.cells[1].content.value for r in h.find_by_key("work_table").rows}
    assert states == {"已收件"} and stale in work_rows(h)

    await h.select(h.find_by_key("work_state"), "")  # 全部: closed cases too
    assert len(work_rows(h)) > len(everything)

    query = h.find_by_key("work_query")
    await h.enter_text(query, stale)
    await h.submit(query)
    assert work_rows(h) == [stale]
    assert h.find_by_key("work_results").controls[0].value == "共 1 件（按期限排序，红色为已超期）"

    await h.enter_text(query, "没有这个办件")
    await h.click(h.find_by_key("work_search"))
    assert h.find_by_key("work_table_empty").value == "没有符合条件的办件"

    await h.enter_text(h.find_by_key("work_from"), "2026-13-01")
    await h.click(h.find_by_key("work_search"))
    # under the box it belongs to, naming it
    assert h.find_by_key("work_from").error == "收件日期起“2026-13-01”不是有效的日期或时间"
    assert h.toasts() == []


@ui_test
async def test_an_overdue_case_says_so_on_its_page(app: App) -> None:
    stale = _stale_case(app)
    h = await app.sign_in("王晓梅")
    await go_to(h, "办件")
    await h.fire(h.find_by_key(f"row_{stale}"), "select_change", "true")
    banner = h.find_by_key("case_urgency")
    assert banner.bgcolor == theme.OVERDUE_BG
    assert banner.content.value == "已超期：已超过当前期限，请尽快办理"

    await go_to(h, "收件")  # a case received just now is neither late nor due soon
    fresh = await receive_walk_in(h)
    assert case_number(h) == fresh and h.keys("case_urgency") == []
