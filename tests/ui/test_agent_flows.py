"""The village agent (王丽华): 代办登记, the ledger, one entry from 已报送 to the evaluation."""

from __future__ import annotations

from datetime import datetime, timedelta

from station_app.domain.clock import CST
from station_app.domain.evaluations import Level
from station_app.domain.people import validate_person
from station_app.domain.states import ProxyState
from station_app.services.clock import ManualClock
from station_app.services.evaluations import evaluations
from station_app.services.proxy import ProxyRequest, get_proxy, register_proxy
from station_app.services.station import Station
from station_app.ui import theme
from tests.ui.driver import BAD_ID, GOOD_ID, MENU_AGENT, App, check_printed, go_to, menu_labels
from tests.ui.harness import FletHarness, ui_test

LOW_INCOME = "LOCAL-MZ-002"  # 最低生活保障申请: six materials, the last one optional


async def register_zhang(h: FletHarness) -> None:
    """Fill the 代办登记 form for 张三丰's 低保 application (not saved yet)."""
    await go_to(h, "代办登记")
    query = h.find_by_key("proxy_item_query")
    await h.enter_text(query, "zdsh")
    await h.click(h.find_by_key(f"proxy_pick_{LOW_INCOME}"))
    await h.enter_text(h.find_by_key("proxy_name"), "张三丰")
    await h.enter_text(h.find_by_key("proxy_cert_no"), GOOD_ID)
    await h.enter_text(h.find_by_key("proxy_phone"), "13812341234")
    await h.enter_text(h.find_by_key("proxy_group"), "东坑村3组")


def entry_number(h: FletHarness) -> str:
    return h.find_by_key("proxy_title").value.removeprefix("代办记录 ")


@ui_test
async def test_agent_home_shows_proxy_counts_and_no_town_menus(app: App) -> None:
    h = await app.sign_in("王丽华")
    assert menu_labels(h) == MENU_AGENT  # no 收件, no 设置
    counts = ("home_proxy_waiting", "home_proxy_late", "home_proxy_back")
    before = [int(h.find_by_key(k).value) for k in counts]  # the demo's, which depend on today
    assert not h.has_key("home_worklist")
    assert h.find_by_key("status_sync").value == "未注册县级服务器"

    await register_zhang(h)
    await h.click(h.find_by_key("proxy_save"))
    await h.close_dialogs()
    await go_to(h, "首页")
    after = [int(h.find_by_key(k).value) for k in counts]
    assert after == [before[0] + 1, *before[1:]]


@ui_test
async def test_item_search_by_pinyin_initials_shows_the_materials_as_checkboxes(app: App) -> None:
    h = await app.sign_in("王丽华")
    await go_to(h, "代办登记")
    await h.enter_text(h.find_by_key("proxy_item_query"), "zdsh")
    assert h.keys("proxy_pick_") == [f"proxy_pick_{LOW_INCOME}"]
    assert h.find_by_key(f"proxy_pick_{LOW_INCOME}").content.startswith("最低生活保障申请")

    mark = h.mark()
    await h.click(h.find_by_key(f"proxy_pick_{LOW_INCOME}"))
    assert h.find_by_key("proxy_item_chosen").value == f"已选：最低生活保障申请（{LOW_INCOME}）"
    boxes = h.find_by_key("proxy_materials").controls
    assert [box.label.split("（")[0] for box in boxes] == [
        "最低生活保障申请书", "共同生活家庭成员居民身份证", "居民户口簿", "家庭经济状况核对授权书",
        "家庭收入和财产状况声明", "家庭成员患病或残疾证明"]
    assert [box.value for box in boxes] == [True] * 5 + [False]  # required ones ticked
    assert "最低生活保障申请书（原件 1 份 · 复印件 0 份）" in h.sent_strings(since=mark)


@ui_test
async def test_the_id_number_is_checked_as_soon_as_it_is_complete(app: App) -> None:
    h = await app.sign_in("王丽华")
    await go_to(h, "代办登记")
    cert = h.find_by_key("proxy_cert_no")
    await h.enter_text(cert, BAD_ID[:17])  # still typing: no complaint yet
    assert cert.error is None

    mark = h.mark()
    await h.enter_text(cert, BAD_ID)
    assert cert.error == "身份证号码有误：校验码不符，应为X"  # under the field, not in a bar
    assert cert.error in h.sent_strings(since=mark)
    assert h.toasts() == []

    await h.enter_text(cert, GOOD_ID)
    assert cert.error is None


