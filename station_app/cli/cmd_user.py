"""``station user add|list`` and ``station evaluate``."""

from __future__ import annotations

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.cli.output import table
from station_app.domain.evaluations import Channel, parse_channel, parse_level
from station_app.domain.users import Role
from station_app.services.badreview import get_review
from station_app.services.evaluations import evaluations, record_evaluation
from station_app.services.users import add_user, users


def register(cli: click.Group) -> None:
    cli.add_command(user)
    cli.add_command(evaluate)


@click.group()
def user() -> None:
    """使用人员 / people who sign in to the app."""


@user.command("add")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="AGENT 代办员 · CLERK 窗口人员 · ADMIN 管理员 · AUDITOR 县级核查")
@click.option("--pin", required=True, help="4–8 位数字（只保存慢哈希，不进入账本）")
@json_flag
@pass_context
def add(obj: Context, name: str, role: str, pin: str) -> None:
    made = add_user(obj.station(), name=name, role=role, pin=pin)
    obj.out.emit({"ok": True, "user_id": made.user_id, "name": made.name, "role": made.role},
                 f"已添加 {made.name}（{made.role.label}），编号 {made.user_id}")


@user.command("list")
@json_flag
@pass_context
def list_(obj: Context) -> None:
    rows = [{"user_id": u.user_id, "name": u.name, "role": u.role.value} for u in
            users(obj.station())]
    obj.out.emit(rows, lambda: table([[r["user_id"], r["name"], Role(r["role"]).label]
                                      for r in rows], ["编号", "姓名", "角色"]))


@click.command()
@click.argument("subject")
@click.option("--level", required=True, help="非常满意、满意、基本满意、不满意、非常不满意")
@click.option("--channel", default="窗口评价器", show_default=True,
              help="、".join(c.label for c in Channel))
@click.option("--reason", "reasons", multiple=True,
              help="差评原因，可重复，须为站点设置的选项（station review settings）")
@click.option("--comment", default="", help="文字评价（差评时原因或文字至少填一项）")
@click.option("--followup", is_flag=True, help="追评（已有首次评价时）")
@json_flag
@pass_context
def evaluate(obj: Context, subject: str, level: str, channel: str, reasons: tuple[str, ...],
             comment: str, followup: bool) -> None:
    """记录好差评（办结的办件或已送达的代办记录）/ record an evaluation.

    不满意、非常不满意 opens the 差评整改 loop (station review)."""
    station = obj.station()
    made = record_evaluation(station, subject, parse_level(level), parse_channel(channel),
                             reasons=reasons, comment=comment, followup=followup)
    opened = get_review(station, made.subject).review_no if made.level.is_bad else None
    obj.out.emit({"ok": True, "subject": made.subject, "level": made.level.value,
                  "channel": made.channel.value, "assess_number": made.assess_number,
                  "reasons": list(made.reasons), "comment": made.comment,
                  "bad_review": opened,
                  "all": [e.level.value for e in evaluations(station, made.subject)]},
                 f"已记录{'追评' if made.assess_number > 1 else '评价'}："
                 f"{made.subject} {made.level.label}（{made.channel.label}）"
                 + (f"，差评整改编号 {opened}" if opened else ""))
