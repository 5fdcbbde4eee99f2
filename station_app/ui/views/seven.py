"""七有: the station's monthly self-check against the "seven haves" (issue 7 item 3).

Everyone sees the self-check in force (status, note and photo thumbnails per item) and this
month's 记录簿 figures from the ledger; the station admin records the month's self-check:
a status and a note per item, photos added by typing a file path (Flet's FilePicker needs the
desktop client's file dialog, which a headless station or test cannot drive; the path works
everywhere, and a USB stick's photos are a path too) or taken with the webcam (拍照:
``station_app.ui.views.camera_dialog``; disabled, saying why, where OpenCV is missing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flet as ft

from station_app.domain.clock import local_day, to_cst
from station_app.domain.seven import ITEMS, RECORD_BOOK, SelfCheck, Status
from station_app.domain.users import CAN_ADMINISTER
from station_app.errors import InvalidInput
from station_app.services.camera import PhotoShot
from station_app.services.seven import (
    PhotoFile,
    check_photo,
    latest_self_check,
    photo_thumbnail,
    record_book,
    record_self_check,
)
from station_app.ui import theme
from station_app.ui.context import AppContext
from station_app.ui.views.camera_dialog import camera_button

SEVEN = tuple((i.name, i.evidence) for i in ITEMS)
STATUS_OPTIONS = [(s.value, s.value) for s in Status]
STATUS_COLOURS = {Status.MET: theme.OK, Status.PARTIAL: theme.DUE_SOON,
                  Status.NOT_MET: theme.OVERDUE}


def build(ctx: AppContext) -> ft.Control:
    assert ctx.station is not None
    station = ctx.station
    month = local_day(ctx.now()).strftime("%Y-%m")
    latest = latest_self_check(station)
    book = record_book(station, month)
    share = "" if book.share is None else f"（{book.share:.0%}）"
    parts: list[ft.Control] = [
        theme.title("七有自查", key="seven_title"),
        ft.Text(_state(latest, month), size=theme.BODY, key="seven_state"),
        theme.muted(f"本月记录簿（由账本自动统计）：办件 {book.cases} 件、代办 {book.proxies} 件，"
                    f"当日即录 {book.same_day} 件{share}", key="seven_book"),
        _table(latest),
    ]
    if latest is not None and latest.photos:
        parts.append(_thumbnails(ctx, latest))
    if ctx.user is not None and ctx.user.role in CAN_ADMINISTER:
        parts.append(_form(ctx, month, latest, book.suggested()))
    else:
        parts.append(theme.muted("七有自查由站点管理员填写。", key="seven_readonly"))
    return ft.Column(parts, spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


def _state(latest: SelfCheck | None, month: str) -> str:
    if latest is None:
        return "本站尚未记录七有自查。"
    due = "" if latest.month == month else f"；本月（{month}）尚未自查"
    return (f"最近一次自查：{latest.month}，{latest.checked_by}，{latest.at[:16].replace('T', ' ')}"
            + (f"（更正：{latest.reason}）" if latest.reason else "") + due)


def _table(latest: SelfCheck | None) -> ft.DataTable:
    rows = []
    for item in ITEMS:
        done = None if latest is None else latest.item(item.name)
        status = ft.Text("未自查" if done is None else done.status.value, size=theme.SMALL,
                         color=theme.MUTED if done is None else STATUS_COLOURS[done.status])
        rows.append(ft.DataRow(cells=[
            ft.DataCell(ft.Text(item.name, size=theme.BODY)),
            ft.DataCell(ft.Text(item.evidence, size=theme.SMALL)),
            ft.DataCell(status),
            ft.DataCell(ft.Text("" if done is None else done.note, size=theme.SMALL)),
            ft.DataCell(ft.Text("" if done is None else str(len(done.photos)), size=theme.SMALL,
                                key=f"seven_count_{item.code}")),
        ]))
    return ft.DataTable(columns=[ft.DataColumn(ft.Text(t))
                                 for t in ("项目", "佐证材料", "状态", "说明", "照片")],
                        rows=rows, key="seven_table")


def _thumbnails(ctx: AppContext, latest: SelfCheck) -> ft.Control:
    assert ctx.station is not None
    tiles = []
    for item in latest.items:
        for n, sha in enumerate(item.photos):
            tiles.append(ft.Column([
                ft.Image(src=photo_thumbnail(ctx.station, sha), width=120, height=90,
                         fit=ft.BoxFit.CONTAIN, key=f"seven_thumb_{sha[:12]}"),
                theme.muted(f"{item.item} {n + 1}")], spacing=2))
    return ft.Row(tiles, wrap=True, spacing=8, key="seven_thumbs")


def _form(ctx: AppContext, month: str, latest: SelfCheck | None,
          book_status: Status) -> ft.Control:
    month_field = theme.field("自查月份（YYYY-MM）", key="seven_month", value=month, width=200)
    reason = theme.field("更正原因（本月已自查、再次提交时填写）", key="seven_reason", width=480)
    statuses: dict[str, ft.Dropdown] = {}
    notes: dict[str, ft.TextField] = {}
    paths: dict[str, ft.TextField] = {}
    added: dict[str, list[Path | PhotoShot]] = {i.name: [] for i in ITEMS}
    added_text: dict[str, ft.Text] = {}
    rows: list[ft.Control] = []
    for item in ITEMS:
        start = book_status.value if item.name == RECORD_BOOK else None
        statuses[item.name] = theme.dropdown(item.name, STATUS_OPTIONS, value=start,
                                             key=f"seven_status_{item.code}", width=160)
        notes[item.name] = theme.field("说明", key=f"seven_note_{item.code}", width=280)
        paths[item.name] = theme.field("照片文件路径（JPEG/PNG）", key=f"seven_path_{item.code}",
                                       width=320)
        added_text[item.name] = theme.muted("", key=f"seven_added_{item.code}")
        rows.append(ft.Row([statuses[item.name], notes[item.name], paths[item.name],
                            theme.button("添加照片", ctx.guard(
                                _add(ctx, item.name, paths, added, added_text),
                                {"photo": paths[item.name], "photos": paths[item.name]}),
                                key=f"seven_add_{item.code}", primary=False),
                            camera_button(ctx, item.name, item.code,
                                          _took(ctx, item.name, added, added_text)),
                            added_text[item.name]], wrap=True, spacing=8))

    def save(_: Any) -> None:
        assert ctx.station is not None
        missing = [n for n, d in statuses.items() if not d.value]
        if missing:
            raise InvalidInput(field=f"status_{missing[0]}", label="自查结果",
                               reason=f"请选择“{'、'.join(missing)}”的结果")
        record_self_check(
            ctx.station, month=month_field.value or "",
            statuses={n: d.value or "" for n, d in statuses.items()},
            notes={n: f.value or "" for n, f in notes.items()},
            photos=[PhotoFile(n, p) if isinstance(p, Path) else p
                    for n, ps in added.items() for p in ps],
            reason=reason.value or "")
        ctx.toast("七有自查已保存")
        ctx.show("seven")

    fields = {"month": month_field, "reason": reason, "note": notes[ITEMS[0].name],
              **{f"status_{n}": d for n, d in statuses.items()}}
    title = "更正本月自查" if latest is not None and latest.month == month else "填写本月自查"
    return ft.Column([
        ft.Text(title, size=theme.BODY, weight=ft.FontWeight.BOLD, key="seven_form_title"),
        month_field, *rows, reason,
        theme.button("保存自查", ctx.guard(save, fields), key="seven_save"),
    ], spacing=8, key="seven_form")


def _add(ctx: AppContext, name: str, paths: dict[str, ft.TextField],
         added: dict[str, list[Path | PhotoShot]], added_text: dict[str, ft.Text]) -> Any:
    def handler(_: Any) -> None:
        path = Path((paths[name].value or "").strip().strip('"'))
        check_photo(path)  # refused here, next to the path, not only at 保存
        added[name].append(path)
        added_text[name].value = _added(added[name])
        paths[name].value = ""
        ctx.page.update()

    return handler


def _took(ctx: AppContext, name: str, added: dict[str, list[Path | PhotoShot]],
          added_text: dict[str, ft.Text]) -> Any:
    """What 使用这张 in the 拍照 dialog does with the shot: add it like a chosen file."""
    def use(shot: PhotoShot) -> None:
        added[name].append(shot)
        added_text[name].value = _added(added[name])
        ctx.page.update()

    return use


def _added(photos: list[Path | PhotoShot]) -> str:
    return "已添加：" + "、".join(
        p.name if isinstance(p, Path) else f"拍照 {to_cst(p.taken_at):%H:%M:%S}" for p in photos)
