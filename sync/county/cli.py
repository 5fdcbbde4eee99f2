"""``county``: the county server's command line (docs/sync.md).

Every command works on one county folder (``--data DIR`` or ``$COUNTY_DATA``): ``init``
makes it, ``serve`` runs the web API on it, the rest are the officer's tasks (enrollment
codes, revocation, status, USB bundles, key rotation, publishing). ``--json`` (before or
after the command) prints JSON for scripts. A refusal prints a Chinese line and an English
line on stderr and exits with 1, having written nothing.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import click

from station_app.documents.render import qr_png
from station_app.domain.clock import iso
from station_app.domain.numbering import check_station_code
from station_app.errors import (
    CountyError,
    CountyStationUnknown,
    InvalidInput,
    StationError,
    SyncFileInvalid,
)
from sync.county import folder as county_folder
from sync.county.app import App, create_app
from sync.county.app import serve as serve_api
from sync.county.keys import KeyFileError, drop_kem, rotate_kem
from sync.county.kpis import FactsKeeper
from sync.county.service import County
from sync.county.store import redact_url
from sync.county.usb import export_bundle, import_bundle, reply_summary
from sync.protocol import enroll_qr_text

EXIT_ERROR = 1


@dataclass
class Context:
    folder: Path | None = None
    json: bool = False
    _county: County | None = field(default=None, repr=False)

    @property
    def data(self) -> Path:
        """The county folder; asked for only by commands, so ``county init --help`` works."""
        if self.folder is None:
            raise click.UsageError("请用 --data DIR 或 $COUNTY_DATA 指定县级服务器目录 / "
                                   "give the county folder with --data DIR or $COUNTY_DATA")
        return self.folder

    def county(self) -> County:
        if self._county is None:
            self._county = county_folder.open_county(self.data)
        return self._county

    def close(self) -> None:
        if self._county is not None:
            self._county.db.close()
            self._county = None

    def emit(self, data: Any, text: Callable[[], str] | str) -> None:
        if self.json:
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            click.echo(text() if callable(text) else text)

    def fail(self, error: StationError) -> None:
        if self.json:
            click.echo(json.dumps({"ok": False, "error": error.as_dict()}, ensure_ascii=False,
                                  indent=2))
        click.echo(f"错误 [{error.code}]：{error.text}", err=True)
        click.echo(f"Error: {error.text_en}", err=True)
        sys.exit(EXIT_ERROR)


class CountyGroup(click.Group):
    """Turns every typed error into the bilingual message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StationError as error:
            (ctx.find_object(Context) or Context()).fail(error)
        except KeyFileError as exc:
            (ctx.find_object(Context) or Context()).fail(county_folder.keys_invalid(exc))


def json_flag(func: Any) -> Any:
    """``--json`` accepted after the command as well as before it."""

    def turn_on(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.ensure_object(Context).json = True

    return click.option("--json", "json_after", is_flag=True, expose_value=False,
                        callback=turn_on, help="输出 JSON / print JSON")(func)


pass_context = click.make_pass_decorator(Context)


@click.group(cls=CountyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data", "data", envvar="COUNTY_DATA",
              type=click.Path(file_okay=False, path_type=Path),
              help="县级服务器数据目录 / county folder ($COUNTY_DATA)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@click.version_option(package_name="station-app")
@click.pass_context
def cli(ctx: click.Context, data: Path | None, as_json: bool) -> None:
    """县级服务器 · the county server that receives and audits the stations' logs."""
    obj = ctx.ensure_object(Context)
    obj.folder = data
    obj.json = obj.json or as_json
    ctx.call_on_close(obj.close)


# ------------------------------------------------------------------ init and serve


@cli.command()
@click.option("--name", required=True, help="县名 / county name, e.g. 示范县")
@click.option("--code", required=True, help="县级行政区划代码（6 位）/ county code, e.g. 330199")
@click.option("--db", help="数据库（默认 DIR/county.db；或 postgresql://…）/ database URL")
@json_flag
@pass_context
def init(obj: Context, name: str, code: str, db: str | None) -> None:
    """创建县级服务器（密钥、数据库、配置）/ create the county in the folder."""
    made = county_folder.init_county(obj.data, name=name, code=code, db=db)
    config = made.config
    obj.emit(
        {"ok": True, "county": config.county, "name": config.name, "code": config.code,
         "db": redact_url(config.db), "root_fingerprint": made.root_fingerprint,
         "root_file": str(made.root_file)},
        lambda: f"已创建县级服务器：{config.name}（{config.county}）\n"
                f"数据库：{redact_url(config.db)}\n"
                f"根密钥指纹：{made.root_fingerprint}（站点注册后可用 station sync status 核对）\n"
                f"请立即把根密钥文件 {made.root_file} 移到离线 U 盘妥善保管，不要留在服务器上；"
                f"轮换密钥时用 --root 指定它。\n"
                f"Move {made.root_file} to offline storage now; key rotation asks for it.")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址 / address")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True,
              help="端口 / port")
@click.option("--db", help="数据库（覆盖配置）/ database URL, overriding county.json")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="进程数（每个 CPU 核一个）/ worker processes, one per CPU core")
@click.option("--facts-every", "facts_every", type=click.FloatRange(0), default=60,
              show_default=True, help="每隔多少秒更新考核指标事实表（0 不更新）/ seconds "
                                      "between refreshes of the KPI facts (0: never)")
