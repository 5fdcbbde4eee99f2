"""县级通知 after the county decided on the station's disputes: the upheld notice is 待整改
again with its new deadline and can be answered, the withdrawn one is 已撤销 with no form;
both show the county's decision. The decisions arrive as the relay writes them
(``services.notices.receive_decision``)."""

from __future__ import annotations

from datetime import date, timedelta

from station_app.domain.audit.rectification import UPHELD, WITHDRAWN, Decision
from station_app.services.notices import dispute, receive_decision
from tests.ui.driver import App
from tests.ui.harness import ui_test
from tests.ui.test_notices_ui import SIGN, open_notice, send


def decided(app: App, number: str, decision: str, deadline: date | None) -> None:
    """The station disputes ``number``; the county's decision is taken in as the relay does."""
    with app.station() as st:
        dispute(st, number, reason="标识牌由县里统一制作")
        made = Decision(notice=number, decision=decision, note="经复核", deadline=deadline,
                        decided="2026-11-20T10:00:00.000+08:00")
        with st.transaction() as tx:
            assert receive_decision(tx, made.payload(), {"from": "county/330199",
                                                         "id": "1" * 32, "sent": made.decided,
                                                         "seq": 2}, actor="relay")


@ui_test
async def test_the_county_s_decisions_show_on_the_notices_screen(app: App) -> None:
    today = date.today()
    new_deadline = today + timedelta(days=20)
    send(app, "ZG20261102001", today - timedelta(days=3), SIGN)
    send(app, "ZG20261102002", today - timedelta(days=3), SIGN)
    decided(app, "ZG20261102001", UPHELD, new_deadline)
    decided(app, "ZG20261102002", WITHDRAWN, None)
    h = await app.sign_in("李站长")
    assert h.find_by_key("home_notices_open").value == "1"
    assert h.find_by_key("home_notices_overdue").value == "超期 0"

    await h.click(h.find_by_key("home_to_notices"))
    assert h.find_by_key("notice_state_ZG20261102001").value == "待整改"
    assert h.find_by_key("notice_state_ZG20261102002").value == "已撤销"

    await open_notice(h, "ZG20261102001")
    assert h.find_by_key("notice_deadline").value == f"整改期限：{new_deadline}"
    assert h.find_by_key("notice_decision").value.startswith("县级复核：维持整改")
    assert h.keys("notice_form")  # open again: the admin answers afresh

    await h.click(h.find_by_key("notice_back"))
    await open_notice(h, "ZG20261102002")
    assert h.find_by_key("notice_state").value == "状态：已撤销"
    assert h.find_by_key("notice_decision").value.startswith("县级复核：撤销通知")
    assert not h.keys("notice_form")
