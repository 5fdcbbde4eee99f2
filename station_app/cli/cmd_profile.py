"""``station profile show|set`` and ``station agent add|list|remove``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.cli.cmd_board import poster_line
from station_app.cli.output import table
from station_app.services.notice_board import refresh_notice_board
from station_app.services.profile import (
    PROFILE_FIELDS,
    Agent,
    add_agent,
    agents,
    profile,
    remove_agent,
    set_profile,
)


def register(cli: click.Group) -> None:
    cli.add_command(profile_)
    cli.add_command(agent)


@click.group("profile")
def profile_() -> None:
    """站点信息（用于文书和公示栏）/ the station's public details."""


@profile_.command("show")
@json_flag
@pass_context
def show(obj: Context) -> None:
    values = profile(obj.station())
    obj.out.emit(values, lambda: "\n".join(f"{PROFILE_FIELDS[k]}：{v or '—'}"
                                           for k, v in values.items()))


def _profile_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for key, label in reversed(PROFILE_FIELDS.items()):
        func = click.option(f"--{key.replace('_', '-')}", key, help=label)(func)
    return func


@profile_.command("set")
@_profile_options
@click.option("--reason", default="", help="修改原因")
@json_flag
@pass_context
def set_(obj: Context, reason: str, **fields: str | None) -> None:
    values = set_profile(obj.station(), {k: v for k, v in fields.items() if v is not None},
                         reason=reason)
    poster = refresh_notice_board(obj.station())  # the poster shows these details
    obj.out.emit(values, "站点信息已更新" + poster_line(poster))


@click.group()
def agent() -> None:
    """代办员（用于公示栏）/ village agents for the public notice."""


@agent.command("add")
@click.option("--name", required=True)
@click.option("--role", default="代办员", show_default=True, help="职务，如 村两委委员")
@click.option("--phone", default="", help="工作电话")
@click.option("--village", default="", help="负责的村组")
@json_flag
@pass_context
def add(obj: Context, name: str, role: str, phone: str, village: str) -> None:
    a = add_agent(obj.station(), name=name, role=role, phone=phone, village=village)
    poster = refresh_notice_board(obj.station())
    obj.out.emit(_agent(a), f"已登记代办员 {a.name}（{a.agent_id}）" + poster_line(poster))


@agent.command("list")
@json_flag
@pass_context
def list_(obj: Context) -> None:
    rows = [_agent(a) for a in agents(obj.station())]
    obj.out.emit(rows, lambda: table([[r["agent_id"], r["name"], r["role"], r["phone"],
                                       r["village"]] for r in rows],
                                     ["编号", "姓名", "职务", "电话", "负责村组"]))


@agent.command("remove")
@click.argument("agent_id")
@click.option("--reason", required=True)
@json_flag
@pass_context
def remove(obj: Context, agent_id: str, reason: str) -> None:
    remove_agent(obj.station(), agent_id, reason=reason)
    poster = refresh_notice_board(obj.station())
    obj.out.emit({"ok": True, "agent_id": agent_id}, "已停止公示该代办员" + poster_line(poster))


def _agent(a: Agent) -> dict[str, object]:
    return {"agent_id": a.agent_id, "name": a.name, "role": a.role, "phone": a.phone,
            "village": a.village, "active": a.active}
