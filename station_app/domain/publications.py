"""What a county publication carries, per collection, and how both ends check it.

The county builds the ``content`` of a publication from the files an officer edits (a
``vss-catalog/1`` file, a holiday file, a folder of templates) or from its own records (the
revoked station keys); the station reads the same content back before applying it. Both
sides run the same strict parsers, so a template the county accepted is one every station can
render, and a station never adopts content it could not use even if the county signed it.

Content shapes (all canonical JSON, no floats):

* ``catalog``: the ``vss-catalog/1`` document itself (``catalog_to_dict``);
* ``calendar``: the ``vss-holidays/1`` JSON file format (``calendar_years_to_json``);
* ``templates``: ``{"templates": [{"name", "version", "toml"}]}`` sorted by name, the TOML
  text exactly as the officer wrote it;
* ``revocations``: ``{"revoked": [{"origin", "station", "revoked_at", "size", "reason"}]}``.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from station_app.domain.calendar import CalendarYear
from station_app.domain.calendar_file import calendar_years_to_json, parse_calendar_file
from station_app.domain.catalog import Catalog, catalog_to_dict, parse_catalog
from station_app.domain.documents import DocKind, context_schema
from station_app.domain.templates import Template, check_template
from station_app.errors import FileInvalid, TemplateInvalid

SHARED_TEMPLATES = ("_header", "_footer")
TEMPLATE_NAMES = (*SHARED_TEMPLATES, *(kind.value for kind in DocKind))
MAX_TEMPLATE_BYTES = 256 * 1024  # the shipped ones are 0.3–2 KB


# ---------------------------------------------------------------------------- templates


@dataclass(frozen=True, slots=True)
class PublishedTemplate:
    name: str  # a document kind, or _header / _footer
    version: str
    toml: str


def check_template_text(name: str, raw: bytes) -> Template:
    """One template file's bytes, parsed and checked against what its kind can print."""
    where = f"{name}.toml"
    if name not in TEMPLATE_NAMES:
        raise TemplateInvalid(where=where,
                              reason=f"不是已知的文书模板（可用：{'、'.join(TEMPLATE_NAMES)}）")
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise TemplateInvalid(where=where, reason="文件过大（超过 256 KB），不像文书模板")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise TemplateInvalid(where=where, reason="不是 UTF-8 编码的文本") from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateInvalid(where=where, reason=f"TOML 格式错误：{exc}") from None
    kind = None if name in SHARED_TEMPLATES else DocKind(name)
    return check_template(name, data, context_schema(kind))


def templates_content(files: Mapping[str, bytes]) -> dict[str, Any]:
    """The content of a templates publication: every file checked, in name order."""
    if not files:
        raise FileInvalid(where="", reason="没有任何 .toml 文书模板")
    out = []
    for name in sorted(files):
        template = check_template_text(name, files[name])
        out.append({"name": name, "version": template.version,
                    "toml": files[name].decode("utf-8")})
    return {"templates": out}


def parse_templates_content(content: Any) -> list[PublishedTemplate]:
    rows = _rows(content, "templates", {"name", "version", "toml"})
    names = [r["name"] for r in rows]
    if not rows or len(set(names)) != len(names):
        raise TemplateInvalid(where="templates", reason="模板为空或名称重复")
    out = []
    for row in rows:
        if not isinstance(row["toml"], str) or not isinstance(row["name"], str):
            raise TemplateInvalid(where="templates", reason="模板内容应为文字")
        template = check_template_text(row["name"], row["toml"].encode("utf-8"))
        if template.version != row["version"]:
            raise TemplateInvalid(where=f"{row['name']}.toml version",
                                  reason="与发布清单中的版本不一致")
        out.append(PublishedTemplate(row["name"], template.version, row["toml"]))
    return out


# ---------------------------------------------------------------------------- revocations


@dataclass(frozen=True, slots=True)
class Revocation:
    origin: str  # the revoked log (station key)
    station: str  # its station code
    revoked_at: str  # the county's time of revocation
    size: int  # entries received before it: those stay valid
    reason: str


def revocations_content(revoked: Iterable[Revocation]) -> dict[str, Any]:
    return {"revoked": [{"origin": r.origin, "station": r.station, "revoked_at": r.revoked_at,
                         "size": r.size, "reason": r.reason}
                        for r in sorted(revoked, key=lambda r: r.origin)]}


def parse_revocations(content: Any) -> list[Revocation]:
    rows = _rows(content, "revoked", {"origin", "station", "revoked_at", "size", "reason"})
    out = []
    for row in rows:
        texts = [row[k] for k in ("origin", "station", "revoked_at", "reason")]
        size = row["size"]
        if not all(isinstance(t, str) for t in texts) or isinstance(size, bool) \
                or not isinstance(size, int) or size < 0:
            raise FileInvalid(where="revoked", reason="吊销记录的字段类型不对")
        out.append(Revocation(row["origin"], row["station"], row["revoked_at"], size,
                              row["reason"]))
    return out


# ---------------------------------------------------------------------- catalog, calendar


def calendar_content(years: Iterable[CalendarYear]) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(calendar_years_to_json(years))
    return content


def parse_calendar_content(content: Any) -> list[CalendarYear]:
    raw = json.dumps(content, ensure_ascii=False).encode("utf-8")
    return parse_calendar_file(raw, "calendar.json")


def catalog_content(catalog: Catalog) -> dict[str, Any]:
    return catalog_to_dict(catalog)


def parse_catalog_content(content: Any) -> Catalog:
    return parse_catalog(content)


def _rows(content: Any, key: str, fields: set[str]) -> list[dict[str, Any]]:
    if not isinstance(content, dict) or set(content) != {key} \
            or not isinstance(content[key], list):
        raise FileInvalid(where=key, reason="发布内容的格式不对")
    rows = content[key]
    if not all(isinstance(r, dict) and set(r) == fields for r in rows):
        raise FileInvalid(where=key, reason="发布内容的字段不对")
    return rows
