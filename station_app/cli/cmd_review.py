"""``station review list|show|step|appeal|decide|settings``: the 差评整改 loop."""

from __future__ import annotations

from typing import Any

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.cli.output import table
from station_app.domain.badreview import (
    ORDER,
    Settings,
    parse_appeal_kind,
    parse_outcome,
    parse_step,
)
from station_app.services.badreview import (
    appeal_review,
    county_settings_version,
    decide_appeal,
    get_review,
    list_reviews,
    move_review,
    review_dict,
    review_settings,
    row_dict,
    set_review_settings,
)

STEPS = "、".join(s.label for s in ORDER[1:])


def register(cli: click.Group) -> None:
    cli.add_command(review)


@click.group()
def review() -> None:
    """差评整改（核实→整改→反馈→回访→办结）/ the bad-review follow-up loop.

    NO is the 差评编号 (e.g. 330199101000-20250929-0001-P1) or the case / proxy number,
    which means its newest bad review."""


@review.command("list")
@click.option("--overdue", is_flag=True, help="只列超期未完成的环节 / overdue steps only")
@click.option("--all", "include_closed", is_flag=True, help="包括已办结 / include closed ones")
@json_flag
@pass_context
def list_(obj: Context, overdue: bool, include_closed: bool) -> None:
    """差评整改台账 / open bad reviews with their current step and due day."""
    station = obj.station()
    rows = [row_dict(r) for r in list_reviews(station, station.clock.now(),
                                              include_closed=include_closed,
                                              overdue_only=overdue)]
    obj.out.emit(rows, lambda: table(
        [[r["review_no"], r["level_label"], r["status_label"], r["owner"] or "—",
          (r["due"] or "—") + (" 超期" if r["overdue"] else "")] for r in rows],
        ["差评编号", "评价", "当前环节", "责任人", "期限"]) if rows else "没有差评整改记录")


@review.command("show")
@click.argument("number")
@json_flag
@pass_context
def show(obj: Context, number: str) -> None:
    """查看一条差评整改 / show one bad review and its history."""
    station = obj.station()
    view = review_dict(station, get_review(station, number), station.clock.now())
    obj.out.emit(view, lambda: _text(view))


@review.command("step")
@click.argument("number")
@click.option("--to", "target", required=True, help=f"下一环节：{STEPS} / the next step")
@click.option("--note", default="", help="本环节情况说明（必填）/ what was done (required)")
@click.option("--owner", default="", help="下一环节责任人（默认不变）/ who is responsible next")
@json_flag
@pass_context
def step(obj: Context, number: str, target: str, note: str, owner: str) -> None:
    """推进差评整改环节 / move a bad review to its next step."""
    station = obj.station()
    moved = move_review(station, number, parse_step(target), note=note, owner=owner)
    view = review_dict(station, moved, station.clock.now())
    obj.out.emit({"ok": True, **view},
                 lambda: f"{view['review_no']} 已进入：{view['status_label']}"
                         + (f"（期限 {view['due']}）" if view["due"] else ""))


@review.command("appeal")
@click.argument("number")
@click.option("--kind", default="误评", show_default=True,
              help="误评 或 恶意差评 / MISRATED or MALICIOUS")
@click.option("--reason", default="", help="申诉理由（必填）/ why (required)")
@json_flag
@pass_context
def appeal(obj: Context, number: str, kind: str, reason: str) -> None:
    """申诉（误评、恶意差评），等待县级复核 / appeal a bad review."""
    station = obj.station()
    made = appeal_review(station, number, parse_appeal_kind(kind), reason)
    view = review_dict(station, made, station.clock.now())
    obj.out.emit({"ok": True, **view}, f"{view['review_no']} 已申诉，等待复核")


@review.command("decide")
@click.argument("number")
@click.option("--outcome", required=True,
              help="UPHELD 维持差评（整改继续）或 OVERTURNED 撤销差评（办结）")
@click.option("--note", default="", help="复核意见 / the county's note")
@json_flag
@pass_context
def decide(obj: Context, number: str, outcome: str, note: str) -> None:
    """录入申诉复核结果 / record the county's decision on an appeal."""
    station = obj.station()
    made = decide_appeal(station, number, parse_outcome(outcome), note)
    view = review_dict(station, made, station.clock.now())
    obj.out.emit({"ok": True, **view}, f"{view['review_no']}：{view['appeal']['outcome_label']}")


@review.command("settings")
@click.option("--verify-wd", type=str, help="核实期限（工作日，默认 1）")
@click.option("--rectify-wd", type=str, help="整改反馈期限（工作日，默认 5，最长 15）")
@click.option("--revisit-wd", type=str, help="回访期限（工作日，默认 5）")
@click.option("--option", "options", multiple=True,
              help="差评原因选项，可重复；给出即替换整张列表 / the reason options")
@click.option("--reason", default="", help="修改依据（如 县政府文件）/ why")
@json_flag
@pass_context
def settings(obj: Context, verify_wd: str | None, rectify_wd: str | None,
             revisit_wd: str | None, options: tuple[str, ...], reason: str) -> None:
    """查看或修改差评整改期限和原因选项 / show or change the limits and reason options."""
    station = obj.station()
    changes: dict[str, Any] = {k: v for k, v in (("verify_wd", verify_wd),
                                                 ("rectify_wd", rectify_wd),
                                                 ("revisit_wd", revisit_wd)) if v is not None}
    if options:
        changes["reasons"] = list(options)
    now: Settings = set_review_settings(station, changes, reason=reason) if changes \
        else review_settings(station)
    county = county_settings_version(station)
    source = f"县级发布第 {county} 版" if county else "本站设置"
    obj.out.emit({**now.to_body(), "county_version": county or None}, lambda: (
        f"核实 {now.verify_wd} 个工作日，整改反馈 {now.rectify_wd} 个工作日，"
        f"回访 {now.revisit_wd} 个工作日（{source}）\n差评原因选项：{'、'.join(now.reasons)}"))


def _text(view: dict[str, Any]) -> str:
    lines = [f"差评编号：{view['review_no']}  {view['level_label']}（"
             f"{'首评' if view['assess_number'] == 1 else '追评'}）  {view['subject']}",
             f"当前环节：{view['status_label']}  责任人：{view['owner'] or '—'}  期限："
             f"{view['due'] or '—'}{' 超期' if view['overdue'] else ''}",
             f"开始：{view['opened_at']}"]
    lines += [f"{h['at']}  → {h['step_label']}  {h['owner']}  {h['note']}"
              for h in view["history"]]
    if view["appeal"]:
        a = view["appeal"]
        lines.append(f"申诉：{a['kind_label']}  {a['reason']}  结果：{a['outcome_label']}"
                     + (f"  {a['note']}" if a["note"] else ""))
    return "\n".join(lines)
