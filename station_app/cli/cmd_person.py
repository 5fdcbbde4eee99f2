"""``station person find|unmask|erase``: personal data, with every reading logged."""

from __future__ import annotations

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.services.people import erase_person, find_people, unmask
from station_app.store.queries import masked_person


def register(cli: click.Group) -> None:
    cli.add_command(person)


@click.group()
def person() -> None:
    """个人信息 / personal data."""


@person.command("find")
@click.argument("text")
@json_flag
@pass_context
def find(obj: Context, text: str) -> None:
    """按完整姓名或证件号查找（显示脱敏信息）/ find by full name or ID number."""
    station = obj.station()
    found = [{"person": p, **(masked_person(station.db, p) or {})}
             for p in find_people(station, text)]
    obj.out.emit(found, lambda: "\n".join(f"{f['person']}  {f['name']}  {f['cert_no']}"
                                          for f in found) or "未找到")


@person.command("unmask")
@click.argument("person_id")
@click.option("--reason", required=True, help="查看事由（记入账本）/ why, logged")
@json_flag
@pass_context
def unmask_(obj: Context, person_id: str, reason: str) -> None:
    """查看完整个人信息（记入账本）/ show full details; the reading is logged."""
    shown = unmask(obj.station(), person_id, reason=reason)
    d = shown.details
    obj.out.emit(
        {"person": shown.person, "name": d.name, "cert_type": d.cert_type.value,
         "cert_no": d.cert_no, "phone": d.phone, "address": d.address},
        f"{d.name}  {d.cert_type.label} {d.cert_no}  {d.phone}  {d.address}\n"
        "（本次查看已记入账本）")


@person.command("erase")
@click.argument("person_id")
@click.option("--reason", required=True, help="删除依据（记入账本）/ legal ground, logged")
@json_flag
@pass_context
def erase(obj: Context, person_id: str, reason: str) -> None:
    """删除某人的个人信息（销毁其密钥，账本仍可校验）/ erase a person's data."""
    erase_person(obj.station(), person_id, reason=reason)
    obj.out.emit({"ok": True, "person": person_id},
                 "已删除该人员的个人信息；账本记录保留，仍可完整校验")