@pass_context
def serve(obj: Context, host: str, port: int, db: str | None, workers: int,
          facts_every: float) -> None:
    """运行县级服务器的网络接口 / run the county web API."""
    if workers > 1 and not hasattr(socket, "SO_REUSEPORT"):
        raise click.UsageError("--workers 需要 Linux / --workers needs SO_REUSEPORT (Linux)")
    if db is not None:
        obj._county = county_folder.open_county(obj.data, db=db)
    county = obj.county()
    if county_folder.root_in_folder(obj.data):
        click.echo("警告：根密钥仍在服务器目录中，请移到离线 U 盘保管。"
                   "Warning: the root key is still on the server; move it offline.", err=True)
    click.echo(f"县级服务器 {county.keys.county} 已启动：http://{host}:{port}（Ctrl+C 停止）\n"
               f"database: {redact_url(county.db.url)}, workers: {workers}", err=True)
    if workers > 1:  # each worker opens the county again, with connections of its own
        obj.close()
        obj._county = county = county_folder.open_county(obj.data, db=db)
    keeper = FactsKeeper(county.db, county.now, facts_every, folder=obj.data).start() \
        if facts_every else None  # the facts and the kept station audits
    try:
        if workers == 1:
            serve_api(lambda: create_app(county, obj.data), host=host, port=port)
        else:  # the database serialises the workers' writes (BEGIN IMMEDIATE / FOR UPDATE)
            serve_api(partial(_worker_app, obj.data.resolve(), db), host=host, port=port,
                      workers=workers)
    finally:
        if keeper is not None:
            keeper.stop()


def _worker_app(folder: Path, db: str | None) -> App:
    """The web API in one process of ``county serve --workers N``."""
    return create_app(county_folder.open_county(folder, db=db), folder)


# ------------------------------------------------------------------------ stations


@cli.command()
@click.option("--station", "station", required=True, help="站点编码 / station code")
@click.option("--qr", "qr", type=click.Path(dir_okay=False, path_type=Path),
              help="二维码图片保存位置（默认 DIR/enroll/站点编码.png）/ where to write the QR PNG")
@click.option("--replaces", is_flag=True,
              help="批准新电脑替换丢失的原电脑（吊销原密钥，新电脑可取回已确认的记录）/ "
                   "approve a replacement PC for a lost one (docs/recovery.md)")
@json_flag
@pass_context
def enroll(obj: Context, station: str, qr: Path | None, replaces: bool) -> None:
    """为站点生成一次性注册码和二维码 / a one-time enrollment code for a station."""
    code = check_station_code(station)
    path = qr or obj.data / "enroll" / f"{code}.png"
    county = obj.county()
    ticket = county.new_ticket(code, replaces=replaces)
    text = enroll_qr_text(code, ticket.code)
    _write(path, qr_png(text))
    command = "recover --data 新目录" if replaces else "enroll"
    obj.emit(
        {"ok": True, "station": code, "code": ticket.code, "expires": ticket.expires,
         "qr": str(path), "qr_text": text,
         **({"replaces": ticket.replaces, "acknowledged": ticket.size} if replaces else {})},
        lambda: f"站点 {code} 的{'替换' if replaces else ''}注册码：{ticket.code}\n"
                f"有效期至：{ticket.expires}（仅可使用一次）\n二维码：{path}\n"
                + (f"原电脑密钥 {ticket.replaces} 已吊销，新电脑可恢复县级已确认的 "
                   f"{ticket.size} 条记录\n" if replaces else "")
                + f"在站点运行：station {command} --server 县级服务器地址 --code {ticket.code}")


