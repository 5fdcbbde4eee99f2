"""A new PC's first run: 从备份恢复 and 更换电脑恢复（县级批准）, offered by the set-up wizard.

Both leave the app's data folder untouched until everything has succeeded: a backup is
restored into a hidden folder beside it (services/backup.py), a replacement station is built
beside it (services/recovery.py), and each is moved into place in one rename. So after a
wrong passphrase, a used code or a county that cannot be reached, the clerk just tries again.
The work runs on a worker thread while the window polls its progress (as 备份到U盘 does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import flet as ft

from station_app.domain.numbering import check_station_code
from station_app.errors import (
    BackupFileInvalid,
    BackupPassphraseWrong,
    CountyUnreachable,
    EnrollRefused,
    InvalidInput,
    MissingField,
    RecoveryUnreachable,
    StationError,
)
from station_app.services.backup import (
    RestoreReport,
    backup_info,
    backups_on_drives,
    restore_backup,
)
from station_app.services.recovery import (
    RecoveryReport,
    recover_into,
    recovery_started,
    set_first_pins,
    users_without_pin,
)
from station_app.services.station import Station
from station_app.services.users import users
from station_app.ui import theme
from station_app.ui.context import AppContext
from sync.auto import check_enrollment_input, recover_replacement

T = TypeVar("T")
Progress = Callable[[str, float], None]
POLL_SECONDS = 0.2
WIDE = 520
RESUME_NOTE = ("上次恢复已在县级注册，但没有完成：核对服务器地址后直接点“开始恢复”即可继续，"
               "不需要再输入注册码。")


# ------------------------------------------------------------------ 从备份恢复


def restore_screen(ctx: AppContext) -> ft.Control:
    """Pick the .vssbak file (found on the U盘, or typed), type its passphrase, restore."""
    picker = BackupPicker("restore", "备份文件", field="file")
    passphrase = theme.field("备份口令", key="restore_pass", password=True, width=WIDE)
    fields: dict[str, ft.Control] = {"file": picker.path, "passphrase": passphrase}

    async def go(_: Any) -> None:
        source = picker.chosen(required=True)
        assert source is not None
        secret = passphrase.value or ""
        if not secret:
            raise MissingField(field="passphrase", label="备份口令")
        try:
            report = await with_progress(ctx, "正在从备份恢复", "restore", lambda progress:
                                         restore_backup(source, ctx.folder, secret,
                                                        clock=ctx.clock, progress=progress))
        except BackupPassphraseWrong as error:  # said next to the field it is about
            error.field = "passphrase"
            raise
        except BackupFileInvalid as error:
            error.field = "file"
            raise
        ctx.show("restored", report=report)

    submit = ctx.guard(go, fields)
    passphrase.on_submit = submit
    return card([
        theme.title("从备份恢复", key="restore_title"),
        theme.muted("插入存有备份的U盘，选择备份文件（或输入文件路径），再输入备份时设置的口令。"
                    "恢复只写入本机的数据目录；口令错误或文件损坏时不会写入任何数据。"),
        *picker.controls(),
        passphrase,
        ft.Row([theme.button("开始恢复", submit, key="restore_go", icon=ft.Icons.RESTORE),
                back_button(ctx, "restore_back")], wrap=True),
    ])


def restored_screen(ctx: AppContext, report: RestoreReport) -> ft.Control:
    """What came back, then on to sign-in with the restored users."""
    receipt = (f"备份时县级已确认 {report.receipt_size} 条记录"
               f"（{when(report.receipt_time)}，县级时间）"
               if report.receipt_size is not None and report.receipt_time
               else "备份时本站尚未同步到县级（备份中没有县级回执）")
    return card([
        theme.title("恢复完成", key="restored_title"),
        line(f"站点：{report.name}（{report.station}）", "restored_station"),
        line(f"已恢复 {report.entries} 条记录、{report.documents} 份文书", "restored_entries"),
        line(f"备份时间：{when(report.created)}", "restored_created"),
        line(receipt, "restored_receipt"),
        theme.muted("登录后，如能连上县级服务器，备份之后已同步到县级的记录会自动补齐；"
                    "备份之后录入但没有同步的记录无法恢复，请根据纸质材料补录。"),
        theme.button("继续登录", ctx.guard(lambda _: open_station(ctx)), key="restored_continue",
                     icon=ft.Icons.LOGIN),
    ])


# ------------------------------------------------------------------ 更换电脑恢复


def recover_screen(ctx: AppContext) -> ft.Control:
    """County URL and replacement code (optionally the lost PC's backup, for the personal
    data keys and PINs); then recovery from the county."""
    resuming = recovery_started(ctx.folder)
    picker = BackupPicker("recover_backup", "原电脑的备份文件（可选，用于恢复人员信息和 PIN 码）",
                          field="keys_file", optional=True)
    fields: dict[str, ft.Control] = {
        "server": theme.field("县级服务器地址", key="recover_server", width=WIDE,
                              hint="如 http://10.33.1.5:8443"),
        "code": theme.field("替换注册码（或扫描二维码得到的整段文字）", key="recover_code",
                            width=WIDE, hint="县级管理员批准更换电脑时打印的注册码"),
        "station": theme.field("站点编码（输入的是注册码时填写）", key="recover_station",
                               width=WIDE),
        "keys_file": picker.path,
        "keys_pass": theme.field("该备份的口令", key="recover_pass", password=True,
                                 width=WIDE),
    }
    note = ft.Text(RESUME_NOTE if resuming else "", size=theme.BODY, color=theme.DUE_SOON,
                   key="recover_resume", visible=resuming)

    async def go(_: Any) -> None:
        server, code, station = _recovery_input(ctx, fields)
        keys_backup = picker.chosen(required=False)
        secret = str(getattr(fields["keys_pass"], "value", "") or "")
        if keys_backup is not None and not secret:
            raise MissingField(field="keys_pass", label="该备份的口令")
        try:
            report = await with_progress(ctx, "正在从县级恢复", "recover", lambda progress:
                                         recover_into(
                ctx.folder, lambda folder, keys_from: recover_replacement(
                    folder, server, code, station_code=station, clock=ctx.clock,
                    keys_from=keys_from),
                keys_backup=keys_backup, passphrase=secret, clock=ctx.clock,
                progress=progress))
        except BackupPassphraseWrong as error:
            error.field = "keys_pass"
            raise
        except BackupFileInvalid as error:
            error.field = "keys_file"
            raise
        except EnrollRefused as error:
            error.field = "code"
            raise
        except CountyUnreachable as error:
            raise RecoveryUnreachable(field="server", **error.params) from None
        finally:  # a try that got as far as enrolling is resumed without a code
            note.visible = recovery_started(ctx.folder)
            note.value = RESUME_NOTE if note.visible else ""
        ctx.show("recovered", report=report)

    submit = ctx.guard(go, fields)
    return card([
        theme.title("更换电脑恢复（县级批准）", key="recover_title"),
        theme.muted("原电脑丢失或损坏时使用：县级管理员批准更换电脑后，会给一个替换注册码。"
                    "本机将从县级取回原电脑已同步的全部记录，并用新的站点密钥接续；"
                    "原电脑最后一次同步之后录入的记录无法取回。"),
        note,
        ft.Row([fields["server"], fields["code"], fields["station"]], wrap=True),
        ft.Divider(),
        *picker.controls(),
        fields["keys_pass"],
        ft.Row([theme.button("开始恢复", submit, key="recover_go", icon=ft.Icons.CLOUD_DOWNLOAD),
                back_button(ctx, "recover_back")], wrap=True),
    ])


def _recovery_input(ctx: AppContext, fields: dict[str, ft.Control]
                    ) -> tuple[str, str | None, str | None]:
    """(server, code text, station code), checked before anything is sent."""
    server = str(getattr(fields["server"], "value", "") or "").strip()
    code = str(getattr(fields["code"], "value", "") or "").strip()
    typed_station = str(getattr(fields["station"], "value", "") or "").strip()
    if recovery_started(ctx.folder) and not code:  # resuming: the county knows this PC
        if not server.startswith(("http://", "https://")):
            raise InvalidInput(field="server", label="县级服务器地址",
                               reason="应以 http:// 或 https:// 开头，如 http://10.33.1.5:8443")
        return server.rstrip("/"), None, None
    server, code, meant_for = check_enrollment_input(server, code)
    if meant_for is None and not typed_station:
        raise MissingField(field="station", label="站点编码（输入的是注册码时必填）")
    try:
        station = check_station_code(meant_for or typed_station)
    except InvalidInput as error:
        error.field = "station"
        raise
    text = str(getattr(fields["code"], "value", "") or "").strip()
    return server, text, station


def recovered_screen(ctx: AppContext, report: RecoveryReport) -> ft.Control:
    """The recovery report: what came back, the window that did not (in red), the people
    whose details cannot be opened; PINs for users who have none; then sign-in."""
    after = when(report.county_time)
    parts: list[ft.Control] = [
        theme.title("已从县级恢复本站记录", key="recovered_title"),
        line(f"已恢复 {report.recovered} 条记录（原电脑已同步到县级的全部记录）",
             "recovered_entries"),
        line(f"县级最后确认时间：{after}（原电脑日志 {report.acknowledged} 条）",
             "recovered_acked"),
        line(f"最大办件编号：{report.highest_case or '（无）'}；最大代办序号："
             f"{report.highest_proxy or '（无）'}（新编号从其后接续）", "recovered_highest"),
        ft.Text(f"原电脑在 {after} 之后录入的记录没有同步到县级，无法恢复。请根据纸质收件回执、"
                "代办登记表等材料逐一补录。", size=theme.BODY, weight=ft.FontWeight.BOLD,
                color=theme.OVERDUE, key="recovered_gap"),
        _persons_line(report),
    ]
    return card(parts + _pin_form(ctx))


def _persons_line(report: RecoveryReport) -> ft.Control:
    if report.persons_unrecoverable:
        return ft.Text(f"人员信息：共 {report.persons} 人，其中 {report.persons_unrecoverable} "
                       "人的姓名、证件号等无法解密（原电脑的密钥已丢失，且没有导入原电脑的备份）。"
                       "这些人员再来办事时，请重新核对登记其信息。", size=theme.BODY,
                       color=theme.DUE_SOON, key="recovered_persons")
    imported = f"（已从原电脑的备份导入 {report.keys_imported} 人的密钥）" \
        if report.keys_imported else ""
    return line(f"人员信息：共 {report.persons} 人，均可正常查看{imported}", "recovered_persons")


def _pin_form(ctx: AppContext) -> list[ft.Control]:
    """PINs never go to the county: without the lost PC's backup the recovered users have
    none, so at least an administrator sets a new one here."""
    cont = theme.button("继续登录", None, key="recovered_continue", icon=ft.Icons.LOGIN)
    with _open(ctx) as station:
        waiting = users_without_pin(station)
    if not waiting:
        cont.on_click = ctx.guard(lambda _: open_station(ctx))
        return [cont]
    fields: dict[str, ft.Control] = {
        f"pin_{u.user_id}": theme.field(f"{u.name}（{u.role.label}）的新 PIN 码", password=True,
                                        key=f"recovered_pin_{u.user_id}", width=330)
        for u in waiting}
    fields["pins"] = ft.Text("", color=theme.OVERDUE, key="recovered_pins_error")

    def save(_: Any) -> None:
        pins = {name.removeprefix("pin_"): str(getattr(c, "value", "") or "")
                for name, c in fields.items() if name.startswith("pin_")}
        with _open(ctx) as station:
            set_first_pins(station, pins)
        open_station(ctx)

    cont.on_click = ctx.guard(save, fields)
    return [ft.Divider(),
            line("PIN 码只保存在原电脑上，没有同步到县级：请为下列人员设置新的 PIN 码"
                 "（4–8 位数字，至少一位管理员；留空的人员暂时不能登录，"
                 "可由管理员在“设置”中为其重新添加账号）。", "recovered_pin_note"),
            ft.Row([c for name, c in fields.items() if name != "pins"], wrap=True),
            fields["pins"], cont]


# ------------------------------------------------------------------ shared


class BackupPicker:
    """The .vssbak files on the plugged-in U盘s, and a path field for one elsewhere.

    (Flet's FilePicker needs a round trip to the desktop client — and zenity on Linux — so
    the found files plus a typed path are what works everywhere, offline.)"""

    def __init__(self, key: str, label: str, *, field: str, optional: bool = False) -> None:
        found = backups_on_drives()
        options = [("", "（不使用备份）")] if optional else []
        options += [(str(p), describe(p)) for p in found]
        self.found = found
        self.drive = theme.dropdown(f"U盘上的{label}", options, key=f"{key}_found", width=680,
                                    value=None if optional or not found else str(found[0]))
        self.path = theme.field("或输入备份文件的完整路径", key=f"{key}_file", width=WIDE,
                                hint="如 E:\\\\东坑村-20250929-1700.vssbak")
        self.key, self.field = key, field

    def controls(self) -> list[ft.Control]:
        none = ("未在U盘上找到备份文件（*.vssbak）：请插入U盘，稍等几秒后返回再进入本页，"
                "或直接输入路径。")
        return [self.drive, *([] if self.found else [theme.muted(none, key=f"{self.key}_none")]),
                self.path]

    def chosen(self, *, required: bool) -> Path | None:
        """The typed path if any, else the file picked from the list."""
        text = (self.path.value or "").strip().strip('"') or (self.drive.value or "")
        if not text:
            if required:
                raise MissingField(field=self.field,
                                   label="备份文件（请选择U盘上的文件或输入路径）")
            return None
        path = Path(text).expanduser()
        if not path.is_file():
            raise InvalidInput(field=self.field, label="备份文件",
                               reason=f"找不到文件“{path}”（U盘是否已插好？）")
        return path


def describe(path: Path) -> str:
    """The file and what its clear header says (station, when, how many entries)."""
    try:
        meta = backup_info(path)
        return (f"{path.name}（{meta.get('name', '')}，{when(str(meta.get('created', '')))}，"
                f"{meta.get('entries', '?')} 条记录）")
    except StationError:  # unreadable or not a backup: still listed, restore says why
        return path.name


async def with_progress(ctx: AppContext, title: str, key: str,
                        work: Callable[[Progress], T]) -> T:
    """Run ``work`` on a worker thread behind a modal progress dialog."""
    stage = ft.Text("正在准备…", size=theme.BODY, key=f"{key}_stage")
    bar = ft.ProgressBar(value=0.0, width=480, key=f"{key}_bar")
    busy = ft.AlertDialog(modal=True, key=f"{key}_progress", title=ft.Text(title),
                          content=ft.Column([stage, bar], tight=True, spacing=12))
    ctx.page.show_dialog(busy)
    seen: dict[str, Any] = {"stage": stage.value, "fraction": 0.0}

    def progress(text: str, fraction: float) -> None:  # on the worker thread: just note it
        seen["stage"], seen["fraction"] = text, fraction

    ctx.release_log()
    job = asyncio.ensure_future(ctx.in_thread(lambda: work(progress)))
    try:
        while not job.done():
            await asyncio.wait({job}, timeout=POLL_SECONDS)
            stage.value, bar.value = str(seen["stage"]), float(seen["fraction"])
            busy.update()
        return job.result()
    finally:
        busy.open = False  # close this dialog, not whichever is newest
        busy.update()


def open_station(ctx: AppContext) -> None:
    if ctx.station is None:
        ctx.open()  # starts sync: a county that is ahead fills the gap by itself
    ctx.show("signin")


def pins_missing(ctx: AppContext) -> bool:
    """Nobody on this PC can sign in: a recovery whose new PINs were never set (the window
    was closed on its report). A station made here always has its administrator's PIN."""
    assert ctx.station is not None
    waiting = users_without_pin(ctx.station)
    return bool(waiting) and len(waiting) == len(users(ctx.station))


