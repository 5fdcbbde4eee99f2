"""好差评 and 差评整改 in the app: the clerk (王晓梅) records a bad rating with its reasons, sees
the loop on the home page and moves it on; an overdue loop shows in red on the home page."""

from __future__ import annotations

from datetime import datetime

from station_app.domain.badreview import Step
from station_app.domain.clock import CST
from station_app.domain.evaluations import Channel, Level
from station_app.domain.people import validate_person
from station_app.domain.states import CaseState
from station_app.services.badreview import get_review
from station_app.services.cases import CaseRequest, add_case, move_case
from station_app.services.clock import ManualClock
from station_app.services.evaluations import evaluations, record_evaluation
from station_app.services.station import Station
from station_app.ui import theme
from tests.ui.driver import GOOD_ID, App, go_to
from tests.ui.harness import FletHarness, ui_test


def finished_case(app: App, clock: ManualClock | None = None) -> str:
    with Station.open(app.folder, clock=clock) as st:
        person = validate_person(name="赵春花", cert_no=GOOD_ID)
        case_no = add_case(st, CaseRequest(item="LOCAL-WJ-001", applicant=person)).case_no
        move_case(st, case_no, CaseState.ACCEPTED)
        move_case(st, case_no, CaseState.FINISHED, details={"outcome": "APPROVED"})
        return case_no


async def open_finished_case(h: FletHarness, case_no: str) -> None:
    await go_to(h, "办件")
    await h.select(h.find_by_key("work_state"), "FINISHED")
    await h.fire(h.find_by_key(f"row_{case_no}"), "select_change", "true")
    assert h.find_by_key("case_title").value == f"办件 {case_no}"


@ui_test
async def test_a_bad_rating_opens_the_loop_and_the_clerk_moves_it_on(app: App) -> None:
    case_no = finished_case(app)
    h = await app.sign_in("王晓梅")
    assert h.find_by_key("home_bad_overdue").value == "0"
    await open_finished_case(h, case_no)

    await h.click(h.find_by_key("case_evaluate"))
    await h.select(h.find_by_key("dlg_level"), Level.DISSATISFIED.value)
    await h.select(h.find_by_key("dlg_channel"), Channel.WINDOW_DEVICE.value)
    before = app.log_size()
    await h.click(h.find_by_key("dlg_evaluate_ok"))
    assert h.find_by_key("dlg_comment").error == "请填写差评的原因或文字说明"
    assert h.has_dialog("dlg_evaluate") and app.log_size() == before
    assert h.find_by_key("dlg_reason_0").label == "服务态度差"
    await h.tick(h.find_by_key("dlg_reason_0"))
    await h.tick(h.find_by_key("dlg_reason_1"))
    await h.click(h.find_by_key("dlg_evaluate_ok"))
    assert not h.has_dialog("dlg_evaluate")
    assert [e.kind for e in app.entries_since(before)] == ["evaluation.recorded",
                                                           "badreview.opened"]
    with app.station() as st:
        [rated] = evaluations(st, case_no)
        assert rated.reasons == ("服务态度差", "办事效率低") and rated.level is Level.DISSATISFIED

    # 差评整改 is in the clerk's menu; the new loop waits for 核实.
    await go_to(h, "差评整改")
    number = f"{case_no}-P1"
    assert h.has_key(f"review_row_{number}")
    await h.fire(h.find_by_key(f"review_row_{number}"), "select_change", "true")
    assert h.find_by_key("review_title").value == f"差评整改 {number}"
    assert h.find_by_key("review_fact_1").value.startswith("当前环节：核实")
    assert h.keys("review_to_") == ["review_to_RECTIFY"]

    # A step without a note is refused next to the field, and nothing is written.
    await h.click(h.find_by_key("review_to_RECTIFY"))
    before = app.log_size()
    await h.click(h.find_by_key("dlg_review_step_ok"))
    assert h.find_by_key("dlg_review_note").error == "变更为“整改”时必须填写核实情况"
    assert h.has_dialog("dlg_review_step") and app.log_size() == before
    await h.enter_text(h.find_by_key("dlg_review_note"), "已电话联系申请人，情况属实")
    await h.enter_text(h.find_by_key("dlg_review_owner"), "李主任")
    await h.click(h.find_by_key("dlg_review_step_ok"))
    assert not h.has_dialog("dlg_review_step")
    assert h.find_by_key("review_fact_1").value == "当前环节：整改　责任人：李主任"
    assert h.keys("review_to_") == ["review_to_FEEDBACK"]
    history = [t.value for t in h.find_by_key("review_history").controls]
    assert len(history) == 1 and "进入整改  李主任  已电话联系申请人，情况属实" in history[0]

    # 申诉, then the county's decision (维持差评): the loop goes on.
    await h.click(h.find_by_key("review_appeal"))
    await h.enter_text(h.find_by_key("dlg_appeal_reason"), "申请人称误点")
    await h.click(h.find_by_key("dlg_review_appeal_ok"))
    assert h.keys("review_to_") == [] and h.has_key("review_decide")
    assert "申诉复核中" in h.find_by_key("review_fact_1").value
    await h.click(h.find_by_key("review_decide"))
    await h.click(h.find_by_key("dlg_review_decide_ok"))
    assert h.keys("review_to_") == ["review_to_FEEDBACK"] and not h.has_key("review_appeal")

    with app.station() as st:
        review = get_review(st, number)
        assert review.step is Step.RECTIFY and review.owner == "李主任"
    await h.click(h.find_by_key("review_back"))
    assert h.has_key(f"review_row_{number}")
    assert h.crashed() is None


@ui_test
async def test_an_overdue_loop_shows_on_the_home_page(app: App) -> None:
    # Rated bad before the National Day holiday: 核实 was due on 2025-10-09, long gone.
    clock = ManualClock(datetime(2025, 9, 30, 10, 0, tzinfo=CST))
    case_no = finished_case(app, clock)
    with Station.open(app.folder, clock=clock) as st:
        record_evaluation(st, case_no, Level.VERY_DISSATISFIED, Channel.PHONE,
                          comment="材料要求反复变化")
    h = await app.sign_in("王晓梅")
    card = h.find_by_key("home_bad_overdue")
    assert card.value == "1" and card.color == theme.OVERDUE
    await h.click(h.find_by_key("home_to_reviews"))
    row = h.find_by_key(f"review_row_{case_no}-P1")
    assert row.color == theme.OVERDUE_BG
    assert row.cells[4].content.value == "2025-10-09 超期"
    assert h.crashed() is None


@ui_test
async def test_the_agent_has_no_review_menu_or_card(app: App) -> None:
    h = await app.sign_in("王丽华")
    assert not h.has_key("home_bad_overdue")
    assert "差评整改" not in [d.label for d in h.find_by_key("menu").destinations]
