"""``station enroll`` and ``station sync [export|import|status]``: the county link."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.domain.clock import CST, iso
from station_app.errors import InvalidInput
from station_app.services.appversion import app_update_warning
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.downlink import stale_publications
from sync.protocol import ProtocolError, key_id, parse_enroll_text
from sync.session import run_sync
from sync.station import acknowledged, enrollment, require_enrollment
from sync.station import enroll as enroll_station
from sync.usb import export_bundle, import_bundle


def register(cli: click.Group) -> None:
    cli.add_command(enroll)
    cli.add_command(sync)


def _server(url: str) -> str:
    value = url.strip()
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        raise InvalidInput(field="server", label="县级服务器地址",
                           reason=f"“{url}”应以 http:// 或 https:// 开头，如 http://10.1.2.3:8080")
    return value


def _code(station: Station, text: str) -> str:
    """The one-time code, typed as printed or scanned from the county's QR code."""
    try:
        meant_for, code = parse_enroll_text(text)
    except ProtocolError:
        raise InvalidInput(field="code", label="注册码",
                           reason="扫描的二维码不是县级注册码") from None
    if meant_for is not None and meant_for != station.info.code:
        raise InvalidInput(field="code", label="注册码",
                           reason=f"这是发给站点 {meant_for} 的注册码，本站是 {station.info.code}")
    return code


@click.command()
@click.option("--server", required=True, help="县级服务器地址 / county server URL")
@click.option("--code", required=True,
              help="县里发的注册码，或扫描二维码得到的整段文字 / enrollment code or QR text")
@json_flag
@pass_context
def enroll(obj: Context, server: str, code: str) -> None:
    """用县里发的一次性注册码在县级服务器注册本站 / enroll this station with the county."""
    station = obj.station()
    with HttpTransport(_server(server)) as transport:
        link = enroll_station(station, transport, _code(station, code))
    fingerprint = key_id(link.keys.root)
    obj.out.emit(
        {"ok": True, "county": link.county, "server": link.server,
         "root_fingerprint": fingerprint, "keyset_version": link.keys.version},
        lambda: f"已在“{link.county}”注册（{link.server}）\n"
                f"县级根密钥指纹：{fingerprint}（请与县级管理员核对）")


@click.group(invoke_without_command=True)
@click.option("--server", help="本次使用的县级服务器地址（默认注册时的地址）/ server URL override")
@json_flag
@click.pass_context
def sync(ctx: click.Context, server: str | None) -> None:
    """与县级服务器同步（上传账本、取回执）/ sync with the county server now."""
    if ctx.invoked_subcommand is not None:
        return
    obj = ctx.find_object(Context)
    assert obj is not None
    station = obj.station()
    url = _server(server) if server else require_enrollment(station).server
    with HttpTransport(url) as transport:
        report = run_sync(station, transport, None if obj.out.json else _progress)
    result = {"ok": True, "server": url, **report.as_dict(),
              "acknowledged": acknowledged(station), "size": station.ledger.size(),
              "stale_publications": [{"collection": c, "version": v, "expires": e}
                                     for c, v, e in stale_publications(station)],
              "app_update": _app_update(station)}
    obj.out.emit(result, lambda: _sync_text(result) + _app_update_line(result))


def _app_update(station: Station) -> dict[str, Any] | None:
    """The county's minimum program version, if this program is older (docs/upgrades.md)."""
    warning = app_update_warning(station)
    return None if warning is None else warning.as_dict()


def _app_update_line(result: dict[str, Any]) -> str:
    warning = result.get("app_update")
    return f"\n注意：{warning['message']}" if warning else ""


def _progress(done: int, total: int) -> None:
    click.echo(f"\r上传中 uploading：{done} / {total}", nl=done >= total, err=True)


def _sync_text(result: dict[str, Any]) -> str:
    when = _county_time(result.get("county_time"))
    return (f"同步完成：本次上传 {result['sent_entries']} 条"
            f"（{result['packages']} 个数据包，{result['bytes_sent']} 字节）\n"
            f"县级已确认 {result['acknowledged']} 条 / 本机共 {result['size']} 条"
            + (f"\n县级时间：{when}" if when else "")
            + _publication_lines(result["publications"])
            + _relay_line(result["relay"])
            + "".join(f"\n注意：县级发布的 {p['collection']} 第 {p['version']} 版已于 "
                      f"{p['expires'][:10]} 过期，县级未续发（或有人拦截了新版本），请联系县级"
                      for p in result["stale_publications"]))


