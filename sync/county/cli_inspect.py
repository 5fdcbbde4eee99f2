"""``county inspect``, ``county spotcheck checklist|result``, ``county notices`` and
``county notices decide``: what the county's inspectors found, sent down to the stations as
notices (整改通知 when an item failed), and the county's decision on a disputed one.
Registered by ``sync.county.cli_audit``.

Items come as ``--item NAME=ok|fail[:说明]`` (repeatable) or from a JSON file
(``--file``: ``{"station", "date"/"month", "case", "items": {NAME: "ok"|"fail"},
"notes": {NAME: text}, "note", "inspector"}``; options given on the command line win).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from station_app.domain.audit.rectification import Notice
from station_app.errors import FileInvalid, InvalidInput, MissingField
from sync.county.audit import load_thresholds
from sync.county.cli import Context, _table, json_flag, pass_context
from sync.county.rectify import (
    Decided,
    Recorded,
    decide,
    notice_statuses,
    record_inspection,
    record_spot_result,
    spot_checklist,
)

ITEM_HELP = "项目=ok|fail[:说明]，可重复 / NAME=ok|fail[:note], repeatable"


def register(cli: click.Group, spotcheck: click.Group) -> None:
    cli.add_command(inspect)
    cli.add_command(notices_command)
    spotcheck.add_command(checklist)
    spotcheck.add_command(result)


def _file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileInvalid(where=str(path), reason="：文件不存在") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileInvalid(where=f"{path.name}：", reason=f"不是有效的 JSON（{exc}）") from None
    if not isinstance(raw, dict) or not all(
            isinstance(raw.get(k, {}), dict) for k in ("items", "notes")):
        raise FileInvalid(where=f"{path.name}：",
                          reason="应为对象，items 和 notes 为“名称: 文本”的键值表")
    return raw


def _items(specs: tuple[str, ...], given: dict[str, Any]) -> tuple[dict[str, str],
                                                                   dict[str, str]]:
    items = {str(k): str(v) for k, v in given.get("items", {}).items()}
    notes = {str(k): str(v) for k, v in given.get("notes", {}).items()}
    for spec in specs:
        key, sep, rest = spec.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise InvalidInput(field="item", label="--item", reason=f"“{spec}”应写成 项目=ok|fail")
        value, _, note = rest.replace("：", ":").partition(":")
        items[key.strip()] = value.strip()
        if note.strip():
            notes[key.strip()] = note.strip()
    return items, notes


def _pick(option: str | None, given: dict[str, Any], key: str, label: str) -> str:
    value = option if option is not None else given.get(key)
    if value is None or not str(value).strip():
        raise MissingField(field=key, label=label)
    return str(value).strip()


def _file_option(func: Any) -> Any:
    return click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path),
                        help="从 JSON 文件读取 / read the result from a JSON file")(func)


@click.command("inspect")
@click.option("--station", help="站点编码 / station code")
@click.option("--date", "day", help="检查日期 YYYY-MM-DD / inspection day")
@click.option("--item", "item_specs", multiple=True, metavar="项目=ok|fail[:说明]",
              help="七有项目（名称或代码）" + ITEM_HELP)
@click.option("--note", default=None, help="总体说明 / overall note")
@click.option("--inspector", default=None, help="检查人 / who inspected")
@_file_option
@json_flag
@pass_context
def inspect(obj: Context, station: str | None, day: str | None, item_specs: tuple[str, ...],
            note: str | None, inspector: str | None, file: Path | None) -> None:
    """记录七有现场检查，不合格项下发整改通知 / record a 七有 inspection; failed items
    become a rectification notice sent to the station."""
    given = _file(file)
    items, item_notes = _items(item_specs, given)
    made = record_inspection(
        obj.county(), station=_pick(station, given, "station", "站点编码（--station）"),
        day=_pick(day, given, "date", "检查日期（--date）"), items=items, notes=item_notes,
        note=str(note if note is not None else given.get("note", "")),
        inspector=str(inspector if inspector is not None else given.get("inspector", "")),
        thresholds=load_thresholds(obj.data))
    obj.emit({"ok": True, **made.to_dict()}, lambda: _recorded_text(made))


@click.command("checklist")
@click.option("--month", required=True, help="抽查月份 YYYY-MM / month of the draw")
@click.option("--station", required=True, help="站点编码 / station code")
@click.option("--case", "case_no", required=True, help="办件编号 / the drawn case")
@json_flag
@pass_context
def checklist(obj: Context, month: str, station: str, case_no: str) -> None:
    """调阅核查表（按已同步账本预填）/ a drawn case's checklist, pre-filled from the log."""
    answers = spot_checklist(obj.county(), obj.data, month=month, station=station,
                             case_no=case_no)
    obj.emit({"ok": True, "case": case_no, "items": [a.to_dict() for a in answers]},
             lambda: _table([[a.code, a.label, _system(a.system), a.detail] for a in answers],
                            ["代码", "核查项", "系统判断", "依据"]))