@ui_test
async def test_saving_a_proxy_entry_opens_it_and_prints_the_slip(app: App) -> None:
    h = await app.sign_in("王丽华")
    await register_zhang(h)
    assert h.find_by_key("proxy_agent").value == "王丽华"
    assert h.find_by_key("proxy_agent_phone").value == "13905710011"  # from the 公示 list
    await h.tick(h.find_by_key("proxy_material_5"))  # the optional 患病证明 was brought too
    before = app.log_size()
    mark = h.mark()
    await h.click(h.find_by_key("proxy_save"))

    assert h.crashed() is None and h.toasts() == []
    number = entry_number(h)
    assert number.startswith("330199101000-DB")
    assert f"代办记录 {number}" in h.sent_strings(since=mark)
    assert "状态：已登记" in h.find_by_key("proxy_fact_0").value
    assert "收费：0 元（全程免费）" in h.find_by_key("proxy_fact_0").value
    assert "张*丰" in h.find_by_key("proxy_fact_1").value  # masked on screen
    slip = check_printed(h, app, since_entry=before, since_mark=mark, kind="proxy-slip",
                         subject=number)
    assert h.dialog("printed").title.value == f"代办登记回执（代办委托书） {slip.body['doc_no']}"

    with app.station() as st:
        entry = get_proxy(st, number)
        assert entry.state is ProxyState.REGISTERED
        assert entry.item.code == LOW_INCOME and entry.agent == "王丽华"
        assert len(entry.materials) == 6


@ui_test
async def test_saving_without_an_item_or_a_name_is_refused_next_to_the_field(app: App) -> None:
    h = await app.sign_in("王丽华")
    await go_to(h, "代办登记")
    before = app.log_size()
    await h.click(h.find_by_key("proxy_save"))
    assert h.find_by_key("proxy_item_query").error == "请填写代办事项（请先查找并点选）"

    await h.submit(h.find_by_key("proxy_item_query"))  # Enter picks the first match
    await h.click(h.find_by_key("proxy_save"))
    assert h.find_by_key("proxy_item_query").error is None
    assert h.find_by_key("proxy_name").error == "请填写姓名"
    assert app.log_size() == before and not h.has_dialog("printed")


def _register_at(app: App, when: datetime, group: str) -> str:
    with Station.open(app.folder, clock=ManualClock(when)) as st:
        entry = register_proxy(st, ProxyRequest(
            item=LOW_INCOME, agent="王丽华", village_group=group,
            villager=validate_person(name="李四", cert_no=GOOD_ID)))
    return entry.proxy_no


def ledger_rows(h: FletHarness) -> list[str]:
    return [k.removeprefix("ledger_row_") for k in h.keys("ledger_row_")]


@ui_test
async def test_the_ledger_filters_by_state_text_and_overdue(app: App) -> None:
    now = datetime.now(CST)
    late = _register_at(app, now - timedelta(days=20), "西溪村5组")  # never handed over
    fresh = _register_at(app, now, "东坑村3组")
    h = await app.sign_in("王丽华")
    await go_to(h, "代办台账")
    everything = ledger_rows(h)
    assert late in everything and fresh in everything and len(everything) > 2

    await h.select(h.find_by_key("ledger_state"), "REGISTERED")
    assert ledger_rows(h) == sorted([late, fresh])

    await h.enter_text(h.find_by_key("ledger_query"), "西溪村5组")
    assert ledger_rows(h) == [late]
    await h.enter_text(h.find_by_key("ledger_query"), "")

    mark = h.mark()
    await h.tick(h.find_by_key("ledger_overdue"))
    assert ledger_rows(h) == [late]
    row = h.find_by_key(f"ledger_row_{late}")
    assert row.color == theme.OVERDUE_BG and row.cells[5].content.value.endswith(" 超期")
    assert late in h.sent_strings(since=mark) and fresh not in h.sent_strings(since=mark)

    await h.select(h.find_by_key("ledger_state"), "DELIVERED")
    assert h.find_by_key("ledger_empty").value == "没有符合条件的代办记录"


