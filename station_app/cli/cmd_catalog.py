"""``station catalog import|list``."""

from __future__ import annotations

import click

from station_app.cli import Context, json_flag, pass_context, read_input_file
from station_app.cli.cmd_board import poster_line
from station_app.cli.output import table
from station_app.domain.catalog import item_to_dict
from station_app.services.catalog import current_catalog, import_catalog
from station_app.services.notice_board import refresh_notice_board


def register(cli: click.Group) -> None:
    cli.add_command(catalog)


@click.group()
def catalog() -> None:
    """事项目录 / service-item catalog."""


@catalog.command("import")
@click.argument("file")
@json_flag
@pass_context
def import_(obj: Context, file: str) -> None:
    """导入事项目录文件（vss-catalog/1 JSON）/ import a catalog file."""
    raw = read_input_file(file)
    result, changed = import_catalog(obj.station(), raw)
    poster = refresh_notice_board(obj.station()) if changed else None  # it lists the items
    obj.out.emit(
        {"ok": True, "version": result.version, "items": len(result.items), "changed": changed},
        lambda: (f"已导入事项目录 {result.version}，共 {len(result.items)} 个事项"
                 if changed else f"事项目录 {result.version} 与当前目录相同，未作改动")
        + poster_line(poster))


@catalog.command("list")
@click.option("--q", "text", default="", help="按名称或编码查找 / search name or code")
@json_flag
@pass_context
def list_(obj: Context, text: str) -> None:
    """列出事项 / list the catalog items."""
    cat = current_catalog(obj.station())
    items = cat.search(text)
    obj.out.emit(
        {"version": cat.version, "issued_by": cat.issued_by,
         "items": [item_to_dict(i) for i in items]},
        lambda: f"事项目录 {cat.version}（{cat.issued_by}）\n" + table(
            [[i.code, i.name, i.case_type.label, i.promised_limit.label,
              "可代办" if i.proxy_allowed else "不可代办"] for i in items],
            ["编码", "事项名称", "办件类型", "承诺时限", "代办"]))