@cli.command()
@click.option("--station", "station", required=True, help="站点编码 / station code")
@click.option("--reason", default="revoked", show_default=True, help="吊销原因 / reason")
@json_flag
@pass_context
def revoke(obj: Context, station: str, reason: str) -> None:
    """吊销站点密钥（此后上传一律拒收并隔离）/ revoke a station's keys."""
    code = check_station_code(station)
    revoked = obj.county().revoke(code, reason)
    if not revoked:
        raise CountyStationUnknown(value=code)
    obj.emit({"ok": True, "station": code, "revoked": revoked, "reason": reason},
             lambda: f"已吊销站点 {code} 的密钥：" + "、".join(revoked))


@cli.command()
@json_flag
@pass_context
def status(obj: Context) -> None:
    """各站点的同步情况 / every station key and how far its log has arrived."""
    with obj.county().db.read() as tx:
        rows = [{"station": s.code, "name": s.name, "origin": s.origin, "size": s.size,
                 "receipt_size": s.receipt_size, "last_seen": s.last_seen,
                 "revoked": s.revoked_at is not None, "revoked_at": s.revoked_at,
                 "evidence": len(tx.evidence(s.origin)),
                 "quarantine": len(tx.quarantined(s.origin))} for s in tx.stations()]
    obj.emit(rows, lambda: _status_table(rows))


def _status_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "还没有站点注册 / no station enrolled yet"
    head = ["站点编码", "名称", "账本标识", "已存", "已回执", "最近联系", "吊销", "证据", "隔离"]
    body = [[r["station"], r["name"], r["origin"], str(r["size"]), str(r["receipt_size"]),
             r["last_seen"] or "—", "是" if r["revoked"] else "", str(r["evidence"]),
             str(r["quarantine"])] for r in rows]
    return _table(body, head)


def _table(rows: list[list[str]], headers: list[str]) -> str:
    def width(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)

    grid = [headers, *rows]
    widths = [max(width(r[i]) for r in grid) for i in range(len(headers))]
    return "\n".join("  ".join(c + " " * (widths[i] - width(c)) for i, c in enumerate(r))
                     .rstrip() for r in grid)


# ----------------------------------------------------------------------------- USB


@cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reply", "reply", type=click.Path(dir_okay=False, path_type=Path),
              help="回复文件（默认 FILE 旁的 *.reply.vsb）/ where to write the reply bundle")
@json_flag
@pass_context
def import_(obj: Context, file: Path, reply: Path | None) -> None:
    """导入站点的 U 盘同步文件，写出回复文件 / take a station's USB bundle, write the reply."""
    data = _read(file)
    county = obj.county()
    answer = import_bundle(county, data, name=str(file))
    out = reply or file.with_name(file.name.removesuffix(".vsb") + ".reply.vsb")
    _write(out, answer)
    found = reply_summary(answer)
    stored = county.status(found["origin"]).body.get("size")
    result = {"ok": True, **found, "stored": stored, "reply": str(out)}
    obj.emit(result, lambda: (
        f"已导入站点 {found['origin']} 的同步文件：县级已存 {stored} 条，"
        + (f"回执至第 {found['receipt_size']} 条" if found["receipt_size"] is not None
           else "尚未形成回执（文件不完整，请在站点重新导出）")
        + f"\n站间转交：收下 {found['relay_stored']} 件，带回 {found['relay_messages']} 件"
        + f"\n回复文件：{out}（带回站点运行 station sync import {out.name}）"))


