"""办件: receiving a case (walk-in or handed over by an agent), the worklist, one case's page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from station_app.domain.cases import Case, Channel, ReceivedMaterial
from station_app.domain.documents import DocKind, MalformedToken, parse_token
from station_app.domain.numbering import parse_proxy_number
from station_app.domain.states import CASE_TRANSITIONS, CaseState
from station_app.domain.users import CAN_HANDLE_CASES, Role
from station_app.errors import InvalidInput, MissingField
from station_app.services.calendar import missing_years
from station_app.services.cases import (
    CaseFilter,
    CaseRequest,
    add_case,
    case_timeline,
    get_case,
    list_cases,
    move_case,
    receive_handover,
    record_visit,
)
from station_app.services.dashboard import case_urgency
from station_app.services.people import find_people, unmask
from station_app.services.proxy import get_proxy
from station_app.services.relay import receive_relayed, waiting_handovers_view
from station_app.services.users import user_names
from station_app.services.views import case_dict, proxy_dict
from station_app.ui import theme
from station_app.ui.context import AppContext
from station_app.ui.printing import print_document
from station_app.ui.views.common import (
    URGENCY,
    ItemPicker,
    MaterialsChecklist,
    PersonForm,
    case_rows_table,
    day_or_blank,
    estimate_banner,
    require,
    timeline,
)
from station_app.ui.views.dialogs import (
    ask,
    finish_fields,
    missing_list,
    reason_fields,
    reject_fields,
    supplement_fields,
)
from station_app.ui.views.proxies import evaluate_action

# ------------------------------------------------------------------------------- receive


def receive(ctx: AppContext) -> ft.Control:
    """收件: a walk-in applicant, or an agent's slip scanned or typed in."""
    materials = MaterialsChecklist("receive")
    state: dict[str, str] = {"proxy_no": "", "inbound": "", "inbound_item": ""}

    def picked(item: Any) -> None:
        materials.show(item)
        if item.code != _handover_item(ctx, state):
            forget_handover()  # a different item: this is a walk-in after all

    picker = ItemPicker(ctx, "receive", picked)
    applicant = PersonForm(ctx, "receive")
    handover = theme.field("代办员交件：扫描代办登记回执的二维码，或输入代办序号",
                           key="receive_handover", width=520, autofocus=False)
    handed = ft.Text("", size=theme.BODY, key="receive_handover_info")
    fields = {**applicant.fields, "item": picker.query, "handover": handover}

    def forget_handover(_: Any = None) -> None:
        state["proxy_no"] = state["inbound"] = state["inbound_item"] = ""
        handed.value = ""

    def look_up(_: Any) -> None:
        proxy_no = _proxy_number(handover.value or "")
        assert ctx.station is not None
        entry = get_proxy(ctx.station, proxy_no)
        view = proxy_dict(ctx.station, entry)
        state["proxy_no"] = entry.proxy_no
        picker.item = entry.item
        picker.chosen.value = f"已选：{entry.item.name}（{entry.item.code}）"
        materials.show(entry.item)
        villager = view["villager"] or {}
        handed.value = (f"代办件：代办序号 {entry.proxy_no} · 村民 {villager.get('name', '')}"
                        f"（{villager.get('cert_no', '')}）· 代办员 {entry.agent}"
                        "（申请人信息取自代办登记，无需再填）")

    async def save(_: Any) -> None:
        assert ctx.station is not None
        case = _receive_handed(ctx, state, materials.received())
        if case is None:
            item = require(picker.item, MissingField(field="item", label="申请事项"))
            case = add_case(ctx.station, CaseRequest(
                item=item.code, applicant=applicant.details(), channel=Channel.WINDOW,
                materials=materials.received()))
        ctx.show("case", case_no=case.case_no)
        await print_document(ctx, DocKind.RECEIPT, case.case_no)

    handover.on_submit = ctx.guard(look_up, fields)
    handover.on_change = ctx.guard(forget_handover)  # a new number must be looked up again
    submit = ctx.guard(save, fields)
    for control in applicant.fields.values():
        if isinstance(control, ft.TextField):
            control.on_submit = submit
    return ft.Column([
        theme.title("收件", key="receive_title"),
        _inbound_column(ctx, lambda row: ctx.guard(
            _pick_inbound(ctx, row, picker, materials, state, handed), fields)),
        ft.Row([handover, theme.button("查找代办件", ctx.guard(look_up, fields), primary=False,
                                       key="receive_handover_go")]),
        handed,
        ft.Text("① 申请事项", size=theme.BODY, weight=ft.FontWeight.BOLD), *picker.controls(),
        ft.Text("② 已收材料", size=theme.BODY, weight=ft.FontWeight.BOLD), materials.column,
        ft.Text("③ 申请人（代办件无需填写）", size=theme.BODY, weight=ft.FontWeight.BOLD),
        *applicant.controls(),
        theme.button("收件并打印回执", submit, key="receive_save", icon=ft.Icons.SAVE),
    ], spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


def _handover_item(ctx: AppContext, state: dict[str, str]) -> str:
    """The item of the handover being received (relayed or local), "" for a walk-in."""
    assert ctx.station is not None
    if state["inbound"]:
        return state["inbound_item"]
    return get_proxy(ctx.station, state["proxy_no"]).item.code if state["proxy_no"] else ""


def _receive_handed(ctx: AppContext, state: dict[str, str],
                    received: tuple[ReceivedMaterial, ...]) -> Case | None:
    assert ctx.station is not None
    if state["inbound"]:
        return receive_relayed(ctx.station, state["inbound"], materials=received)
    if state["proxy_no"]:
        return receive_handover(ctx.station, state["proxy_no"], materials=received)
    return None


def _pick_inbound(ctx: AppContext, row: dict[str, Any], picker: ItemPicker,
                  materials: MaterialsChecklist, state: dict[str, str],
                  handed: ft.Text) -> Callable[[Any], None]:
    """A handover relayed from a village station: like a scanned slip, no re-typing."""
    def pick(_: Any) -> None:
        item_code = _show_inbound(ctx, row, picker, materials)
        state.update(proxy_no="", inbound=row["id"], inbound_item=item_code)
        handed.value = f"县级转来的代办件：{_inbound_line(row)}（申请人信息取自代办登记，无需再填）"
    return pick


def _show_inbound(ctx: AppContext, row: dict[str, Any], picker: ItemPicker,
                  materials: MaterialsChecklist) -> str:
    """Fill the item and the materials the agent handed over; returns the item code."""
    assert ctx.station is not None
    item = ctx.station.projector.catalog().resolve(row["item"])
    picker.item = item
    picker.chosen.value = f"已选：{item.name}（{item.code}）"
    materials.show(item)
    brought = {m["name"] for m in row["materials"]}
    for box, material in materials.boxes:
        box.value = material.name in brought
    return item.code


def _inbound_column(ctx: AppContext, on_pick: Callable[[dict[str, Any]], Any]) -> ft.Column:
    """Handovers relayed from village stations, waiting for 收件 (none: nothing shown)."""
    assert ctx.station is not None
    waiting = waiting_handovers_view(ctx.station)
    if not waiting:
        return ft.Column(key="receive_inbound")
    return ft.Column(key="receive_inbound", spacing=2, controls=[
        ft.Text(f"县级转来的代办件：{len(waiting)} 件待收件", size=theme.BODY,
                weight=ft.FontWeight.BOLD, key="receive_inbound_count"),
        *(ft.TextButton(_inbound_line(row), key=f"receive_inbound_{row['id']}",
                        on_click=on_pick(row)) for row in waiting)])


def _inbound_line(row: dict[str, Any]) -> str:
    villager = row["villager"] or {}
    return (f"代办序号 {row['proxy_no']} · {row['item_name']} · 村民 {villager.get('name', '')}"
            f"（{villager.get('cert_no', '')}）· 代办员 {row['agent']} · 来自 {row['from_name']}")


def _proxy_number(text: str) -> str:
    """A scanned slip's token names its proxy entry; a typed number is taken as it is."""
    value = text.strip()
    if value.startswith("VSS1."):
        try:
            token = parse_token(value)
        except MalformedToken:
            raise InvalidInput(field="handover", label="二维码",
                               reason="无法识别，请重新扫描或手工输入代办序号") from None
        if token.kind is not DocKind.PROXY_SLIP:
            raise InvalidInput(field="handover", label="二维码",
                               reason=f"这是{token.kind.label}，不是代办登记回执")
        value = token.subject
    if not parse_proxy_number(value):
        raise InvalidInput(field="handover", label="代办序号",
                           reason="格式应为 站点编码-DB年份-序号，如 330199101000-DB2025-00012")
    return value.upper()


# ------------------------------------------------------------------------------- worklist

_OPEN = tuple(s.value for s in CaseState if s.is_open)


def worklist(ctx: AppContext) -> ft.Control:
    """办件 ordered by deadline, overdue and due-soon in colour, with filters."""
    assert ctx.station is not None
    f = {
        "state": theme.dropdown("状态", [("OPEN", "全部在办"), ("", "全部")]
                                + [(s.value, s.label) for s in CaseState],
                                key="work_state", value="OPEN", width=200),
        "text": theme.field("查找：办件编号、事项、代办员", key="work_query", width=300),
        "applicant": theme.field("申请人姓名或证件号（完整）", key="work_applicant", width=260),
        "from": theme.field("收件日期起", key="work_from", width=150, hint="YYYY-MM-DD"),
        "to": theme.field("收件日期止", key="work_to", width=150, hint="YYYY-MM-DD"),
    }
    overdue = ft.Checkbox(label="只看已超期", key="work_overdue")
    soon = ft.Checkbox(label="只看 3 日内到期", key="work_due_soon")
    results = ft.Column(key="work_results")
    today = ctx.now().year
    banner = estimate_banner(missing_years(ctx.station, range(today, today + 2)))

    def refresh(_: Any = None) -> None:
        assert ctx.station is not None
        now, st = ctx.now(), f["state"].value
        flt = CaseFilter(
            states=_OPEN if st == "OPEN" else ((st,) if st else ()), text=f["text"].value or "",
            received_from=day_or_blank(f["from"].value, "from", "收件日期起"),
            received_to=day_or_blank(f["to"].value, "to", "收件日期止"),
            overdue_at=int(now.timestamp()) if overdue.value else None,
            due_by=int(now.timestamp()) + 3 * 86400 if soon.value else None,
            applicants=tuple(find_people(ctx.station, f["applicant"].value))
            if (f["applicant"].value or "").strip() else None, limit=200)
        rows = list_cases(ctx.station, flt)
        results.controls = [theme.muted(f"共 {len(rows)} 件（按期限排序，红色为已超期）"),
                            case_rows_table(ctx, rows, now, key="work_table")]

    handler = ctx.guard(refresh, f)
    for control in f.values():
        if isinstance(control, ft.TextField):
            control.on_submit = handler
    f["state"].on_select = handler
    overdue.on_change = soon.on_change = handler
    refresh()
    return ft.Column([theme.title("办件", key="work_title"), *([banner] if banner else []),
                      ft.Row([f["state"], f["text"], f["applicant"]], wrap=True),
                      ft.Row([f["from"], f["to"],
                              theme.button("查询", handler, primary=False, key="work_search")]),
                      ft.Row([overdue, soon]), results],
                     spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


# ------------------------------------------------------------------------------- detail

_MOVE = {CaseState.RECEIVED: "补齐材料", CaseState.SUPPLEMENT: "要求补正（一次性告知）",
         CaseState.ACCEPTED: "受理", CaseState.REJECTED: "不予受理",
         CaseState.IN_PROGRESS: "开始办理", CaseState.SUSPENDED: "特别程序（暂停计时）",
         CaseState.FINISHED: "办结", CaseState.WITHDRAWN: "撤回/退件", CaseState.VOID: "作废"}
_NOTICE = {CaseState.ACCEPTED: DocKind.ACCEPT_NOTICE,
           CaseState.SUPPLEMENT: DocKind.SUPPLEMENT_NOTICE,
           CaseState.REJECTED: DocKind.REJECT_NOTICE, CaseState.FINISHED: DocKind.FINISH_NOTICE}
_PAPERS = ((DocKind.RECEIPT, "收件回执"), (DocKind.ACCEPT_NOTICE, "受理通知书"),
           (DocKind.SUPPLEMENT_NOTICE, "一次性告知书"), (DocKind.REJECT_NOTICE, "不予受理通知书"),
           (DocKind.FINISH_NOTICE, "办结通知书"))


def detail(ctx: AppContext, case_no: str) -> ft.Control:
    assert ctx.station is not None and ctx.user is not None
    case = get_case(ctx.station, case_no)
    view = case_dict(ctx.station, case)
    may_act = ctx.user.role in CAN_HANDLE_CASES
    moves = [theme.button(_MOVE[t], ctx.guard(_move(ctx, case.case_no, t)),
                          primary=t in (CaseState.ACCEPTED, CaseState.FINISHED),
                          key=f"case_to_{t.value}")
             for t in sorted(CASE_TRANSITIONS[case.state], key=list(CaseState).index)
             if may_act]
    papers = [theme.button(f"打印{label}", ctx.guard(_print(ctx, kind, case.case_no)),
                           primary=False, icon=ft.Icons.PRINT, key=f"case_print_{kind.value}")
              for kind, label in _PAPERS if _paper_allowed(kind, case)]
    extra: list[ft.Control] = []
    if may_act and case.state.is_open:
        extra.append(theme.button("记一次跑动", ctx.guard(_visit(ctx, case.case_no)),
                                  primary=False, key="case_visit"))
    if case.state is CaseState.FINISHED:
        extra.append(theme.button("记录评价", ctx.guard(evaluate_action(ctx, case.case_no)),
                                  key="case_evaluate", icon=ft.Icons.THUMB_UP))
    if ctx.user.role in (Role.CLERK, Role.ADMIN):
        extra.append(theme.button("查看完整个人信息", ctx.guard(_unmask(ctx, case.applicant)),
                                  primary=False, key="case_unmask", icon=ft.Icons.VISIBILITY))
    return ft.Column([
        theme.title(f"办件 {case.case_no}", key="case_title"),
        *_urgency_banner(case_urgency(ctx.station, case.case_no, ctx.now())),
        *_facts(view),
        ft.Row(moves, wrap=True, spacing=10), ft.Row(papers + extra, wrap=True, spacing=10),
        ft.Text("办理经过", size=theme.BODY, weight=ft.FontWeight.BOLD),
        timeline(case_timeline(ctx.station, case.case_no), user_names(ctx.station),
                 key="case_timeline"),
    ], spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


def _urgency_banner(level: str) -> list[ft.Control]:
    if level not in URGENCY:
        return []
    label, color, background = URGENCY[level]
    text = "已超过当前期限，请尽快办理" if level == "OVERDUE" else "三日内到期"
    return [ft.Container(key="case_urgency", bgcolor=background, padding=10, border_radius=6,
                         content=ft.Text(f"{label}：{text}", size=theme.BODY, color=color,
                                         weight=ft.FontWeight.BOLD))]


def _facts(v: dict[str, Any]) -> list[ft.Control]:
    who = v["applicant"] or {}
    deadline = v["deadline"] or ("计时暂停中" if v["clock_paused"] else "—")
    estimated = "（估算：该年放假安排未导入）" if v["deadline_estimated"] else ""
    lines = [
        (f"状态：{v['state_label']}　事项：{v['item_name']}（{v['item']}）　"
         f"申报方式：{v['channel_label']}{'　代办员：' + v['agent'] if v['agent'] else ''}",
         "case_state"),
        (f"申请人：{who.get('name', '')}　证件：{who.get('cert_no', '')}　"
         f"电话：{who.get('phone', '') or '—'}", "case_applicant"),
        (f"收件：{v['received_at'][:16].replace('T', ' ')}　受理决定期限："
         f"{v['decision_deadline'] or '—'}　当前期限：{str(deadline)[:16]}{estimated}",
         "case_deadline"),
        (f"承诺时限：{v['promised_limit']}（{v['promised_deadline'] or '受理后计算'}）　"
         f"法定时限：{v['legal_limit']}（{v['legal_deadline'] or '受理后计算'}）　"
         f"跑动次数：{v['visits']}", "case_limits"),
        ("已收材料：" + ("、".join(f"{m['name']}" for m in v["materials"]) or "无"),
         "case_materials"),
    ]
    if v["missing"]:
        lines.append(("需补正：" + "；".join(f"{m['name']}（{m['reason']}）"
                                          for m in v["missing"]), "case_missing"))
    # Not selectable: selectable text drops out of the accessibility tree on the web client.
    return [ft.Text(text, size=theme.BODY, key=key) for text, key in lines]


def _paper_allowed(kind: DocKind, case: Any) -> bool:
    s = case.state
    return {DocKind.RECEIPT: s not in (CaseState.DRAFT, CaseState.VOID),
            DocKind.ACCEPT_NOTICE: case.accepted_at is not None and s is not CaseState.VOID,
            DocKind.SUPPLEMENT_NOTICE: case.supplements > 0 and s is not CaseState.VOID,
            DocKind.REJECT_NOTICE: s is CaseState.REJECTED,
            DocKind.FINISH_NOTICE: s is CaseState.FINISHED}[kind]


def _move(ctx: AppContext, case_no: str, target: CaseState) -> Callable[[Any], None]:
    def go(_: Any) -> Any:
        assert ctx.station is not None
        case = get_case(ctx.station, case_no)
        fields = {CaseState.SUPPLEMENT: lambda: supplement_fields(case.item),
                  CaseState.REJECTED: reject_fields,
                  CaseState.SUSPENDED: lambda: reason_fields("特别程序事由（听证、检验、鉴定等）"),
                  CaseState.WITHDRAWN: lambda: reason_fields("撤回或退件原因"),
                  CaseState.VOID: lambda: reason_fields("作废原因"),
                  CaseState.FINISHED: lambda: finish_fields(case.item)}.get(target)

        def submit(values: dict[str, Any]) -> Callable[[], Any] | None:
            assert ctx.station is not None
            details = dict(values)
            if target is CaseState.SUPPLEMENT:
                due = details.get("supplement_due") or ""
                details = {"missing": missing_list(case.item, values),
                           "supplement_due": day_or_blank(due, "supplement_due", "补正期限")}
            move_case(ctx.station, case_no, target, details=details)
            ctx.show("case", case_no=case_no)
            notice = _NOTICE.get(target)
            return (lambda: print_document(ctx, notice, case_no)) if notice else None

        if fields is None:
            follow = submit({})
            return follow() if follow else None
        ask(ctx, f"{_MOVE[target]}：{case_no}", fields(), submit, key="dlg_case_move",
            note="确定后将打印相应文书。" if target in _NOTICE else "")
        return None
    return go


def _print(ctx: AppContext, kind: DocKind, case_no: str) -> Callable[[Any], Any]:
    return lambda _: print_document(ctx, kind, case_no)


def _visit(ctx: AppContext, case_no: str) -> Callable[[Any], None]:
    def go(_: Any) -> None:
        def submit(values: dict[str, Any]) -> None:
            assert ctx.station is not None
            record_visit(ctx.station, case_no, note=str(values.get("reason") or ""))
            ctx.show("case", case_no=case_no)

        ask(ctx, "记录申请人又跑了一次", reason_fields("事由（如：补交材料）"), submit,
            key="dlg_visit")
    return go


def _unmask(ctx: AppContext, person: str) -> Callable[[Any], None]:
    def go(_: Any) -> None:
        def submit(values: dict[str, Any]) -> Callable[[], Any]:
            assert ctx.station is not None
            d = unmask(ctx.station, person, reason=str(values.get("reason") or "")).details
            return lambda: _show_full(ctx, d)

        ask(ctx, "查看完整个人信息", reason_fields("查看事由（将记入账本）"), submit,
            key="dlg_unmask")
    return go


async def _show_full(ctx: AppContext, d: Any) -> None:
    ctx.page.show_dialog(ft.AlertDialog(
        key="unmasked", title=ft.Text("完整个人信息（本次查看已记入账本）"),
        content=ft.Text(f"{d.name}\n{d.cert_type.label} {d.cert_no}\n"
                        f"{d.phone or '—'}\n{d.address or '—'}", size=theme.BODY,
                        selectable=True, key="unmasked_text"),
        actions=[ft.TextButton("关闭", on_click=lambda _: ctx.page.pop_dialog(),
                               key="unmasked_close")]))