def first_pins_screen(ctx: AppContext) -> ft.Control:
    """Instead of the sign-in screen while ``pins_missing``: the report's PIN form."""
    return card([theme.title("设置 PIN 码", key="first_pins_title"), *_pin_form(ctx)])


def _open(ctx: AppContext) -> Station:
    return Station.open(ctx.folder, clock=ctx.clock)


def back_button(ctx: AppContext, key: str) -> ft.Control:
    return theme.button("返回", ctx.guard(lambda _: ctx.show("setup")), primary=False, key=key,
                        icon=ft.Icons.ARROW_BACK)


def line(text: str, key: str) -> ft.Text:
    return ft.Text(text, size=theme.BODY, key=key, selectable=True)


def when(stamp: str | None) -> str:
    try:
        return f"{datetime.fromisoformat(stamp or ''):%Y-%m-%d %H:%M}"
    except ValueError:
        return stamp or "（未知）"


def card(controls: list[ft.Control]) -> ft.Control:
    """A card in the middle of the window, as the set-up and sign-in screens are."""
    return ft.Container(expand=True, alignment=ft.Alignment.CENTER, bgcolor="#eef3fa",
                        content=ft.Card(elevation=3, semantic_container=False, content=ft.Container(
                            width=760, padding=36, content=ft.Column(
                                controls, spacing=14, tight=True, scroll=ft.ScrollMode.AUTO))))
