"""Finding, reading and checking the document templates in ``templates/``."""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from station_app.domain.documents import DocKind, context_schema
from station_app.domain.templates import Template, check_template
from station_app.errors import TemplateInvalid, TemplateMissing

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

    @property
    def parts(self) -> tuple[Template, Template, Template]:
        return (self.header, self.body, self.footer)

    def versions(self) -> dict[str, str]:
        return {"header": self.header.version, "body": self.body.version,
                "footer": self.footer.version, "sha256": self.sha256}


def load_templates(kind: DocKind, folder: Path | None = None) -> TemplateSet:
    """The header, the kind's own template and the footer, each checked before use."""
    folder = folder or templates_dir()
    digest = hashlib.sha256()
    parts = []
    for name, schema_kind in (("_header", None), (kind.value, kind), ("_footer", None)):
        raw = _read(folder, name)
        digest.update(raw)
        parts.append(check_template(name, _parse(name, raw), context_schema(schema_kind)))
    return TemplateSet(parts[0], parts[1], parts[2], digest.hexdigest())


def check_all(folder: Path | None = None) -> dict[str, str]:
    """Check every template (what an officer runs after editing); returns kind → version."""
    return {kind.value: load_templates(kind, folder).body.version for kind in DocKind}


def _read(folder: Path, name: str) -> bytes:
    try:
        return (folder / f"{name}.toml").read_bytes()
    except FileNotFoundError:
        raise TemplateMissing(field="kind", value=f"{name}.toml", path=str(folder)) from None


def _parse(name: str, raw: bytes) -> dict:  # type: ignore[type-arg]
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise TemplateInvalid(where=f"{name}.toml", reason="不是 UTF-8 编码的文本") from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateInvalid(where=f"{name}.toml", reason=f"TOML 格式错误：{exc}") from None