def _publication_lines(publications: list[dict[str, Any]]) -> str:
    return "".join(f"\n{p['detail']}" for p in publications if p["outcome"] != "already")


def _relay_line(relay: dict[str, int]) -> str:
    if not any(relay.values()):
        return ""
    return (f"\n站间转办：发出 {relay['sent']} 件，收到 {relay['received']} 件"
            + (f"，待发 {relay['pending']} 件" if relay["pending"] else "")
            + (f"，拒收 {relay['refused']} 件" if relay["refused"] else "")
            + (f"，发送失败 {relay['failed']} 件" if relay["failed"] else ""))


def _county_time(seconds: Any) -> str | None:
    return iso(datetime.fromtimestamp(seconds, CST)) if isinstance(seconds, int) else None


@sync.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_flag
@pass_context
def export(obj: Context, file: Path) -> None:
    """把未确认的记录导出到 U 盘文件，交县级导入 / write a USB bundle for the county."""
    done = export_bundle(obj.station(), file)
    obj.out.emit(done, lambda: f"已导出 {done['entries']} 条未确认的记录（共 {done['size']} 条）"
                               f"到 {file}" + _export_relay_line(done)
                               + f"\n请交县级导入：county import {file.name}")


def _export_relay_line(done: dict[str, Any]) -> str:
    line = f"，站间转交消息 {done['relay_messages']} 件" if done["relay_messages"] else ""
    if done["certificates_wanted"]:
        line += (f"\n向县级索取站点 {'、'.join(done['certificates_wanted'])} 的证书："
                 "导入回复文件后再导出一次，发往这些站点的消息才能带上")
    if done["relay_failed"]:
        line += f"\n发送失败 {done['relay_failed']} 件（无法生成，见转交记录）"
    return line


@sync.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_flag
@pass_context
def import_(obj: Context, file: Path) -> None:
    """导入县级的回复文件（回执、密钥集、发布内容）/ apply the county's reply bundle."""
    station = obj.station()
    done = {**import_bundle(station, file), "app_update": _app_update(station)}
    obj.out.emit(done, lambda: (
        (f"已取得县级回执：第 {done['receipt_size']} 条，县级时间 "
         f"{_county_time(done['county_time'])}\n" if done["receipt_size"] is not None
         else "文件中没有回执\n")
        + f"县级已确认 {done['acknowledged']} 条 / 本机共 {done['size']} 条"
        + ("\n已更新县级密钥集" if done["keyset_updated"] else "")
        + _publication_lines(done["publications"]) + _relay_line(done["relay"])
        + _app_update_line(done)))


@sync.command("status")
@json_flag
@pass_context
def status(obj: Context) -> None:
    """注册与同步情况 / enrollment, acknowledged size, publications."""
    station = obj.station()
    result = sync_status(station)
    obj.out.emit(result, lambda: _status_text(result))


def sync_status(station: Station) -> dict[str, Any]:
    link = enrollment(station)
    latest = station.sync_state.latest_receipt()
    return {
        "enrolled": link is not None,
        "county": link.county if link else None, "server": link.server if link else None,
        "root_fingerprint": key_id(link.keys.root) if link else None,
        "keyset_version": link.keys.version if link else None,
        "acknowledged": latest.size if latest else 0, "size": station.ledger.size(),
        "last_receipt": None if latest is None else {
            "size": latest.size, "county_time": _county_time(latest.county_time),
            "received_at": latest.received_at},
        "publications": [{"collection": c, "version": v, "expires": e, "applied_at": a}
                         for c, v, e, a in station.sync_state.publications()],
        "app_update": _app_update(station)}


def _status_text(s: dict[str, Any]) -> str:
    if not s["enrolled"]:
        return f"尚未在县级服务器注册（station enroll）；本机共 {s['size']} 条记录"
    lines = [f"县级：{s['county']}（{s['server']}），根密钥指纹 {s['root_fingerprint']}，"
             f"密钥集第 {s['keyset_version']} 版",
             f"县级已确认 {s['acknowledged']} 条 / 本机共 {s['size']} 条"
             f"（未同步 {s['size'] - s['acknowledged']} 条）"]
    last = s["last_receipt"]
    lines.append(f"最近回执：第 {last['size']} 条，县级时间 {last['county_time']}，"
                 f"收到于 {last['received_at']}" if last else "还没有县级回执")
    lines += [f"发布内容 {p['collection']}：第 {p['version']} 版，有效期至 {p['expires']}"
              for p in s["publications"]] or ["尚未收到县级发布的内容"]
    return "\n".join(lines) + _app_update_line(s)
