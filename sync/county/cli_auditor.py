"""``county auditor``: the accounts county auditors use on the dashboard (docs/dashboard.md).

``add NAME [--town TOWN]`` prints a bearer token once — only its SHA-256 is kept, so a lost
token is replaced (revoke, add again), never recovered. ``list`` shows who exists, ``revoke``
shuts one out at once, ``log`` shows the unmask requests (who asked to see which case's
personal data, and why) and, with ``--access``, the newest dashboard requests.
Registered on the ``county`` group by ``sync.county.cli``.
"""

from __future__ import annotations

import re

import click

from station_app.domain.clock import iso
from station_app.errors import InvalidInput
from sync.county.cli import Context, _table, json_flag, pass_context
from sync.county.read_api import new_token, token_hash

_NAME = re.compile(r"^[\w.\-\u4e00-\u9fff]{1,40}$")
_TOWN = re.compile(r"^\d{9}000$")


@click.group()
def auditor() -> None:
    """县级审核账号 / county auditor accounts for the dashboard."""


@auditor.command("add")
@click.argument("name")
@click.option("--town", help="只能查看该乡镇的站点（12 位乡镇编码）/ limit to one town")
@json_flag
@pass_context
def add(obj: Context, name: str, town: str | None) -> None:
    """新增审核账号并显示一次性令牌 / add an auditor; prints its token once."""
    if not _NAME.match(name):
        raise InvalidInput(field="name", label="审核账号名",
                           reason="应为 1–40 个汉字、字母、数字或 . _ -")
    if town is not None and not _TOWN.match(town):
        raise InvalidInput(field="town", label="乡镇编码",
                           reason=f"“{town}”应为 12 位、以 000 结尾的乡镇编码")
    county = obj.county()
    token = new_token()
    with county.db.write() as tx:
        added = tx.add_auditor(name, token_hash(token), town, iso(county.now()))
    if not added:
        raise InvalidInput(field="name", label="审核账号名", reason=f"“{name}”已存在")
    scope = f"乡镇 {town}" if town else "全县"
    obj.emit({"ok": True, "auditor": name, "town": town, "token": token},
             lambda: f"已新增审核账号 {name}（范围：{scope}）\n"
                     f"令牌（只显示这一次，请交给本人妥善保管）：\n{token}\n"
                     "The token is shown once; only its hash is stored.")


@auditor.command("list")
@json_flag
@pass_context
def list_(obj: Context) -> None:
    """列出审核账号 / list the auditors."""
    with obj.county().db.read() as tx:
        rows = [{"auditor": n, "town": t, "created_at": c, "revoked_at": r}
                for n, t, c, r in tx.auditors()]
    obj.emit(rows, lambda: _table(
        [[r["auditor"], r["town"] or "全县", r["created_at"][:16],
          (r["revoked_at"] or "")[:16]] for r in rows],
        ["账号", "范围", "创建时间", "停用时间"]) if rows else "还没有审核账号 / no auditors")


@auditor.command("revoke")
@click.argument("name")
@json_flag
@pass_context
def revoke(obj: Context, name: str) -> None:
    """停用审核账号（令牌立即失效）/ revoke an auditor's token at once."""
    county = obj.county()
    with county.db.write() as tx:
        done = tx.revoke_auditor(name, iso(county.now()))
    if not done:
        raise InvalidInput(field="name", label="审核账号名", reason=f"没有在用的账号“{name}”")
    obj.emit({"ok": True, "auditor": name, "revoked": True}, f"已停用审核账号 {name}")


@auditor.command("log")
@click.option("--station", help="只看这个站点 / one station code only")
@click.option("--access", is_flag=True, help="显示最近的访问记录 / the newest API requests")
@json_flag
@pass_context
def log(obj: Context, station: str | None, access: bool) -> None:
    """查看申请查看个人信息的记录 / the unmask requests (and, --access, API requests)."""
    with obj.county().db.read() as tx:
        if access:
            rows = [dict(zip(("auditor", "at", "method", "path", "status"), r, strict=True))
                    for r in tx.access_log()]
            obj.emit(rows, lambda: _table([[r["at"][:19], r["auditor"], r["method"], r["path"],
                                            str(r["status"])] for r in rows],
                                          ["时间", "账号", "方法", "路径", "状态"])
                     if rows else "没有访问记录")
            return
        rows = [dict(zip(("id", "auditor", "at", "station", "case", "reason"), r, strict=True))
                for r in tx.unmask_requests(station)]
    obj.emit(rows, lambda: _table(
        [[r["at"][:19], r["auditor"], r["station"], r["case"], r["reason"]] for r in rows],
        ["时间", "账号", "站点", "办件", "事由"]) if rows else "没有申请查看个人信息的记录")
