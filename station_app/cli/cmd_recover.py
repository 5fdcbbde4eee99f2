"""``station recover``: a replacement PC takes over a lost one's history (docs/recovery.md)."""

from __future__ import annotations

from pathlib import Path

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.cli.cmd_sync import _server
from station_app.services.clock import SystemClock
from sync.client import HttpTransport
from sync.recover import recover as recover_station


def register(cli: click.Group) -> None:
    cli.add_command(recover)


@click.command()
@click.option("--server", required=True, help="县级服务器地址 / county server URL")
@click.option("--code", help="县里发的替换注册码，或扫描二维码得到的整段文字 / replacement code "
                             "or QR text (not needed to resume an interrupted recovery)")
@click.option("--station", "station_code", help="站点编码（输入的是注册码时）/ station code")
@click.option("--keys-from", "keys_from", type=click.Path(file_okay=False, path_type=Path),
              help="从备份恢复的原电脑数据目录，导入人员密钥 / a restored copy of the lost PC's "
                   "folder, for its per-person keys")
@json_flag
@pass_context
def recover(obj: Context, server: str, code: str | None, station_code: str | None,
            keys_from: Path | None) -> None:
    """原电脑丢失后，在新电脑上从县级恢复本站记录并接续 / recover a lost PC's history."""
    with HttpTransport(_server(server)) as transport:
        report = recover_station(obj.data, transport, code, clock=SystemClock(),
                                 actor=obj.actor, station_code=station_code,
                                 keys_from=keys_from)
    obj.out.emit({"ok": True, "data": str(obj.data), **report.as_dict()}, report.text)
