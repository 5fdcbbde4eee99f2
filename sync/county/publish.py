"""Publishing to the stations from the files a county officer edits (docs/sync.md, Download).

``publish_file`` reads one file (or, for templates, a folder), checks it with the very parsers
the stations use, and publishes it as the collection's next signed version. Anything doubtful
is refused with the file and field named, in Chinese and English, and nothing is published.
The revocation list is not a file: the county builds it from its own records, and republishes
it by itself whenever a station key is revoked (``County.revoke``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from station_app.domain.badreview import parse_settings_content
from station_app.domain.calendar_file import parse_calendar_file
from station_app.domain.catalog import parse_catalog
from station_app.domain.publications import (
    calendar_content,
    catalog_content,
    templates_content,
)
from station_app.domain.versions import parse_app_requirement
from station_app.errors import CatalogFileInvalid, FileInvalid, InvalidInput
from sync.county.service import COLLECTIONS, DEFAULT_DAYS, MAX_DAYS, County

MAX_FILE_BYTES = 5 * 1024 * 1024  # the largest real catalog is well under 1 MB
GENERATED = ("", "-")  # what stands for "no file" where the county builds the content


def publish_file(county: County, collection: str, path: Path | str | None, *,
                 days: int = DEFAULT_DAYS) -> dict[str, Any]:
    """Check ``path`` and publish it as the next version of ``collection``; a summary."""
    if collection not in COLLECTIONS:
        raise InvalidInput(field="collection", label="发布类别",
                           reason=f"“{collection}”不是 {'、'.join(COLLECTIONS)} 之一")
    _check_days(days)
    if collection == "revocations":
        if path is not None and str(path) not in GENERATED:
            raise InvalidInput(field="file", label="文件",
                               reason="吊销名单由县级根据已吊销的站点自动生成，不从文件发布；"
                                      "重新发布（延长有效期）时文件写“-”")
        signed = county.publish_revocations(days=days)
        return summary(signed)
    if path is None or str(path) in GENERATED:
        raise InvalidInput(field="file", label="文件", reason="请给出要发布的文件")
    content = read_content(collection, Path(path))
    return summary(county.publish(collection, content, days=days))


def read_content(collection: str, path: Path) -> dict[str, Any]:
    """The publication content of ``path``, checked as the stations will check it."""
    if collection == "templates":
        return templates_content(_template_files(path))
    raw = _read(path)
    if collection == "catalog":
        return catalog_content(parse_catalog(_json(raw)))
    if collection == "app":  # {"min_version": "0.2.0", "notice": "…"} (docs/upgrades.md)
        try:
            return parse_app_requirement(_json(raw)).to_content()
        except CatalogFileInvalid as exc:  # the JSON itself: not a catalog's problem
            raise FileInvalid(where=f"“{path}”", reason=f"：{exc.params['reason']}") from None
    if collection == "badreview":  # {"verify_wd": 1, "rectify_wd": 5, … } (docs/sync.md)
        try:
            return parse_settings_content(_json(raw)).to_body()
        except CatalogFileInvalid as exc:  # the JSON itself: not a catalog's problem
            raise FileInvalid(where=f"“{path}”", reason=f"：{exc.params['reason']}") from None
    return calendar_content(parse_calendar_file(raw, path.name))


def summary(signed: dict[str, Any]) -> dict[str, Any]:
    """What the officer is told: which version went out, until when, and what it holds."""
    doc = signed["doc"]
    zh, en = _describe(doc["collection"], doc["content"])
    return {"collection": doc["collection"], "version": doc["version"],
            "issued": doc["issued"], "expires": doc["expires"], "summary": zh,
            "summary_en": en}


def _describe(collection: str, content: Any) -> tuple[str, str]:
    if collection == "catalog":
        n = len(content["items"])
        return (f"事项目录 {content['version']}，共 {n} 项",
                f"catalog {content['version']}, {n} items")
    if collection == "calendar":
        years = "、".join(str(y["year"]) for y in content["years"])
        return f"节假日安排：{years} 年", f"holiday calendar for {years.replace('、', ', ')}"
    if collection == "app":
        notice = f"（{content['notice']}）" if content["notice"] else ""
        return (f"最低版本要求：{content['min_version']}{notice}",
                f"minimum program version {content['min_version']}")
    if collection == "templates":
        names = ", ".join(f"{t['name']} {t['version']}" for t in content["templates"])
        return f"文书模板：{names}", f"document templates: {names}"
    if collection == "badreview":
        reasons = "、".join(content["reasons"])
        return (f"差评整改期限：核实 {content['verify_wd']}、整改反馈 {content['rectify_wd']}、"
                f"回访 {content['revisit_wd']} 个工作日；差评原因选项：{reasons}",
                f"bad-review limits: verify {content['verify_wd']}, rectify "
                f"{content['rectify_wd']}, revisit {content['revisit_wd']} working days; "
                f"{len(content['reasons'])} reason options")
    n = len(content["revoked"])
    return f"吊销名单，共 {n} 个站点密钥", f"revocation list, {n} station keys"


def _check_days(days: int) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(field="days", label="有效天数", reason=f"应为 1–{MAX_DAYS} 的整数")


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise FileInvalid(where=f"“{path}”", reason="超过 5 MB，不像要发布的文件")
        return path.read_bytes()
    except FileNotFoundError:
        raise FileInvalid(where=f"“{path}”", reason="找不到该文件") from None
    except IsADirectoryError:
        raise FileInvalid(where=f"“{path}”", reason="这是文件夹，应为文件") from None
    except OSError as exc:
        raise FileInvalid(where=f"“{path}”", reason=f"无法读取（{exc.strerror}）") from None


def _json(raw: bytes) -> Any:
    """As the station's catalog import reads it: UTF-8 (a BOM is fine), JSON, place named."""
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise CatalogFileInvalid(where="文件", reason="不是 UTF-8 编码的文本") from None
    except json.JSONDecodeError as exc:
        raise CatalogFileInvalid(where=f"第 {exc.lineno} 行第 {exc.colno} 列",
                                 reason=f"不是有效的 JSON（{exc.msg}）") from None


def _template_files(path: Path) -> dict[str, bytes]:
    """Every ``*.toml`` of a folder (other files, such as a README, are left out), or one
    ``.toml`` file."""
    if not path.exists():
        raise FileInvalid(where=f"“{path}”", reason="找不到该文件或文件夹")
    if path.is_dir():
        files = sorted(path.glob("*.toml"))
        if not files:
            raise FileInvalid(where=f"“{path}”", reason="文件夹中没有 .toml 文书模板")
    elif path.suffix == ".toml":
        files = [path]
    else:
        raise FileInvalid(where=f"“{path}”", reason="应为文书模板文件夹或 .toml 文件")
    return {f.stem: _read(f) for f in files}
