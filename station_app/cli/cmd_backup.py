"""``station backup --to PATH`` and ``station restore --from PATH [--data DIR]``.

The passphrase is asked at a hidden prompt (twice for a backup), or taken from
``$STATION_BACKUP_PASSPHRASE`` for scripts.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.services.backup import (
    PASSPHRASE_ENV,
    BackupReport,
    Progress,
    RestoreReport,
    backup_station,
    check_passphrase,
    restore_backup,
)


def register(cli: click.Group) -> None:
    cli.add_command(backup)
    cli.add_command(restore)


def _passphrase(*, twice: bool) -> str:
    given = os.environ.get(PASSPHRASE_ENV)
    if given:
        return given
    first = click.prompt("备份口令 / backup passphrase", hide_input=True, err=True)
    again = click.prompt("再输入一次 / repeat it", hide_input=True, err=True) if twice else None
    return check_passphrase(first, again) if twice else first


def _progress(quiet: bool) -> Progress:
    """Each new stage on its own line on stderr (stdout stays clean for --json)."""
    shown: list[str] = []

    def show(stage: str, _fraction: float) -> None:
        if not quiet and (not shown or shown[-1] != stage):
            shown.append(stage)
            click.echo(stage, err=True)

    return show


@click.command("backup")
@click.option("--to", "to", required=True, type=click.Path(path_type=Path),
              help="文件夹（如U盘）或 .vssbak 文件 / a folder for a new file, or a .vssbak file")
@json_flag
@pass_context
def backup(obj: Context, to: Path) -> None:
    """加密备份本站数据并校验可恢复 / write an encrypted, verified backup."""
    station = obj.station()
    passphrase = _passphrase(twice=True)
    report = backup_station(station, to, passphrase, progress=_progress(obj.out.json))
    obj.out.emit(report.as_dict(), lambda: _backup_text(report))


def _backup_text(r: BackupReport) -> str:
    return (f"已备份并校验可恢复：{r.entries} 条记录，{r.documents} 份文书，"
            f"{r.size / 1e6:.1f} MB\n"
            f"文件：{r.path}\n"
            f"用时：快照 {r.snapshot_s:.1f} 秒，加密写入 {r.write_s:.1f} 秒，"
            f"试恢复校验 {r.verify_s:.1f} 秒\n"
            f"请牢记备份口令：忘记口令就无法恢复。\n"
            f"backup written and verified: {r.entries} entries, {r.size:,} bytes → {r.path}")


@click.command("restore")
@click.option("--from", "source", required=True, type=click.Path(path_type=Path),
              help="备份文件 / the backup file")
@click.option("--data", "data", type=click.Path(file_okay=False, path_type=Path),
              help="恢复到的数据目录（须为空或不存在）/ data folder to restore into (empty)")
@json_flag
@pass_context
def restore(obj: Context, source: Path, data: Path | None) -> None:
    """从加密备份恢复站点数据 / restore a station from an encrypted backup."""
    target = data or obj.data
    passphrase = _passphrase(twice=False)
    report = restore_backup(source, target, passphrase, progress=_progress(obj.out.json))
    obj.out.emit(report.as_dict(), lambda: _restore_text(report))


def _restore_text(r: RestoreReport) -> str:
    receipt = ("备份中没有县级回执（备份时尚未同步）" if r.receipt_size is None else
               f"备份中最后一次县级回执：县级已确认 {r.receipt_size} 条"
               f"（县级时间 {r.receipt_time}）")
    return (f"已恢复到 {r.folder}：{r.name}（{r.station}），{r.entries} 条记录，"
            f"{r.documents} 份文书\n"
            f"备份时间：{r.created}\n{receipt}\n"
            f"请与县级管理员核对县级已确认的条数：如果多于 {r.entries} 条，说明备份之后的记录"
            f"已同步到县级，同步时会提示账本不一致，请勿继续录入，先联系县级管理员。\n"
            f"restored {r.entries} entries into {r.folder}; last county receipt in the backup: "
            f"{r.receipt_size if r.receipt_size is not None else 'none'}")
