"""Finding, reading and checking the document templates.

A station prints with the templates its county published (``template.published`` entries,
projected into ``published_template``) where there is one, and otherwise with the folder's:
``$STATION_TEMPLATES`` or the bundled ``templates/``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from station_app.domain.documents import DocKind
from station_app.domain.publications import check_template_text
from station_app.domain.templates import Template
from station_app.errors import TemplateMissing
from station_app.services.station import Station
from station_app.store.publications import published_templates as _stored_templates

BUNDLED = Path(__file__).resolve().parent.parent.parent / "templates"


def templates_dir() -> Path:
    """``$STATION_TEMPLATES`` if set, else the templates shipped with the program."""
    return Path(os.environ.get("STATION_TEMPLATES") or BUNDLED)


@dataclass(frozen=True, slots=True)
class TemplateSet:
    header: Template
    body: Template
    footer: Template
    sha256: str  # of the three files' bytes, recorded with every issued document
    publication: int | None = None  # the county publication any of the three came from

    @property
    def parts(self) -> tuple[Template, Template, Template]:
        return (self.header, self.body, self.footer)

    def versions(self) -> dict[str, str | int]:
        found: dict[str, str | int] = {"header": self.header.version, "body": self.body.version,
                                       "footer": self.footer.version, "sha256": self.sha256}
        if self.publication is not None:
            found["publication"] = self.publication
        return found


@dataclass(frozen=True, slots=True)
class PublishedTemplates:
    """The templates the county published to this station (a subset of the names)."""

    publication: int
    files: Mapping[str, bytes]  # name (receipt, _header …) → TOML bytes


def published_templates(station: Station) -> PublishedTemplates | None:
    rows = _stored_templates(station.db)
    if not rows:
        return None
    return PublishedTemplates(rows[0].publication, {r.name: r.toml.encode() for r in rows})


def load_templates(kind: DocKind, folder: Path | None = None,
                   published: PublishedTemplates | None = None) -> TemplateSet:
    """The header, the kind's own template and the footer, each checked before use; a
    published one is taken before the folder's."""
    folder = folder or templates_dir()
    digest = hashlib.sha256()
    parts, from_county = [], False
    for name in ("_header", kind.value, "_footer"):
        if published is not None and name in published.files:
            raw, from_county = published.files[name], True
        else:
            raw = _read(folder, name)
        digest.update(raw)
        parts.append(check_template_text(name, raw))
    return TemplateSet(parts[0], parts[1], parts[2], digest.hexdigest(),
                       published.publication if published is not None and from_county
                       else None)


def check_all(folder: Path | None = None,
              published: PublishedTemplates | None = None) -> dict[str, str]:
    """Check every template (what an officer runs after editing); returns kind → version."""
    return {kind.value: load_templates(kind, folder, published).body.version
            for kind in DocKind}


def templates_origin(station: Station) -> str:
    """Where this station's templates come from, in words for the settings page."""
    published = published_templates(station)
    if published is None:
        return f"模板目录：{templates_dir()}"
    names = "、".join(sorted(published.files))
    return f"县级发布第 {published.publication} 版（{names}），其余取自模板目录：{templates_dir()}"


def _read(folder: Path, name: str) -> bytes:
    try:
        return (folder / f"{name}.toml").read_bytes()
    except FileNotFoundError:
        raise TemplateMissing(field="kind", value=f"{name}.toml", path=str(folder)) from None