@click.command("result")
@click.option("--month", default=None, help="抽查月份 YYYY-MM / month of the draw")
@click.option("--station", default=None, help="站点编码 / station code")
@click.option("--case", "case_no", default=None, help="办件编号 / the drawn case")
@click.option("--item", "item_specs", multiple=True, metavar="代码=ok|missing[:说明]",
              help="核查项（materials_archived 必填，其余按账本预填，可改判）" + ITEM_HELP)
@click.option("--note", default=None, help="总体说明 / overall note")
@click.option("--inspector", default=None, help="核查人 / who checked")
@_file_option
@json_flag
@pass_context
def result(obj: Context, month: str | None, station: str | None, case_no: str | None,
           item_specs: tuple[str, ...], note: str | None, inspector: str | None,
           file: Path | None) -> None:
    """记录调阅办件的核查结果，不合格项下发整改通知 / record a drawn case's checklist."""
    given = _file(file)
    items, item_notes = _items(item_specs, given)
    made = record_spot_result(
        obj.county(), obj.data, month=_pick(month, given, "month", "抽查月份（--month）"),
        station=_pick(station, given, "station", "站点编码（--station）"),
        case_no=_pick(case_no, given, "case", "办件编号（--case）"), items=items,
        notes=item_notes, note=str(note if note is not None else given.get("note", "")),
        inspector=str(inspector if inspector is not None else given.get("inspector", "")),
        thresholds=load_thresholds(obj.data))
    obj.emit({"ok": True, **made.to_dict()}, lambda: _recorded_text(made))


@click.group("notices", invoke_without_command=True)
@click.option("--station", default=None, help="只看这个站点 / one station code only")
@json_flag
@pass_context
def notices_command(obj: Context, station: str | None) -> None:
    """已下发的检查结果与整改通知及其状态 / the notices sent and where each stands."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    county = obj.county()
    with county.db.read() as tx:
        rows = notice_statuses(tx, station, county.now())
    obj.emit({"ok": True, "notices": [{**s.notice.to_dict(), **s.to_dict()} for s in rows]},
             lambda: _table([[s.notice.notice, s.notice.station, s.notice.source.label,
                              s.notice.subject, str(s.notice.deadline or "—"),
                              "是" if s.delivered_idx is not None else "否", _STATE[s.state]]
                             for s in rows],
                            ["通知编号", "站点", "来源", "对象", "整改期限", "已送达", "状态"])
             if rows else "还没有下发通知 / no notice issued yet")


_STATE = {"info": "结果告知", "open": "待整改", "overdue": "超期", "closed": "已整改",
          "disputed": "有异议", "withdrawn": "已撤销", "upheld": "维持整改（待送达）"}


@notices_command.command("decide")
@click.argument("notice_no")
@click.option("--uphold", is_flag=True, help="维持整改要求 / uphold the notice")
@click.option("--withdraw", is_flag=True, help="撤销通知 / withdraw the notice")
@click.option("--note", default=None, help="复核意见（必填）/ the decision's reasons")
@click.option("--due", default=None, help="新的整改期限 YYYY-MM-DD / new deadline")
@click.option("--days", type=int, default=None,
              help="新的整改期限：今天起第 N 个工作日 / new deadline in working days")
@json_flag
@pass_context
def decide_command(obj: Context, notice_no: str, uphold: bool, withdraw: bool,
                   note: str | None, due: str | None, days: int | None) -> None:
    """对有异议的整改通知作出复核决定 / decide on a disputed notice (uphold or withdraw)."""
    if uphold == withdraw:
        raise InvalidInput(field="decision", label="复核决定",
                           reason="须选择 --uphold（维持）或 --withdraw（撤销）之一")
    made = decide(obj.county(), notice_no, uphold=uphold, note=note or "", due=due,
                  days=days, thresholds=load_thresholds(obj.data))
    obj.emit({"ok": True, **made.to_dict()}, lambda: _decided_text(made))


def _decided_text(made: Decided) -> str:
    d = made.decision
    line = f"整改通知 {d.notice}：{d.label}，复核决定已排队发往站点 {made.station}"
    if d.deadline:
        line += f"\n新的整改期限：{d.deadline}" + ("（估算：县级未发布该年放假安排）"
                                                  if made.estimated else "")
    return line


def _system(value: bool | None) -> str:
    return "需人工核对" if value is None else ("符合" if value else "不符合")


def _recorded_text(made: Recorded) -> str:
    n: Notice = made.notice
    lines = [f"已记录{n.source.label}（{n.subject}），通知 {n.notice} 已排队发往站点 {n.station}"]
    lines += [f"  {'✓' if r.ok else '✗'} {r.label}" + (f"：{r.note}" if r.note else "")
              for r in n.results]
    if n.deadline:
        lines.append(f"整改期限：{n.deadline}" + ("（估算：县级未发布该年放假安排）"
                                                  if made.estimated else ""))
    else:
        lines.append("全部合格，无需整改")
    return "\n".join(lines)