@ui_test
async def test_the_ledger_filters_by_item_and_registration_date(app: App) -> None:
    now = datetime.now(CST)
    late = _register_at(app, now - timedelta(days=20), "西溪村5组")
    fresh = _register_at(app, now, "东坑村3组")
    h = await app.sign_in("王丽华")
    await go_to(h, "代办台账")

    await h.select(h.find_by_key("ledger_item"), LOW_INCOME)
    assert {late, fresh} <= set(ledger_rows(h))
    day = (now - timedelta(days=20)).date().isoformat()
    await h.enter_text(h.find_by_key("ledger_from"), day)
    await h.enter_text(h.find_by_key("ledger_to"), day)
    await h.click(h.find_by_key("ledger_search"))
    assert late in ledger_rows(h) and fresh not in ledger_rows(h)

    await h.enter_text(h.find_by_key("ledger_to"), "2026-02-30")
    await h.click(h.find_by_key("ledger_search"))
    assert h.find_by_key("ledger_to").error == "登记日期止“2026-02-30”不是有效的日期或时间"


@ui_test
async def test_an_entry_goes_from_registered_to_delivered_and_gets_evaluated(app: App) -> None:
    h = await app.sign_in("王丽华")
    await register_zhang(h)
    await h.click(h.find_by_key("proxy_save"))
    number = entry_number(h)
    await h.close_dialogs()

    # Open it again from the ledger, as the agent would the next day.
    await go_to(h, "代办台账")
    await h.fire(h.find_by_key(f"ledger_row_{number}"), "select_change", "true")
    assert entry_number(h) == number
    assert h.keys("proxy_to_") == ["proxy_to_SUBMITTED", "proxy_to_SUSPENDED",
                                   "proxy_to_TERMINATED"]
    assert not h.has_key("proxy_evaluate")  # not delivered yet

    await h.click(h.find_by_key("proxy_to_SUBMITTED"))
    await h.click(h.find_by_key("dlg_proxy_move_ok"))
    assert "状态：已报送" in h.find_by_key("proxy_fact_0").value

    await h.click(h.find_by_key("proxy_to_RESULT_RECEIVED"))
    result = h.find_by_key("dlg_result")
    await h.enter_text(result, "")
    await h.click(h.find_by_key("dlg_proxy_move_ok"))
    assert result.error == "变更为“结果已回”时必须填写办理结果"
    assert h.has_dialog("dlg_proxy_move")  # still open, to correct
    await h.enter_text(result, "低保申请已批准，自12月起发放")
    mark = h.mark()
    await h.click(h.find_by_key("dlg_proxy_move_ok"))
    assert not h.has_dialog("dlg_proxy_move")
    assert h.find_by_key("proxy_fact_3").value == "办理结果：低保申请已批准，自12月起发放"
    assert "状态：结果已回" in h.sent_strings(since=mark)

    await h.click(h.find_by_key("proxy_to_DELIVERED"))
    await h.click(h.find_by_key("dlg_proxy_move_ok"))
    assert "状态：已送达" in h.find_by_key("proxy_fact_0").value
    assert h.keys("proxy_to_") == []  # delivered is the end
    history = [t.value for t in h.find_by_key("proxy_history").controls]
    assert [line.split()[2] for line in history] == ["已登记", "已报送", "结果已回", "已送达"]

    # 不满意 needs a reason; with one it is recorded.
    await h.click(h.find_by_key("proxy_evaluate"))
    # an agent records the villager's rating on a return visit
    assert h.find_by_key("dlg_channel").value == "AGENT_VISIT"
    await h.select(h.find_by_key("dlg_level"), Level.DISSATISFIED.value)
    await h.click(h.find_by_key("dlg_evaluate_ok"))
    assert h.find_by_key("dlg_comment").error == "请填写差评的原因或文字说明"
    await h.enter_text(h.find_by_key("dlg_comment"), "跑了两趟才拿到结果")
    await h.click(h.find_by_key("dlg_evaluate_ok"))
    assert h.find_by_key("proxy_fact_4").value == "评价：首评 不满意（代办员回访）"

    # A second evaluation from the same screen becomes a 追评 by itself.
    await h.click(h.find_by_key("proxy_evaluate"))
    await h.click(h.find_by_key("dlg_evaluate_ok"))
    assert h.toasts() == [] and not h.has_dialog("dlg_evaluate")
    assert h.find_by_key("proxy_fact_4").value == \
        "评价：首评 不满意（代办员回访）；追评 非常满意（代办员回访）"

    with app.station() as st:
        assert get_proxy(st, number).state is ProxyState.DELIVERED
        rated = evaluations(st, number)
        assert [(e.level, e.assess_number) for e in rated] == [
            (Level.DISSATISFIED, 1), (Level.VERY_SATISFIED, 2)]
    assert h.crashed() is None
