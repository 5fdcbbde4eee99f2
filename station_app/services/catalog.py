"""Importing and reading the service-item catalog (事项目录)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from station_app.domain.catalog import Catalog, catalog_to_dict, parse_catalog
from station_app.errors import CatalogFileInvalid
from station_app.services.station import Station, Transaction

MAX_CATALOG_BYTES = 5 * 1024 * 1024


def read_catalog_file(raw: bytes) -> Catalog:
    """Parse a ``vss-catalog/1`` file, refusing anything doubtful with its place named."""
    if len(raw) > MAX_CATALOG_BYTES:
        raise CatalogFileInvalid(where="文件", reason="超过 5 MB，不像事项目录文件")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise CatalogFileInvalid(where="文件", reason="不是 UTF-8 编码的文本") from None
    except json.JSONDecodeError as exc:
        raise CatalogFileInvalid(where=f"第 {exc.lineno} 行第 {exc.colno} 列",
                                 reason=f"不是有效的 JSON（{exc.msg}）") from None
    return parse_catalog(data)


def import_catalog(station: Station, raw: bytes) -> tuple[Catalog, bool]:
    """Record the catalog in the log; returns it and whether anything changed."""
    catalog = read_catalog_file(raw)
    if catalog_to_dict(catalog) == catalog_to_dict(station.projector.catalog()):
        return catalog, False
    with station.transaction() as tx:
        record_catalog(tx, catalog, raw)
    return catalog, True


def record_catalog(tx: Transaction, catalog: Catalog, raw: bytes,
                   publication: dict[str, Any] | None = None) -> None:
    """``publication`` names the county publication the catalog came with, if any."""
    body = {"catalog": catalog_to_dict(catalog), "sha256": hashlib.sha256(raw).hexdigest()}
    if publication is not None:
        body["publication"] = publication
    tx.append("catalog.imported", body)


def current_catalog(station: Station) -> Catalog:
    return station.projector.catalog()
