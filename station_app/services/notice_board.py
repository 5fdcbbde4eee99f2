"""The 公示栏 poster kept current (docs/notice-board.md).

When what the poster shows changes — an agent registered or stopped, the published items,
the station's details, the catalog — the poster is rendered anew (PDF, through the document
renderer), saved in the data folder and recorded: a ``doc.issued`` entry for the document
and a ``notice.regenerated`` entry with the version, the PDF's SHA-256 and what changed. So
the current poster is always ready to print, and the log holds what was posted when. Until
a person prints (or saves) the new version the app says 公示栏已更新，请打印张贴.

Regeneration runs after each change made from 设置 or the command line, and as a catch-up
whenever 设置 or an administrator's 首页 is shown (a catalog published by the county arrives
through the sync, which renders nothing).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from station_app.domain.notice_board import ITEMS_SET, describe, items_body
from station_app.services.catalog import current_catalog
from station_app.services.documents import Issued, poster_outdated, save_notice_board
from station_app.services.station import Station


class BoardState(StrEnum):
    NEVER = "never"  # no poster made yet: print the first one from 设置
    TO_PRINT = "to-print"  # a new version is ready and nobody printed it yet
    OUTDATED = "outdated"  # what is published changed and no version shows it yet
    CURRENT = "current"  # the newest version is on the wall

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    BoardState.NEVER: "公示栏尚未打印",
    BoardState.TO_PRINT: "公示栏已更新，请打印张贴",
    BoardState.OUTDATED: "公示栏内容已变更（代办员、事项或站点信息），请重新打印并张贴",
    BoardState.CURRENT: "墙上的公示栏与当前公示内容一致",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PosterVersion:
    version: int
    at: str
    origin: str  # "issued" (printed or saved by a person) or "regenerated"
    doc_id: str
    doc_no: str
    pdf_sha256: str
    file: str
    changed: dict[str, Any]

    @property
    def change_text(self) -> str:
        return describe(self.changed)


def refresh_notice_board(station: Station) -> Issued | None:
    """Render the poster anew if what it shows changed; the new document, or None."""
    with station.transaction() as tx:
        return save_notice_board(tx)


def set_published_items(station: Station, codes: Sequence[str] | None, *,
                        reason: str = "") -> Issued | None:
    """Choose the 可代办事项 the poster lists (None: all); the poster follows in the same
    transaction. Returns the regenerated poster, if there is one."""
    body = items_body(codes, current_catalog(station).proxy_items(), reason)
    with station.transaction() as tx:
        tx.append(ITEMS_SET, body)
        return save_notice_board(tx)


def board_state(station: Station) -> BoardState:
    latest = _latest_row(station)
    outdated = poster_outdated(station)
    if outdated is None:
        return BoardState.NEVER
    if outdated:
        return BoardState.OUTDATED
    if latest is not None and latest["origin"] == "regenerated" and not _printed_since(
            station, latest["doc_id"], latest["idx"]):
        return BoardState.TO_PRINT
    return BoardState.CURRENT


def poster_versions(station: Station) -> list[PosterVersion]:
    rows = station.db.execute(
        "SELECT version, at, origin, doc_id, doc_no, pdf_sha256, file, changed"
        " FROM notice_board_version ORDER BY version").fetchall()
    return [PosterVersion(version=r[0], at=r[1], origin=r[2], doc_id=r[3], doc_no=r[4],
                          pdf_sha256=r[5], file=r[6], changed=json.loads(r[7])) for r in rows]


def current_poster_file(station: Station) -> Path | None:
    """The newest version's PDF in the data folder (None if there is none, or it is gone)."""
    latest = _latest_row(station)
    if latest is None:
        return None
    year = station.db.execute("SELECT issued_on FROM document WHERE doc_id = ?",
                              [latest["doc_id"]]).fetchone()
    path = station.folder / "documents" / str(year[0])[:4] / latest["file"] if year else None
    return path if path is not None and path.is_file() else None


def _latest_row(station: Station) -> dict[str, Any] | None:
    row = station.db.execute("SELECT origin, doc_id, idx, file FROM notice_board_version"
                             " ORDER BY version DESC LIMIT 1").fetchone()
    return None if row is None else {"origin": row[0], "doc_id": row[1], "idx": row[2],
                                     "file": row[3]}


def _printed_since(station: Station, doc_id: str, idx: int) -> bool:
    return station.db.execute("SELECT 1 FROM document_copy WHERE doc_id = ? AND idx > ?",
                              [doc_id, idx]).fetchone() is not None
