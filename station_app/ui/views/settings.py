"""设置 (administrators): station details, the county server (sync), data backup, agents,
holidays, printer, templates and users."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import flet as ft

from station_app.domain.documents import DocKind
from station_app.domain.users import Role
from station_app.errors import FileInvalid
from station_app.services.calendar import current_calendar, import_calendar
from station_app.services.catalog import current_catalog
from station_app.services.doc_templates import check_all, published_templates, templates_origin
from station_app.services.notice_board import (
    BoardState,
    board_state,
    refresh_notice_board,
    set_published_items,
)
from station_app.services.notice_items import published_codes
from station_app.services.printing import printers
from station_app.services.profile import (
    PROFILE_FIELDS,
    add_agent,
    agents,
    profile,
    remove_agent,
    set_profile,
)
from station_app.services.users import add_user, users
from station_app.ui import theme
from station_app.ui.context import AppContext
from station_app.ui.printing import print_document
from station_app.ui.views import backup, sync_settings


def build(ctx: AppContext) -> ft.Control:
    assert ctx.station is not None
    return ft.Column([
        theme.title("设置", key="settings_title"),
        *_profile_section(ctx), ft.Divider(),
        *sync_settings.section(ctx), ft.Divider(),  # 县级服务器（同步）
        *backup.section(ctx), ft.Divider(),  # 数据备份 (U盘)
        *_agents_section(ctx), ft.Divider(),
        *_calendar_section(ctx), ft.Divider(),
        *_printer_section(ctx), ft.Divider(),
        *_templates_section(ctx), ft.Divider(),
        *_users_section(ctx),
    ], spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


def _heading(text: str) -> ft.Text:
    return ft.Text(text, size=theme.BODY + 2, weight=ft.FontWeight.BOLD)


def _profile_section(ctx: AppContext) -> list[ft.Control]:
    assert ctx.station is not None
    info, values = ctx.station.info, profile(ctx.station)
    # Long values (an address, a court's full name) get a full-width box so nothing is cut off.
    wide = {"address", "review_organ", "court"}
    fields = {k: theme.field(label, key=f"profile_{k}", value=values[k],
                             width=616 if k in wide else 300)
              for k, label in PROFILE_FIELDS.items() if k != "printer"}

    def save(_: Any) -> None:
        assert ctx.station is not None
        set_profile(ctx.station, {k: f.value or "" for k, f in fields.items()},
                    reason="在设置中修改")
        refreshed = refresh_notice_board(ctx.station)  # the poster shows these details
        ctx.toast("站点信息已保存" + ("；公示栏已更新，请打印张贴" if refreshed else ""))

    return [_heading("站点信息（用于文书和公示栏）"),
            theme.muted(f"{info.name} · 编码 {info.code} · 区划 {info.region} · "
                        f"账本标识 {info.origin}"),
            ft.Row(list(fields.values()), wrap=True),
            theme.button("保存站点信息", ctx.guard(save, fields), key="profile_save")]


def _agents_section(ctx: AppContext) -> list[ft.Control]:
    assert ctx.station is not None
    fields = {"name": theme.field("姓名", key="agent_name", width=160),
              "role": theme.field("职务", key="agent_role", value="村级代办员", width=180),
              "phone": theme.field("工作电话", key="agent_phone", width=200),
              "village": theme.field("负责村组", key="agent_village", width=200)}
    rows = [ft.Row([ft.Text(f"{a.name}（{a.role}）{a.phone} · {a.village}", size=theme.BODY),
                    ft.TextButton("停止公示", key=f"agent_remove_{a.agent_id}",
                                  on_click=ctx.guard(_remove_agent(ctx, a.agent_id)))])
            for a in agents(ctx.station)]

    def add(_: Any) -> None:
        assert ctx.station is not None
        add_agent(ctx.station, name=fields["name"].value or "", role=fields["role"].value or "",
                  phone=fields["phone"].value or "", village=fields["village"].value or "")
        refresh_notice_board(ctx.station)
        ctx.show("settings")

    return [_heading("代办员（公示栏）"), *rows, ft.Row(list(fields.values()), wrap=True),
            theme.button("登记代办员", ctx.guard(add, fields), primary=False, key="agent_add"),
            *_notice_board_part(ctx)]


def _notice_board_part(ctx: AppContext) -> list[ft.Control]:
    """Whether the 公示栏 on the wall shows what is published, the items it publishes, and a
    way to print it. A change that arrived some other way (a catalog from the county) is
    caught up here: the poster is regenerated before its state is shown."""
    assert ctx.station is not None
    refresh_notice_board(ctx.station)
    state = board_state(ctx.station)
    color = theme.MUTED if state is BoardState.CURRENT else theme.DUE_SOON
    return [ft.Row([ft.Text(state.label, size=theme.BODY, color=color,
                            key="notice_board_state"),
                    theme.button("打印公示栏", ctx.guard(
                        lambda _: _print_notice_board(ctx)), primary=False,
                        key="notice_board_print")], wrap=True),
            *_notice_items_part(ctx)]


def _notice_items_part(ctx: AppContext) -> list[ft.Control]:
    """公示事项: which 可代办事项 the poster lists; all of them ticked means "every item",
    so items in a later catalog are published too."""
    assert ctx.station is not None
    items = current_catalog(ctx.station).proxy_items()
    chosen = published_codes(ctx.station)
    boxes = {i.code: ft.Checkbox(label=f"{i.name}（{i.code}）", key=f"notice_item_{i.code}",
                                 value=chosen is None or i.code in chosen) for i in items}

    def save(_: Any) -> None:
        assert ctx.station is not None
        ticked = [code for code, box in boxes.items() if box.value]
        set_published_items(ctx.station, None if len(ticked) == len(boxes) else ticked,
                            reason="在设置中选择公示事项")
        ctx.show("settings")

    if not items:
        return [theme.muted("尚未导入事项目录：公示栏没有可列出的事项")]
    return [ft.Text("公示事项（可代办事项）", size=theme.BODY, weight=ft.FontWeight.BOLD),
            ft.Column(list(boxes.values()), spacing=0),
            theme.button("保存公示事项", ctx.guard(save), primary=False, key="notice_items_save")]


async def _print_notice_board(ctx: AppContext) -> None:
    await print_document(ctx, DocKind.NOTICE_BOARD)
    ctx.show("settings")


def _remove_agent(ctx: AppContext, agent_id: str) -> Callable[[Any], None]:
    def go(_: Any) -> None:
        assert ctx.station is not None
        remove_agent(ctx.station, agent_id, reason="在设置中停止公示")
        refresh_notice_board(ctx.station)
        ctx.show("settings")
    return go


def _calendar_section(ctx: AppContext) -> list[ft.Control]:
    assert ctx.station is not None
    known = current_calendar(ctx.station).known_years
    year = ctx.now().year
    state = f"已导入 {known[0]}–{known[-1]} 年" if known else "尚未导入"
    missing = [y for y in (year, year + 1) if y not in known]
    path = theme.field("放假安排文件（JSON 或 CSV）的完整路径", key="calendar_path", width=520)

    def load(_: Any) -> None:
        assert ctx.station is not None
        file = Path((path.value or "").strip())
        try:
            raw = file.read_bytes()
        except OSError:
            raise FileInvalid(field="path", where=str(file), reason="：文件不存在或无法读取") \
                from None
        years = import_calendar(ctx.station, raw, file.name)
        names = "、".join(f"{y.year} 年" for y in years)
        ctx.toast(f"已导入 {names}放假安排，在办期限已重新计算")
        ctx.show("settings")

    return [_heading("节假日（放假安排）"),
            ft.Text(state + ("；注意：未导入 " + "、".join(map(str, missing)) + " 年，期限为估算"
                             if missing else ""), size=theme.BODY, key="calendar_state"),
            ft.Row([path, theme.button("导入", ctx.guard(load, {"path": path}), primary=False,
                                       key="calendar_import")])]


def _printer_section(ctx: AppContext) -> list[ft.Control]:
    assert ctx.station is not None
    found = printers()
    current = profile(ctx.station)["printer"]
    options = [("", f"系统默认（{found.default or '无'}）")] + [(n, n) for n in found.names]
    choice = theme.dropdown("打印机", options, key="printer_choice",
                            value=current if current in found.names else "", width=360)

    def save(_: Any) -> None:
        assert ctx.station is not None
        set_profile(ctx.station, {"printer": choice.value or ""}, reason="选择打印机")
        ctx.toast("打印机已设置")

    return [_heading("打印机"),
            theme.muted("本机没有打印机时，文书保存为 PDF 文件。" if not found.names else
                        f"本机打印机：{'、'.join(found.names)}"),
            ft.Row([choice, theme.button("保存", ctx.guard(save), primary=False,
                                         key="printer_save")])]


def _templates_section(ctx: AppContext) -> list[ft.Control]:
    assert ctx.station is not None
    versions = check_all(published=published_templates(ctx.station))
    return [_heading("文书模板"), theme.muted(templates_origin(ctx.station)),
            ft.Text("；".join(f"{k} {v}" for k, v in versions.items()), size=theme.SMALL,
                    key="templates_versions")]


def _users_section(ctx: AppContext) -> list[ft.Control]:
    assert ctx.station is not None
    fields = {"name": theme.field("姓名", key="user_name", width=160),
              "role": theme.dropdown("角色", [(r.value, r.label) for r in Role], key="user_role",
                                     value=Role.CLERK.value, width=200),
              "pin": theme.field("PIN 码（4–8 位数字）", key="user_pin", password=True,
                                 width=200)}

    def add(_: Any) -> None:
        assert ctx.station is not None
        add_user(ctx.station, name=fields["name"].value or "", role=fields["role"].value or "",
                 pin=fields["pin"].value or "")
        ctx.show("settings")

    return [_heading("使用人员"),
            *[ft.Text(f"{u.name}（{u.role.label}）", size=theme.BODY)
              for u in users(ctx.station)],
            ft.Row(list(fields.values()), wrap=True),
            theme.button("添加人员", ctx.guard(add, fields), primary=False, key="user_add")]
