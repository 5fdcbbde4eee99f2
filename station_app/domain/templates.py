"""Document templates: declarative files a county officer can edit, checked before use.

A template is a TOML table (parsed by the caller) with a version, a title, paper choices and a
list of blocks. Text in blocks may contain placeholders ``{group.key}`` filled from the
document's context; list blocks (``table``, ``list``) repeat over a named source with
``{key}`` placeholders for each row. ``check_template`` refuses anything it cannot render and
names the field: a wrong block type, an unknown placeholder, a placeholder the document kind
has no value for. ``fill_document`` turns a checked template plus a context into a
``DocumentSpec`` — resolved text only — that the renderer lays out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from station_app.errors import TemplateInvalid

PAPERS = ("a4", "roll80")
BLOCK_TYPES = ("title", "paragraph", "fields", "table", "list", "signature", "qr", "spacer",
               "rule")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    type: str
    text: str = ""
    size: float = 0.0  # font size in points; 0 means the renderer's default for the block
    align: str = "left"
    rows: tuple[tuple[str, str], ...] = ()  # fields: (label, value)
    source: str = ""  # table/list: the context list to repeat over
    columns: tuple[tuple[str, str, float], ...] = ()  # table: (title, cell, width share)
    item: str = ""  # list: text per entry
    empty: str = ""  # table/list: text when the source is empty
    lines: tuple[str, ...] = ()  # signature lines
    height_mm: float = 0.0  # spacer


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    name: str  # file stem: a document kind, or _header / _footer
    version: str
    title: str = ""
    number_prefix: str = ""
    paper: str = "a4"
    papers: tuple[str, ...] = PAPERS
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextSchema:
    """What a document kind can print: scalar keys per group, and list sources with row keys."""

    groups: Mapping[str, frozenset[str]]
    lists: Mapping[str, frozenset[str]] = field(default_factory=dict)


# --------------------------------------------------------------------------- checking


def check_template(name: str, data: Mapping[str, Any], schema: ContextSchema) -> Template:
    """Validate a parsed template file against what the document kind can print."""
    where = f"{name}.toml"
    known = {"kind", "version", "title", "number_prefix", "paper", "papers", "blocks"}
    _no_unknown(data, known, where)
    version = _text(data, "version", where, required=True)
    if not _VERSION.match(version):
        raise TemplateInvalid(where=f"{where} version",
                              reason="应为字母、数字、点或横线，如 2025.1")
    if "kind" in data and data["kind"] != name:
        raise TemplateInvalid(where=f"{where} kind", reason=f"应为“{name}”，与文件名一致")
    papers = tuple(data.get("papers", PAPERS))
    for i, paper in enumerate(papers):
        if paper not in PAPERS:
            raise TemplateInvalid(where=f"{where} papers[{i}]",
                                  reason=f"应为 {' 或 '.join(PAPERS)}")
    paper = data.get("paper", papers[0] if papers else "a4")
    if paper not in papers:
        raise TemplateInvalid(where=f"{where} paper", reason=f"“{paper}”不在 papers 之中")
    raw_blocks = data.get("blocks", [])
    if not isinstance(raw_blocks, list):
        raise TemplateInvalid(where=f"{where} blocks", reason="应为块的列表（[[blocks]]）")
    blocks = tuple(_block(b, f"{where} blocks[{i}]", schema) for i, b in enumerate(raw_blocks))
    title = _text(data, "title", where)
    _check_text(title, f"{where} title", schema)
    return Template(name=name, version=version, title=title,
                    number_prefix=_text(data, "number_prefix", where), paper=paper,
                    papers=papers, blocks=blocks)


def _block(raw: Any, where: str, schema: ContextSchema) -> Block:
    if not isinstance(raw, Mapping):
        raise TemplateInvalid(where=where, reason="应为一个表（[[blocks]]）")
    kind = raw.get("type")
    if kind not in BLOCK_TYPES:
        raise TemplateInvalid(where=f"{where}.type",
                              reason=f"“{kind}”不是已知的块类型（可选：{'、'.join(BLOCK_TYPES)}）")
    _no_unknown(raw, _BLOCK_KEYS[kind], where)
    return _BLOCK_BUILDERS[kind](raw, where, schema)


_BLOCK_KEYS = {
    "title": {"type", "text", "size", "align"},
    "paragraph": {"type", "text", "size", "align"},
    "fields": {"type", "rows", "size"},
    "table": {"type", "text", "source", "columns", "empty", "size"},
    "list": {"type", "text", "source", "item", "empty", "size"},
    "signature": {"type", "lines", "size"},
    "qr": {"type", "text", "size"},
    "spacer": {"type", "height_mm"},
    "rule": {"type"},
}


def _text_block(raw: Mapping[str, Any], where: str, schema: ContextSchema) -> Block:
    text = _text(raw, "text", where, required=raw["type"] != "qr")
    _check_text(text, f"{where}.text", schema)
    align = raw.get("align", "center" if raw["type"] == "title" else "left")
    if align not in ("left", "center", "right"):
        raise TemplateInvalid(where=f"{where}.align", reason="应为 left、center 或 right")
    return Block(type=raw["type"], text=text, size=_size(raw, where), align=align)


def _fields_block(raw: Mapping[str, Any], where: str, schema: ContextSchema) -> Block:
    rows = raw.get("rows")
    if not isinstance(rows, list) or not rows:
        raise TemplateInvalid(where=f"{where}.rows", reason="应为 [标签, 内容] 的列表，至少一行")
    out = []
    for i, row in enumerate(rows):
        if not (isinstance(row, list) and len(row) == 2 and all(isinstance(c, str) for c in row)):
            raise TemplateInvalid(where=f"{where}.rows[{i}]", reason="应为 [\"标签\", \"内容\"]")
        _check_text(row[0], f"{where}.rows[{i}][0]", schema)
        _check_text(row[1], f"{where}.rows[{i}][1]", schema)
        out.append((row[0], row[1]))
    return Block(type="fields", rows=tuple(out), size=_size(raw, where))


def _table_block(raw: Mapping[str, Any], where: str, schema: ContextSchema) -> Block:
    source = _source(raw, where, schema)
    columns = raw.get("columns")
    if not isinstance(columns, list) or not columns:
        raise TemplateInvalid(where=f"{where}.columns", reason="应为 [标题, 内容, 宽度比例] 的列表")
    cols = []
    for i, col in enumerate(columns):
        ok = (isinstance(col, list) and len(col) == 3 and isinstance(col[0], str)
              and isinstance(col[1], str) and isinstance(col[2], int | float) and col[2] > 0)
        if not ok:
            raise TemplateInvalid(where=f"{where}.columns[{i}]",
                                  reason="应为 [\"标题\", \"{字段}\", 宽度比例]，比例大于 0")
        _check_row_text(col[1], f"{where}.columns[{i}][1]", schema.lists[source])
        cols.append((col[0], col[1], float(col[2])))
    text = _text(raw, "text", where)
    _check_text(text, f"{where}.text", schema)
    return Block(type="table", text=text, source=source, columns=tuple(cols),
                 empty=_text(raw, "empty", where), size=_size(raw, where))


def _list_block(raw: Mapping[str, Any], where: str, schema: ContextSchema) -> Block:
    source = _source(raw, where, schema)
    item = _text(raw, "item", where, required=True)
    _check_row_text(item, f"{where}.item", schema.lists[source])
    text = _text(raw, "text", where)
    _check_text(text, f"{where}.text", schema)
    return Block(type="list", text=text, source=source, item=item,
                 empty=_text(raw, "empty", where), size=_size(raw, where))


def _signature_block(raw: Mapping[str, Any], where: str, schema: ContextSchema) -> Block:
    lines = raw.get("lines")
    if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
        raise TemplateInvalid(where=f"{where}.lines", reason="应为文字行的列表")
    for i, line in enumerate(lines):
        _check_text(line, f"{where}.lines[{i}]", schema)
    return Block(type="signature", lines=tuple(lines), size=_size(raw, where))


def _spacer_block(raw: Mapping[str, Any], where: str, schema: ContextSchema) -> Block:
    height = raw.get("height_mm", 3)
    if not isinstance(height, int | float) or not 0 < height <= 100:
        raise TemplateInvalid(where=f"{where}.height_mm", reason="应为 0–100 之间的毫米数")
    return Block(type="spacer", height_mm=float(height))


def _rule_block(raw: Mapping[str, Any], where: str, schema: ContextSchema) -> Block:
    return Block(type="rule")


_BLOCK_BUILDERS = {
    "title": _text_block, "paragraph": _text_block, "qr": _text_block,
    "fields": _fields_block, "table": _table_block, "list": _list_block,
    "signature": _signature_block, "spacer": _spacer_block, "rule": _rule_block,
}


def _source(raw: Mapping[str, Any], where: str, schema: ContextSchema) -> str:
    source = raw.get("source")
    if source not in schema.lists:
        choices = "、".join(schema.lists) or "（本文书没有可列出的清单）"
        raise TemplateInvalid(where=f"{where}.source", reason=f"“{source}”不可用，可选：{choices}")
    return str(source)


def _no_unknown(data: Mapping[str, Any], known: set[str], where: str) -> None:
    for key in data:
        if key not in known:
            raise TemplateInvalid(where=_at(where, key),
                                  reason=f"不认识的设置项，可用：{'、'.join(sorted(known))}")


def _text(data: Mapping[str, Any], key: str, where: str, required: bool = False) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise TemplateInvalid(where=_at(where, key),
                              reason="应为非空文字" if required else "应为文字")
    return value


def _at(where: str, key: str) -> str:
    """The field path of ``key``: ``receipt.toml version``, ``receipt.toml blocks[2].text``."""
    return f"{where}.{key}" if where.endswith("]") else f"{where} {key}"


def _size(raw: Mapping[str, Any], where: str) -> float:
    size = raw.get("size", 0)
    if not isinstance(size, int | float) or not (size == 0 or 5 <= size <= 40):
        raise TemplateInvalid(where=f"{where}.size", reason="字号应在 5–40 磅之间")
    return float(size)


def _check_text(text: str, where: str, schema: ContextSchema) -> None:
    for name in _placeholders(text, where):
        group, _, key = name.partition(".")
        if group not in schema.groups or key not in schema.groups[group]:
            raise TemplateInvalid(where=where, reason=f"本文书没有可填入的字段“{{{name}}}”")


def _check_row_text(text: str, where: str, keys: frozenset[str]) -> None:
    for name in _placeholders(text, where):
        if name not in keys:
            raise TemplateInvalid(where=where, reason=f"清单中没有字段“{{{name}}}”，"
                                                      f"可用：{'、'.join(sorted(keys))}")


def _placeholders(text: str, where: str) -> list[str]:
    if text.count("{") != text.count("}"):
        raise TemplateInvalid(where=where, reason="花括号不成对")
    return _PLACEHOLDER.findall(text)


# --------------------------------------------------------------------------- filling


@dataclass(frozen=True, slots=True, kw_only=True)
class FilledBlock:
    type: str
    text: str = ""
    size: float = 0.0
    align: str = "left"
    rows: tuple[tuple[str, str], ...] = ()
    headers: tuple[str, ...] = ()
    widths: tuple[float, ...] = ()
    cells: tuple[tuple[str, ...], ...] = ()
    items: tuple[str, ...] = ()
    height_mm: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentSpec:
    """Everything to print, as resolved text: what the renderer lays out and nothing more."""

    title: str
    paper: str
    token: str
    blocks: tuple[FilledBlock, ...]
    subject_line: str = ""  # PDF metadata


Context = Mapping[str, Mapping[str, str]]
Lists = Mapping[str, Sequence[Mapping[str, str]]]


def fill_text(text: str, context: Context) -> str:
    return _PLACEHOLDER.sub(lambda m: _lookup(context, m.group(1)), text)


def _lookup(context: Context, name: str) -> str:
    group, _, key = name.partition(".")
    return str(context.get(group, {}).get(key, ""))


def _fill_row(text: str, row: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: str(row.get(m.group(1), "")), text)


def fill_document(
    parts: Sequence[Template], context: Context, lists: Lists, *, paper: str, token: str,
) -> DocumentSpec:
    """Header, body and footer templates filled in order into one document."""
    blocks: list[FilledBlock] = []
    for template in parts:
        blocks += [_fill_block(b, context, lists) for b in template.blocks]
    body = next(t for t in parts if not t.name.startswith("_"))
    return DocumentSpec(title=fill_text(body.title, context), paper=paper, token=token,
                        blocks=tuple(b for b in blocks if b is not None))


def _fill_block(block: Block, context: Context, lists: Lists) -> FilledBlock:
    fill = lambda text: fill_text(text, context)  # noqa: E731
    if block.type == "fields":
        return FilledBlock(type="fields", size=block.size,
                           rows=tuple((fill(a), fill(b)) for a, b in block.rows))
    if block.type == "table":
        rows = lists.get(block.source, ())
        cells = tuple(tuple(_fill_row(c[1], row) for c in block.columns) for row in rows)
        return FilledBlock(type="table", text=fill(block.text), size=block.size,
                           headers=tuple(c[0] for c in block.columns),
                           widths=tuple(c[2] for c in block.columns), cells=cells,
                           items=(fill(block.empty),) if not rows and block.empty else ())
    if block.type == "list":
        rows = lists.get(block.source, ())
        items = tuple(_fill_row(block.item, row) for row in rows) or \
            ((fill(block.empty),) if block.empty else ())
        return FilledBlock(type="list", text=fill(block.text), size=block.size, items=items)
    if block.type == "signature":
        return FilledBlock(type="signature", size=block.size,
                           items=tuple(fill(line) for line in block.lines))
    return FilledBlock(type=block.type, text=fill(block.text), size=block.size,
                       align=block.align, height_mm=block.height_mm)


def used_fields(templates: Sequence[Template]) -> tuple[frozenset[str], frozenset[str]]:
    """Which ``group.key`` placeholders and which list sources the templates print.

    A document's identity (is this print a reprint?) and the content embedded in its PDF are
    limited to these: what is not on the paper can neither make it a new document nor leak
    through its metadata.
    """
    names: set[str] = set()
    sources: set[str] = set()
    for template in templates:
        texts = [template.title]
        for block in template.blocks:
            texts += [block.text, block.empty, *block.lines]
            texts += [part for row in block.rows for part in row]
            if block.source:
                sources.add(block.source)
        for text in texts:
            names.update(_PLACEHOLDER.findall(text))
    return frozenset(names), frozenset(sources)
