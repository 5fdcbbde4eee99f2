"""代办: the village agent's guided registration, the ledger, and one entry's page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from station_app.domain.documents import DocKind
from station_app.domain.evaluations import Channel, Level
from station_app.domain.states import PROXY_TRANSITIONS, ProxyState
from station_app.domain.users import CAN_RECORD_PROXY, Role
from station_app.errors import MissingField
from station_app.services.badreview import review_settings
from station_app.services.evaluations import evaluations, record_evaluation
from station_app.services.profile import agents
from station_app.services.proxy import (
    ProxyFilter,
    ProxyRequest,
    get_proxy,
    list_proxies,
    move_proxy,
    register_proxy,
)
from station_app.services.users import user_names
from station_app.services.views import proxy_dict
from station_app.ui import theme
from station_app.ui.context import AppContext
from station_app.ui.printing import print_document
from station_app.ui.views.common import (
    ItemPicker,
    MaterialsChecklist,
    PersonForm,
    day_or_blank,
    require,
)
from station_app.ui.views.dialogs import ask, chosen_reasons, evaluation_fields, reason_fields


def new_entry(ctx: AppContext) -> ft.Control:
    """Item → materials → villager → save → 代办登记回执, top to bottom, keyboard first."""
    assert ctx.station is not None and ctx.user is not None
    materials = MaterialsChecklist("proxy")
    picker = ItemPicker(ctx, "proxy", lambda item: materials.show(item), proxy_only=True)
    villager = PersonForm(ctx, "proxy", "村民")
    me = ctx.user.name
    phone = next((a.phone for a in agents(ctx.station) if a.name == me), "")
    extra = {
        "agent": theme.field("代办员", key="proxy_agent", value=me, width=200),
        "agent_phone": theme.field("代办员工作电话", key="proxy_agent_phone", value=phone,
                                   width=220),
        "village_group": theme.field("村民小组", key="proxy_group", width=220,
                                     hint="如 东坑村3组"),
    }
    fields = {**villager.fields, **extra, "item": picker.query}

    async def save(_: Any) -> None:
        item = require(picker.item, MissingField(field="item", label="代办事项（请先查找并点选）"))
        entry = register_proxy(ctx.station, ProxyRequest(
            item=item.code, villager=villager.details(), agent=extra["agent"].value or "",
            agent_phone=extra["agent_phone"].value or "",
            village_group=extra["village_group"].value or "", materials=materials.received()))
        ctx.show("proxy", proxy_no=entry.proxy_no)
        await print_document(ctx, DocKind.PROXY_SLIP, entry.proxy_no)

    submit = ctx.guard(save, fields)
    for control in (*villager.fields.values(), *extra.values()):
        if isinstance(control, ft.TextField):
            control.on_submit = submit
    return ft.Column([
        theme.title("代办登记", key="proxy_new_title"),
        theme.muted("全程免费代办：不收取任何费用。保存后自动打印代办登记回执。"),
        ft.Text("① 代办事项", size=theme.BODY, weight=ft.FontWeight.BOLD),
        *picker.controls(),
        ft.Text("② 收取材料", size=theme.BODY, weight=ft.FontWeight.BOLD), materials.column,
        ft.Text("③ 委托村民", size=theme.BODY, weight=ft.FontWeight.BOLD), *villager.controls(),
        ft.Row(list(extra.values()), wrap=True),
        theme.button("保存并打印回执", submit, key="proxy_save", icon=ft.Icons.SAVE),
    ], spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


def ledger(ctx: AppContext) -> ft.Control:
    """代办记录台账 with search and filters; a row opens the entry."""
    assert ctx.station is not None
    state = theme.dropdown("状态", [("", "全部")] + [(s.value, s.label) for s in ProxyState],
                           key="ledger_state", value="", width=180)
    text = theme.field("查找：代办序号、事项、代办员、村组", key="ledger_query", width=360)
    items = [("", "全部事项")] + [(i.code, i.name) for i in ctx.station.projector.catalog().items]
    item = theme.dropdown("事项", items, key="ledger_item", value="", width=320)
    dates = {"from": theme.field("登记日期起", key="ledger_from", width=150, hint="YYYY-MM-DD"),
             "to": theme.field("登记日期止", key="ledger_to", width=150, hint="YYYY-MM-DD")}
    overdue = ft.Checkbox(label="只看超期未报送", key="ledger_overdue")
    table = ft.Column(key="ledger_rows")

    def refresh(_: Any = None) -> None:
        assert ctx.station is not None
        f = ProxyFilter(states=(state.value,) if state.value else (), text=text.value or "",
                        item_code=item.value or "",
                        registered_from=day_or_blank(dates["from"].value, "from", "登记日期起"),
                        registered_to=day_or_blank(dates["to"].value, "to", "登记日期止"),
                        submit_overdue_at=int(ctx.now().timestamp()) if overdue.value else None,
                        limit=200)
        rows = list_proxies(ctx.station, f)
        table.controls = [_ledger_table(ctx, rows)] if rows else [
            ft.Text("没有符合条件的代办记录", color=theme.MUTED, key="ledger_empty")]

    handler = ctx.guard(refresh, dates)
    state.on_select, item.on_select, text.on_change = handler, handler, handler
    overdue.on_change = dates["from"].on_submit = dates["to"].on_submit = handler
    refresh()
    return ft.Column([theme.title("代办记录台账", key="ledger_title"),
                      ft.Row([state, item, text], wrap=True),
                      ft.Row([dates["from"], dates["to"], overdue,
                              theme.button("查询", handler, primary=False, key="ledger_search")]),
                      table],
                     spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


def _ledger_table(ctx: AppContext, rows: list[Any]) -> ft.Control:
    def open_entry(proxy_no: str) -> Callable[[Any], None]:
        return lambda _: ctx.show("proxy", proxy_no=proxy_no)

    today = ctx.now().date().isoformat()
    data = []
    for r in rows:
        late = r.state == "REGISTERED" and r.submit_due < today
        data.append(ft.DataRow(
            key=f"ledger_row_{r.proxy_no}", color=theme.OVERDUE_BG if late else None,
            on_select_change=ctx.guard(open_entry(r.proxy_no)),
            cells=[ft.DataCell(ft.Text(v, size=theme.SMALL)) for v in (
                r.proxy_no, ProxyState(r.state).label, r.item_name, r.villager_name, r.agent,
                r.submit_due + (" 超期" if late else ""), r.case_no or "—")]))
    return ft.DataTable(columns=[ft.DataColumn(ft.Text(t)) for t in (
        "代办序号", "状态", "事项", "村民", "代办员", "报送期限", "镇办件编号")], rows=data,
        column_spacing=16)


_MOVE_LABELS = {ProxyState.SUBMITTED: "已报送", ProxyState.IN_PROGRESS: "办理中",
                ProxyState.RESULT_RECEIVED: "结果已回", ProxyState.DELIVERED: "已送达",
                ProxyState.SUSPENDED: "中止", ProxyState.TERMINATED: "终止"}


def detail(ctx: AppContext, proxy_no: str) -> ft.Control:
    """One entry: facts, history, the next steps as buttons, papers and the evaluation."""
    assert ctx.station is not None and ctx.user is not None
    entry = get_proxy(ctx.station, proxy_no)
    view = proxy_dict(ctx.station, entry)
    names = user_names(ctx.station)
    may_act = ctx.user.role in CAN_RECORD_PROXY
    actions: list[ft.Control] = []
    targets = PROXY_TRANSITIONS[entry.state] if entry.state is not ProxyState.SUSPENDED \
        else {entry.resumes, ProxyState.TERMINATED} - {None}
    for target in sorted(targets, key=list(ProxyState).index):
        if may_act and target is not None:
            actions.append(theme.button(_MOVE_LABELS.get(target, target.label),
                                        ctx.guard(_move(ctx, entry.proxy_no, target)),
                                        primary=False, key=f"proxy_to_{target.value}"))
    actions.append(theme.button("打印代办登记回执", ctx.guard(
        lambda _: print_document(ctx, DocKind.PROXY_SLIP, entry.proxy_no)), primary=False,
        key="proxy_print_slip", icon=ft.Icons.PRINT))
    if entry.state in (ProxyState.RESULT_RECEIVED, ProxyState.DELIVERED):
        actions.append(theme.button("打印代办办结单", ctx.guard(
            lambda _: print_document(ctx, DocKind.PROXY_DONE, entry.proxy_no)), primary=False,
            key="proxy_print_done", icon=ft.Icons.PRINT))
    if entry.state is ProxyState.DELIVERED:
        actions.append(theme.button("记录村民评价", ctx.guard(_evaluate(ctx, entry.proxy_no)),
                                    key="proxy_evaluate", icon=ft.Icons.THUMB_UP))
    rated = evaluations(ctx.station, entry.proxy_no)
    history = [ft.Text(f"{h['at'][:16].replace('T', ' ')}  {ProxyState(h['to']).label}  "
                       f"{names.get(h['actor'], h['actor'])}  {h['note']}", size=theme.SMALL)
               for h in view["history"]]
    who = view["villager"] or {}
    facts = [
        f"代办序号：{view['proxy_no']}　状态：{view['state_label']}　收费：0 元（全程免费）",
        f"事项：{view['item_name']}　村民：{who.get('name', '')}　证件：{who.get('cert_no', '')}"
        f"　电话：{who.get('phone', '')}",
        f"代办员：{view['agent']}　村组：{view['village_group'] or '—'}　"
        f"报送期限：{view['submit_due']}　镇办件编号：{view['case_no'] or '—'}",
        f"办理结果：{view['result'] or '—'}",
        "评价：" + ("；".join(f"{'追评' if e.assess_number > 1 else '首评'} {e.level.label}"
                             f"（{e.channel.label}）" for e in rated) or "尚未评价"),
    ]
    return ft.Column([
        theme.title(f"代办记录 {entry.proxy_no}", key="proxy_title"),
        *[ft.Text(line, size=theme.BODY, key=f"proxy_fact_{i}") for i, line in enumerate(facts)],
        ft.Row(actions, wrap=True, spacing=10),
        ft.Text("办理经过", size=theme.BODY, weight=ft.FontWeight.BOLD),
        ft.Column(history, key="proxy_history", spacing=2),
    ], spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


def _move(ctx: AppContext, proxy_no: str, target: ProxyState) -> Callable[[Any], None]:
    def go(_: Any) -> None:
        needs = {ProxyState.SUSPENDED: reason_fields("中止原因"),
                 ProxyState.TERMINATED: reason_fields("终止原因"),
                 ProxyState.RESULT_RECEIVED: {"result": theme.field(
                     "办理结果", key="dlg_result", width=520, value="已办结，结果已取回")},
                 ProxyState.DELIVERED: {"delivery": theme.field(
                     "送达方式", key="dlg_delivery_text", value="代办员上门送达")},
                 ProxyState.SUBMITTED: {"case_no": theme.field(
                     "镇便民服务中心办件编号（可不填）", key="dlg_case_no", width=420)}}

        def submit(values: dict[str, Any]) -> None:
            assert ctx.station is not None
            move_proxy(ctx.station, proxy_no, target, details=values)
            ctx.show("proxy", proxy_no=proxy_no)

        ask(ctx, f"{_MOVE_LABELS.get(target, target.label)}：{proxy_no}",
            needs.get(target, {}), submit, key="dlg_proxy_move")
    return go


def _evaluate(ctx: AppContext, subject: str) -> Callable[[Any], None]:
    def go(_: Any) -> None:
        def submit(values: dict[str, Any]) -> None:
            assert ctx.station is not None
            comment = str(values.get("comment") or "")
            record_evaluation(ctx.station, subject, Level(values["level"]),
                              Channel(values["channel"]), comment=comment,
                              reasons=chosen_reasons(options, values),
                              followup=bool(evaluations(ctx.station, subject)))
            ctx.show("case" if "-DB" not in subject else "proxy",
                     **({"proxy_no": subject} if "-DB" in subject else {"case_no": subject}))

        # an agent records ratings on a return visit; at the window it is the rating device
        channel = Channel.AGENT_VISIT if ctx.user and ctx.user.role is Role.AGENT \
            else Channel.WINDOW_DEVICE
        assert ctx.station is not None
        options = review_settings(ctx.station).reasons
        ask(ctx, f"评价：{subject}", evaluation_fields(channel, options), submit,
            key="dlg_evaluate",
            note="请村民（申请人）本人选择；不满意时请记下原因，将进入差评整改流程。")
    return go


def evaluate_action(ctx: AppContext, subject: str) -> Callable[[Any], None]:
    return _evaluate(ctx, subject)

