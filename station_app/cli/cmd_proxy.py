"""``station proxy add|move|show|list``: the village proxy ledger (代办记录台账)."""

from __future__ import annotations

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.cli.options import applicant_options, materials_of, moment, person_of
from station_app.cli.output import table
from station_app.domain.states import parse_proxy_state
from station_app.services.people import find_people
from station_app.services.proxy import (
    ProxyRequest,
    get_proxy,
    list_proxies,
    move_proxy,
    register_proxy,
)
from station_app.services.views import proxy_dict, proxy_row_dict
from station_app.store.queries import ProxyFilter


def register(cli: click.Group) -> None:
    cli.add_command(proxy)


@click.group()
def proxy() -> None:
    """代办记录 / proxy ledger entries."""


@proxy.command("add")
@click.option("--item", required=True, help="代办事项编码或名称 / service item")
@applicant_options
@click.option("--agent", required=True, help="代办员姓名 / village agent")
@click.option("--agent-phone", default="", help="代办员工作电话 / agent's work phone")
@click.option("--group", "village_group", default="", help="村民小组 / village group")
@click.option("--material", "materials", multiple=True,
              help="收取材料 名称[:原件数[:复印件数]]，可重复")
@click.option("--all-materials", is_flag=True, help="按事项要求收齐全部必备材料")
@click.option("--fee", default="0", help="收费金额（代办全程免费，只能为 0）")
@click.option("--at", "at", help="实际登记时间（补录时填写）")
@click.option("--note", default="", help="备注")
@click.option("--number", default="",
              help="补录：纸质凭证上的代办序号（仅限换电脑恢复时预留的号段）/ printed number")
@click.option("--reason", default="", help="补录原因（与 --number 同用时必填）/ why re-entered")
@json_flag
@pass_context
def add(obj: Context, item: str, agent: str, agent_phone: str, village_group: str,
        materials: tuple[str, ...], all_materials: bool, fee: str, at: str | None, note: str,
        number: str, reason: str, **person: str) -> None:
    """代办登记：村民委托代办员办理事项 / register a proxy entry."""
    station = obj.station()
    entry = register_proxy(station, ProxyRequest(
        item=item, villager=person_of(station, person), agent=agent, agent_phone=agent_phone,
        village_group=village_group, materials=materials_of(station, item, materials,
                                                            all_materials),
        at=moment(at, "登记时间"), fee=fee, note=note, number=number, reason=reason))
    obj.out.emit(proxy_dict(station, entry),
                 lambda: f"已登记代办：{entry.proxy_no}  {entry.item.name}  代办员：{entry.agent}"
                         f"（全程免费）")


@proxy.command("move")
@click.argument("proxy_no")
@click.option("--to", "target", required=True, help="目标状态，如 SUBMITTED")
@click.option("--at", "at", help="实际时间（补录时填写）")
@click.option("--note", default="")
@click.option("--reason", help="中止、终止原因")
@click.option("--result", help="办理结果（结果已回时必填）")
@click.option("--case-no", help="镇（街道）中心的办件编号")
@click.option("--delivery", help="送达方式")
@json_flag
@pass_context
def move(obj: Context, proxy_no: str, target: str, at: str | None, note: str,
         **details: str | None) -> None:
    """代办流转：报送、办理中、结果已回、送达、中止、终止 / move a proxy entry."""
    station = obj.station()
    moved = move_proxy(station, proxy_no, parse_proxy_state(target), at=moment(at, "时间"),
                       note=note, details={k: v for k, v in details.items() if v})
    obj.out.emit(proxy_dict(station, moved),
                 lambda: f"{moved.proxy_no} 已变更为：{moved.state.label}")


@proxy.command("show")
@click.argument("proxy_no")
@json_flag
@pass_context
def show(obj: Context, proxy_no: str) -> None:
    """查看代办记录 / show a proxy entry."""
    station = obj.station()
    view = proxy_dict(station, get_proxy(station, proxy_no))
    obj.out.emit(view, lambda: "\n".join([
        f"代办序号：{view['proxy_no']}  状态：{view['state_label']}  收费：0 元（全程免费）",
        f"事项：{view['item_name']}  村民：{view['villager']['name']}  代办员：{view['agent']}",
        f"登记：{view['registered_at']}  报送期限：{view['submit_due']}  "
        f"镇办件编号：{view['case_no'] or '—'}"]))


@proxy.command("list")
@click.option("--state", "states", multiple=True)
@click.option("--q", "text", default="")
@click.option("--overdue", is_flag=True, help="超过 3 个工作日仍未报送 / not handed over in time")
@click.option("--villager", default="", help="村民姓名或证件号（精确）")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@json_flag
@pass_context
def list_(obj: Context, states: tuple[str, ...], text: str, overdue: bool, villager: str,
          limit: int) -> None:
    """代办台账 / the proxy ledger."""
    station = obj.station()
    f = ProxyFilter(states=tuple(parse_proxy_state(s).value for s in states), text=text,
                    submit_overdue_at=int(station.clock.now().timestamp()) if overdue else None,
                    villagers=tuple(find_people(station, villager)) if villager else None,
                    limit=limit)
    rows = [proxy_row_dict(r) for r in list_proxies(station, f)]
    obj.out.emit(rows, lambda: table(
        [[r["proxy_no"], r["state_label"], r["item_name"][:16], r["villager_name"], r["agent"],
          r["submit_due"]] for r in rows],
        ["代办序号", "状态", "事项", "村民", "代办员", "报送期限"]))
