"""``station case add|move|visit|show|list``."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.cli.options import applicant_options, materials_of, moment, person_of
from station_app.cli.output import table
from station_app.domain.cases import Channel
from station_app.domain.clock import parse_day
from station_app.domain.states import CaseState, parse_case_state
from station_app.services.cases import (
    CaseRequest,
    add_case,
    case_timeline,
    get_case,
    list_cases,
    move_case,
    record_visit,
    total_cases,
)
from station_app.services.people import find_people
from station_app.services.views import case_dict, case_row_dict
from station_app.store.queries import CaseFilter


def register(cli: click.Group) -> None:
    cli.add_command(case)


@click.group()
def case() -> None:
    """办件 / cases."""


@case.command("add")
@click.option("--item", required=True, help="事项编码或名称 / service item code or name")
@applicant_options
@click.option("--channel", type=click.Choice([c.value for c in Channel]),
              help="申报来源（默认：有代办员时为 PROXY，否则 WINDOW）")
@click.option("--agent", default="", help="代办员姓名 / village agent")
@click.option("--proxy", "proxy_no", default="", help="代办序号 / proxy entry number")
@click.option("--material", "materials", multiple=True,
              help="已收材料 名称[:原件数[:复印件数]]，可重复 / received material")
@click.option("--all-materials", is_flag=True, help="按事项要求收齐全部必备材料")
@click.option("--at", "at", help="实际收件时间（补录时填写）/ when it happened, if recorded late")
@click.option("--draft", is_flag=True, help="仅登记，尚未收件 / register as DRAFT")
@click.option("--visits", type=click.IntRange(0, 99), help="跑动次数 / applicant visits so far")
@click.option("--note", default="", help="备注 / note")
@click.option("--number", default="",
              help="补录：纸质回执上的办件编号（仅限换电脑恢复时预留的号段）/ printed number")
@click.option("--reason", default="", help="补录原因（与 --number 同用时必填）/ why re-entered")
@json_flag
@pass_context
def add(obj: Context, item: str, channel: str | None, agent: str, proxy_no: str,
        materials: tuple[str, ...], all_materials: bool, at: str | None, draft: bool,
        visits: int | None, note: str, number: str, reason: str, **person: str) -> None:
    """收件：登记一件新办件 / receive a new case."""
    station = obj.station()
    chosen = Channel(channel) if channel else (Channel.PROXY if agent else Channel.WINDOW)
    received = materials_of(station, item, materials, all_materials)
    created = add_case(station, CaseRequest(
        item=item, applicant=person_of(station, person), channel=chosen, agent=agent,
        proxy_no=proxy_no, materials=received, at=moment(at, "收件时间"), draft=draft,
        visits=visits, note=note, number=number, reason=reason))
    view = case_dict(station, created)
    obj.out.emit(view, lambda: f"已收件：{created.case_no}  {created.item.name}  "
                               f"状态：{created.state.label}")


@case.command("move")
@click.argument("case_no")
@click.option("--to", "target", required=True, help="目标状态，如 ACCEPTED / target state")
@click.option("--at", "at", help="实际办理时间（补录时填写）/ when it happened")
@click.option("--note", default="", help="环节意见或备注 / note")
@click.option("--reason", help="理由（不予受理、特别程序、撤回、作废时必填）")
@click.option("--legal-basis", help="法律依据（不予受理时必填）/ legal basis")
@click.option("--missing", multiple=True, help="需补正材料 名称[:原因]，可重复 / missing material")
@click.option("--supplement-due", help="补正期限（日期）/ date to supply by")
@click.option("--procedure", help="特别程序种类：听证、检验、检测、鉴定、专家评审等")
@click.option("--outcome", help="办结结果 APPROVED|DENIED|FORWARDED")
@click.option("--cert-name", help="结果证照名称 / certificate name")
@click.option("--cert-no", help="结果证照编号 / certificate number")
@click.option("--cert-valid-to", help="证照有效期至 / valid until")
@click.option("--delivery", help="送达方式：窗口领取、邮寄、代办员送达 / how delivered")
@json_flag
@pass_context
def move(obj: Context, case_no: str, target: str, at: str | None, note: str,
         missing: tuple[str, ...], **details: str | None) -> None:
    """办件流转（受理、补正、不予受理、办理、挂起、办结……）/ move a case to another state."""
    station = obj.station()
    to = parse_case_state(target)
    if missing:
        details["missing"] = [_missing(m) for m in missing]  # type: ignore[assignment]
    if details.get("supplement_due"):
        due = parse_day(details["supplement_due"] or "", "补正期限")
        details["supplement_due"] = due.isoformat()
    moved = move_case(station, case_no, to, at=moment(at, "办理时间"), note=note,
                      details={k: v for k, v in details.items() if v})
    obj.out.emit(case_dict(station, moved),
                 lambda: f"{moved.case_no} 已变更为：{moved.state.label}")


@case.command("visit")
@click.argument("case_no")
@click.option("--at", "at", help="到场时间 / when")
@click.option("--note", default="", help="事由 / why the applicant came")
@json_flag
@pass_context
def visit(obj: Context, case_no: str, at: str | None, note: str) -> None:
    """记录申请人又跑了一次 / record another applicant visit."""
    station = obj.station()
    updated = record_visit(station, case_no, at=moment(at, "到场时间"), note=note)
    obj.out.emit(case_dict(station, updated),
                 lambda: f"{updated.case_no} 跑动次数：{updated.visits}")


@case.command("show")
@click.argument("case_no")
@json_flag
@pass_context
def show(obj: Context, case_no: str) -> None:
    """查看办件详情和办理过程 / show a case with its timeline."""
    station = obj.station()
    view = case_dict(station, get_case(station, case_no))
    view["timeline"] = case_timeline(station, case_no)
    obj.out.emit(view, lambda: _case_text(view))


@case.command("list")
@click.option("--state", "states", multiple=True, help="状态，可重复 / state (repeatable)")
@click.option("--item", default="", help="事项编码 / item code")
@click.option("--from", "date_from", help="收件日期起 / received on or after (YYYY-MM-DD)")
@click.option("--to", "date_to", help="收件日期止 / received on or before (YYYY-MM-DD)")
@click.option("--overdue", is_flag=True, help="只看已超期 / overdue only")
@click.option("--due-soon", type=int, help="N 天内到期 / due within N days")
@click.option("--q", "text", default="", help="办件编号、事项、代办员 / search text")
@click.option("--applicant", default="", help="申请人姓名或证件号（精确）/ applicant")
@click.option("--order", type=click.Choice(["deadline", "received", "number"]),
              default="deadline", show_default=True)
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@json_flag
@pass_context
def list_(obj: Context, states: tuple[str, ...], item: str, date_from: str | None,
          date_to: str | None, overdue: bool, due_soon: int | None, text: str,
          applicant: str, order: str, limit: int, offset: int) -> None:
    """办件列表（默认按期限排序）/ list cases, soonest deadline first."""
    station = obj.station()
    now = station.clock.now()
    f = CaseFilter(
        states=tuple(parse_case_state(s).value for s in states), item_code=item.strip().upper(),
        received_from=parse_day(date_from, "起始日期").isoformat() if date_from else "",
        received_to=parse_day(date_to, "截止日期").isoformat() if date_to else "",
        overdue_at=int(now.timestamp()) if overdue else None,
        due_by=_due_by(now, due_soon), text=text,
        applicants=tuple(find_people(station, applicant)) if applicant else None,
        order=order, limit=limit, offset=offset)
    rows = [case_row_dict(r) for r in list_cases(station, f)]
    obj.out.emit(rows, lambda: _list_text(rows, total_cases(station, f)))


def _due_by(now: datetime, days: int | None) -> int | None:
    return None if days is None else int((now + timedelta(days=days)).timestamp())


def _missing(text: str) -> dict[str, str]:
    name, _, reason = text.partition(":")
    return {"name": name.strip(), "reason": reason.strip()}


def _list_text(rows: list[dict[str, object]], total: int) -> str:
    body = table([[str(r["case_no"]), str(r["state_label"]), str(r["item_name"])[:18],
                   str(r["applicant_name"]), _deadline_text(r)] for r in rows],
                 ["办件编号", "状态", "事项", "申请人", "期限"])
    return f"{body}\n共 {total} 件，显示 {len(rows)} 件"


def _deadline_text(r: dict[str, object]) -> str:
    if r["deadline"] is None:
        if r["state"] == "SUPPLEMENT":
            return "待补正"
        return "计时暂停" if r["deadline_kind"] == "PAUSED" else ""
    text = str(r["deadline"])[:16].replace("T", " ")
    return text + ("（估算）" if r["deadline_estimated"] else "")


def _case_text(v: dict) -> str:  # type: ignore[type-arg]
    who = v["applicant"] or {}
    lines = [f"办件编号：{v['case_no']}    状态：{v['state_label']}",
             f"事项：{v['item_name']}（{v['item']}）  承诺时限：{v['promised_limit']}",
             f"申请人：{who.get('name', '')}  证件：{who.get('cert_no', '')}  "
             f"电话：{who.get('phone', '')}",
             f"收件：{v['received_at']}  受理：{v['accepted_at'] or '—'}  "
             f"期限：{v['deadline'] or '—'}{'（估算）' if v['deadline_estimated'] else ''}",
             f"跑动次数：{v['visits']}", "办理过程："]
    for t in v.get("timeline", []):
        state = CaseState(t["to"]).label if t["to"] else t["kind"]
        lines.append(f"  #{t['idx']}  {t['at']}  {state}  {t['actor']}  {t['note']}")
    return "\n".join(lines)
