"""The three critical flows, clicked and typed through the real Flutter web client.

Each test signs in on a fresh browser tab against the module's server (a copy of the demo
station) and checks what the person at the window sees, then what the station recorded.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from station_app.domain.evaluations import Level
from station_app.services.station import Station
from tests.e2e.conftest import (
    UI,
    WebApp,
    expect_printed,
    flet_fill,
    nav,
    open_app,
    pick_item,
    sign_in,
)

pytestmark = pytest.mark.slow

CLERK = ("王晓梅（窗口人员）", "1111")
AGENT = ("王丽华（代办员）", "2222")
ZDSH = "最低生活保障申请"  # 承诺件: it goes through 受理 and 办理 before 办结
ID_NO = "11010519491231002X"
CASE_TITLE = re.compile(r"^办件 (\d{12}-\d{8}-\d{4})$")


def receive_walk_in(page: Page, name: str) -> str:
    """收件 for a walk-in applicant; returns the new case's number from the case page."""
    nav(page, "收件")
    pick_item(page, "zdsh", ZDSH)
    flet_fill(page, "申请人姓名", name)
    flet_fill(page, "证件号码", ID_NO)
    flet_fill(page, "手机号码", "13812341234")
    page.get_by_role("button", name="收件并打印回执").click()
    expect_printed(page, "收件回执")
    title = page.get_by_text(CASE_TITLE)
    expect(title).to_be_visible()
    found = CASE_TITLE.match(title.inner_text())
    assert found is not None
    return found.group(1)


def open_from_worklist(page: Page, case_no: str, *cells: str) -> None:
    """办件: find the case by its number, check its row, click the row to open the case."""
    nav(page, "办件")
    flet_fill(page, "查找：办件编号", case_no)
    page.keyboard.press("Enter")
    expect(page.get_by_text("共 1 件")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=case_no)
    for text in cells:
        expect(row).to_contain_text(text)
    # Row semantics nodes let pointer events through to the canvas: click where the row is
    # drawn (force skips Playwright's "would another element receive the click" check).
    row.get_by_role("cell").first.click(force=True)
    expect(page.get_by_text(f"办件 {case_no}", exact=True)).to_be_visible()


def click_move(page: Page, caption: str) -> None:
    page.get_by_role("button", name=caption, exact=True).click()


def expect_timeline(page: Page, *states: str) -> None:
    """The case page's 办理经过 lists these states, oldest first, each moved by 王晓梅."""
    lines = page.get_by_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d\s"))
    expect(lines).to_have_count(len(states))
    for line, state in zip(lines.all(), states, strict=True):
        expect(line).to_contain_text(f"{state} 王晓梅")


def test_agent_registers_a_proxy_case_and_the_slip_is_printed(page: Page, web_app: WebApp):
    open_app(page, web_app.url)
    sign_in(page, *AGENT)
    nav(page, "代办登记")
    expect(page.get_by_text("全程免费代办")).to_be_visible()

    pick_item(page, "zdsh", ZDSH)
    # Choosing the item lists its materials, the required ones already ticked.
    expect(page.get_by_role("checkbox", name="居民户口簿")).to_be_checked()
    flet_fill(page, "村民姓名", "张三丰")
    flet_fill(page, "证件号码", ID_NO)
    flet_fill(page, "手机号码", "13812341234")
    page.get_by_role("button", name="保存并打印回执").click()

    number = expect_printed(page, "代办登记回执")
    assert re.fullmatch(rf"青石镇代〔{date.today().year}〕\d+号", number)
    title = page.get_by_text(re.compile(r"^代办记录 \d{12}-DB\d{4}-\d{5}$"))
    expect(title).to_be_visible()
    expect(page.get_by_text(re.compile("^代办序号：.*状态：已登记"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"村民：张\*丰.*110\*+002X"))).to_be_visible()

    slips = list((web_app.folder / "documents").rglob("*proxy-slip.pdf"))
    assert len(slips) == 1, slips
    assert slips[0].read_bytes().startswith(b"%PDF")


def test_clerk_asks_for_missing_material_then_accepts(page: Page, web_app: WebApp):
    open_app(page, web_app.url)
    sign_in(page, *CLERK)
    case_no = receive_walk_in(page, "李四海")
    open_from_worklist(page, case_no, "已收件", ZDSH, "李*海")
    expect(page.get_by_role("button", name="受理", exact=True)).to_be_visible()

    click_move(page, "要求补正（一次性告知）")
    dialog = page.get_by_role("alertdialog")
    expect(dialog.get_by_text(f"要求补正（一次性告知）：{case_no}")).to_be_visible()
    missing = dialog.get_by_role("checkbox", name="居民户口簿")
    missing.click()
    expect(missing).to_be_checked()
    dialog.get_by_role("button", name="确定").click()
    expect_printed(page, "一次性告知书")
    expect_timeline(page, "已收件", "补正中")
    expect(page.get_by_text(re.compile("^需补正：居民户口簿"))).to_be_visible()
    expect(page.get_by_role("button", name="打印一次性告知书")).to_be_visible()

    click_move(page, "补齐材料")
    expect_timeline(page, "已收件", "补正中", "已收件")
    click_move(page, "受理")
    number = expect_printed(page, "受理通知书")
    assert number.startswith("青石镇受〔")
    expect_timeline(page, "已收件", "补正中", "已收件", "已受理")
    expect(page.get_by_text(re.compile("^状态：已受理"))).to_be_visible()
    expect(page.get_by_role("button", name="开始办理")).to_be_visible()


def test_clerk_finishes_a_case_and_records_the_evaluation(page: Page, web_app: WebApp):
    open_app(page, web_app.url)
    sign_in(page, *CLERK)
    case_no = receive_walk_in(page, "赵五岳")
    click_move(page, "受理")
    expect_printed(page, "受理通知书")
    click_move(page, "开始办理")
    expect_timeline(page, "已收件", "已受理", "办理中")

    click_move(page, "办结")
    dialog = page.get_by_role("alertdialog")
    expect(dialog.get_by_text(f"办结：{case_no}")).to_be_visible()
    dialog.get_by_role("button", name="确定").click()
    expect_printed(page, "办结通知书")
    expect_timeline(page, "已收件", "已受理", "办理中", "已办结")

    page.get_by_role("button", name="记录评价").click()
    expect(dialog.get_by_text(f"评价：{case_no}")).to_be_visible()
    # The dropdowns carry no accessible name; 满意度 is the first one in the dialog.
    dialog.locator("[aria-expanded]").first.click()
    page.get_by_role("button", name="满意", exact=True).click()
    expect(page.get_by_role("button", name="非常满意", exact=True)).to_have_count(0)
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_have_count(0, timeout=UI)
    expect(page.get_by_text(CASE_TITLE)).to_be_visible()

    web_app.stop()  # read the station the way the next start of the app will
    with Station.open(web_app.folder) as station:
        recorded = [e.body for e in station.entries() if e.kind == "evaluation.recorded"
                    and e.body["subject"] == case_no]
    assert len(recorded) == 1
    assert recorded[0]["level"] == Level.SATISFIED.value
    assert recorded[0]["channel"] == "WINDOW_DEVICE"
