"""七有自查: the station admin's monthly self-check with photo evidence (issue 7 item 3).

Photos are read and re-encoded (``station_app.media``) before the write lock is taken; then
one transaction checks the request, writes each photo not yet in the log as an
``evidence.photo`` entry and the ``sevenhaves.checked`` entry that names them by SHA-256.
Anything refused (a file that is no image, an unknown item, a month already checked without
a reason) raises before the first append, so nothing is written.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from station_app.domain import seven
from station_app.domain.clock import CST, iso, local_day
from station_app.domain.log import decode_entry
from station_app.domain.seven import Photo, SelfCheck, Status
from station_app.errors import MissingField, NotFound, PhotoInvalid, PhotoTooLarge
from station_app.media import MAX_INPUT_BYTES, prepare_photo, thumbnail
from station_app.services.camera import PhotoShot, prepare_shot
from station_app.services.station import Station
from station_app.services.users import user_names


@dataclass(frozen=True, slots=True)
class PhotoFile:
    """A photo chosen from a file for one item."""

    item: str
    path: Path
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredPhoto:
    sha256: str
    idx: int
    width: int
    height: int
    size: int
    taken_at: str | None
    note: str


def record_self_check(station: Station, *, month: str, statuses: Mapping[str, str],
                      notes: Mapping[str, str] | None = None,
                      photos: Sequence[PhotoFile | PhotoShot] = (),
                      reason: str = "") -> SelfCheck:
    """Record the month's self-check. ``statuses``/``notes`` are keyed by item name or code
    (有场所 / SITE); a status by name (达标 / 部分达标 / 不达标) or code (MET …). Photos are
    files or webcam shots (``station_app.services.camera``), prepared alike."""
    now = station.clock.now()
    month = seven.parse_month(month, local_day(now))
    parsed: dict[str, Status] = {seven.parse_item(k).name: seven.parse_status(v)
                                 for k, v in statuses.items()}
    note_of = {seven.parse_item(k).name: v for k, v in (notes or {}).items()}
    prepared = [(seven.parse_item(p.item).name, _photo(p)) for p in photos]
    hashes: dict[str, list[str]] = {}
    for name, photo in prepared:
        hashes.setdefault(name, []).append(photo.sha256)
    with station.transaction() as tx:
        check = seven.build_self_check(
            month=month, statuses=parsed, notes=note_of, photos=hashes,
            checked_by=user_names(station).get(station.actor, station.actor), at=now,
            book=record_book(station, month), earlier=len(_checks(station, month)),
            reason=reason)
        for _name, photo in prepared:
            if get_photo_row(station, photo.sha256) is None:
                tx.append(seven.PHOTO, photo.to_body())
        entry = tx.append(seven.CHECKED, check.to_body())
    return seven.self_check_from_body(entry.body, entry.idx)


def record_book(station: Station, month: str) -> seven.RecordBook:
    """The 有记录簿 figures for ``month`` from the log itself (cases and proxy entries)."""
    rows = station.db.execute(
        "SELECT kind, at, t_wall FROM (SELECT json_extract(CAST(entry AS TEXT), '$.kind') AS"
        " kind, json_extract(CAST(entry AS TEXT), '$.body.at') AS at,"
        " json_extract(CAST(entry AS TEXT), '$.t_wall') AS t_wall FROM ledger)"
        " WHERE kind IN ('case.created', 'proxy.registered')").fetchall()
    return seven.record_book(((r[0], r[1], r[2]) for r in rows), month)


def latest_self_check(station: Station, month: str | None = None) -> SelfCheck | None:
    """The self-check in force for ``month`` (its newest entry), or the newest of any month."""
    sql = "SELECT idx, body FROM seven_check"
    args: list[Any] = []
    if month:
        sql += " WHERE month = ?"
        args.append(month)
    row = station.db.execute(sql + " ORDER BY month DESC, idx DESC LIMIT 1", args).fetchone()
    return None if row is None else seven.self_check_from_body(json.loads(row[1]), row[0])


def self_check_history(station: Station) -> list[SelfCheck]:
    rows = station.db.execute("SELECT idx, body FROM seven_check ORDER BY idx").fetchall()
    return [seven.self_check_from_body(json.loads(b), i) for i, b in rows]


def get_photo_row(station: Station, sha256: str) -> StoredPhoto | None:
    row = station.db.execute(
        "SELECT sha256, idx, width, height, size, taken_at, note FROM evidence_photo"
        " WHERE sha256 = ?", [sha256]).fetchone()
    return None if row is None else StoredPhoto(sha256=row[0], idx=row[1], width=row[2],
                                                height=row[3], size=row[4], taken_at=row[5],
                                                note=row[6])


def photo_bytes(station: Station, sha256: str) -> bytes:
    """The JPEG bytes of a stored evidence photo, read back from its log entry."""
    row = get_photo_row(station, sha256)
    data = None if row is None else station.ledger.entry(row.idx)
    if data is None:
        raise NotFound(field="photo", value=sha256[:12])
    return base64.b64decode(decode_entry(data).body["data"])


def photo_thumbnail(station: Station, sha256: str, side: int = 160) -> bytes:
    return thumbnail(photo_bytes(station, sha256), side)


def check_dict(station: Station, check: SelfCheck) -> dict[str, Any]:
    """Plain data for ``--json`` and the screen."""
    book = check.record_book
    return {
        "month": check.month, "idx": check.idx, "at": check.at, "checked_by": check.checked_by,
        "reason": check.reason,
        "record_book": {**book.to_body(), "same_day_share": book.share},
        "items": [{**i.to_body(), "photos": [_photo_dict(station, h) for h in i.photos]}
                  for i in check.items],
        "not_met": [i.item for i in check.not_met],
        "corrections": len(_checks(station, check.month)) - 1,
    }


def _photo_dict(station: Station, sha256: str) -> dict[str, Any]:
    row = get_photo_row(station, sha256)
    return {"sha256": sha256, "stored": row is not None,
            **({} if row is None else {"idx": row.idx, "width": row.width,
                                       "height": row.height, "bytes": row.size,
                                       "taken_at": row.taken_at})}


def _checks(station: Station, month: str) -> list[int]:
    return [r[0] for r in station.db.execute(
        "SELECT idx FROM seven_check WHERE month = ? ORDER BY idx", [month])]


def check_photo(path: Path) -> Photo:
    """A file checked and re-encoded as it would be written (nothing is written): lets a
    screen refuse a bad file when it is added, not only when the self-check is saved."""
    if not str(path).strip() or str(path) == ".":
        raise MissingField(field="photo", label="照片文件路径")
    return _photo(PhotoFile("", path))


def _photo(p: PhotoFile | PhotoShot) -> Photo:
    try:
        return prepare_shot(p) if isinstance(p, PhotoShot) else _prepared(p)
    except PhotoInvalid as error:
        error.field = error.field or "photo"  # shown next to the file's field on screen
        raise


def _prepared(p: PhotoFile) -> Photo:
    where = str(p.path)
    try:
        if p.path.stat().st_size > MAX_INPUT_BYTES:  # refused before reading it in
            raise PhotoTooLarge(where=where, size_mb=f"{p.path.stat().st_size / 2**20:.1f}",
                                limit_mb=MAX_INPUT_BYTES // 2**20)
        data = p.path.read_bytes()
    except FileNotFoundError:
        raise PhotoInvalid(where=where, reason="文件不存在", reason_en="no such file") from None
    except IsADirectoryError:
        raise PhotoInvalid(where=where, reason="这是一个文件夹", reason_en="a folder") from None
    except OSError as exc:
        raise PhotoInvalid(where=where, reason=f"无法读取（{exc.strerror}）",
                           reason_en=f"cannot read ({exc.strerror})") from None
    ready = prepare_photo(data, where=where)
    taken = None if ready.taken_at is None else iso(ready.taken_at.replace(tzinfo=CST))
    return Photo(sha256=hashlib.sha256(ready.jpeg).hexdigest(), width=ready.width,
                 height=ready.height, data=ready.jpeg, taken_at=taken,
                 note=seven.check_note(p.note, "照片说明"))