@cli.command("export")
@click.option("--station", "station", required=True, help="站点编码 / station code")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@json_flag
@pass_context
def export(obj: Context, station: str, out: Path) -> None:
    """为站点导出回执、密钥集和发布内容 / the county's news for a station, as a USB bundle."""
    code = check_station_code(station)
    data = export_bundle(obj.county(), code)
    _write(out, data)
    found = reply_summary(data)
    obj.emit({"ok": True, "station": code, **found, "file": str(out)},
             lambda: f"已为站点 {code} 导出：{out}（回执至第 {found['receipt_size'] or 0} 条，"
                     f"发布内容 {found['publications']} 项，"
                     f"转交消息 {found['relay_messages']} 件）")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SyncFileInvalid(path=str(path), reason="文件不存在") from None
    except OSError as exc:
        raise SyncFileInvalid(path=str(path), reason=f"无法读取（{exc.strerror}）") from None


def _write(path: Path, data: bytes) -> None:
    """Atomically: a half-written file on a pulled USB stick must not look complete."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise CountyError(reason=f"无法写入 {path}（{exc.strerror}）") from None


# ---------------------------------------------------------------------------- keys


@cli.group()
def keys() -> None:
    """县级密钥轮换（需要离线根密钥）/ rotate the county's online keys (needs the root)."""


root_option = click.option("--root", "root", required=True,
                           type=click.Path(dir_okay=False, path_type=Path),
                           help="离线保存的根密钥文件 / the offline root key file")


@keys.command("rotate")
@root_option
@json_flag
@pass_context
def rotate(obj: Context, root: Path) -> None:
    """启用新的加密密钥，旧密钥在宽限期内仍可用 / a new KEM key; old ones stay accepted."""
    county_folder.check_root(obj.data, root)
    online = rotate_kem(obj.data, root, iso(county_folder.system_now()))
    _keys_changed(obj, online.version, next(iter(online.kem_seeds)), online.retired)


@keys.command("drop")
@click.option("--kid", required=True, help="要停用的旧加密密钥编号 / retired KEM key id")
@root_option
@json_flag
@pass_context
def drop(obj: Context, kid: str, root: Path) -> None:
    """停用宽限期已过的旧加密密钥 / forget a retired KEM key."""
    county_folder.check_root(obj.data, root)
    retired = county_folder.online_keys(obj.data).retired
    if kid not in retired:
        raise InvalidInput(field="kid", label="旧加密密钥编号",
                           reason=f"“{kid}”不在宽限期内的旧密钥中（{'、'.join(retired) or '无'}）")
    online = drop_kem(obj.data, root, kid, iso(county_folder.system_now()))
    _keys_changed(obj, online.version, next(iter(online.kem_seeds)), online.retired)


def _keys_changed(obj: Context, version: int, current: str, retired: list[str]) -> None:
    obj.emit({"ok": True, "version": version, "current_kem": current, "retired_kems": retired},
             lambda: f"密钥集已更新为第 {version} 版；当前加密密钥 {current}；"
                     f"仍接受的旧密钥：{'、'.join(retired) or '无'}\n"
                     f"请重启 county serve 使新密钥生效 / restart `county serve` to use it.")


# ------------------------------------------------------------------------- publish


@cli.command()
@click.argument("collection")
@click.argument("file", required=False)
@click.option("--days", type=int, help="有效天数 / days until it expires")
@json_flag
@pass_context
def publish(obj: Context, collection: str, file: str | None, days: int | None) -> None:
    """发布事项目录、节假日、文书模板、吊销名单、最低版本要求（app）或差评整改期限（badreview）/
    publish a collection."""
    from sync.county.publish import publish_file  # the publishing rules live there

    county = obj.county()
    done = publish_file(county, collection, file, **({} if days is None else {"days": days}))
    obj.emit({"ok": True, **done},
             lambda: f"已发布 {done.get('collection')} 第 {done.get('version')} 版，"
                     f"有效期至 {done.get('expires')}：{done.get('summary', '')}")


from sync.county.cli_audit import audit, kpis, report, spotcheck  # noqa: E402  (build on it)

cli.add_command(audit)
cli.add_command(kpis)
cli.add_command(spotcheck)
cli.add_command(report)

from sync.county.cli_auditor import auditor  # noqa: E402  (county auditors, dashboard.md)

cli.add_command(auditor)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="county", obj=Context())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
