"""七有: the monthly self-check of the "seven haves", its photo evidence and the 记录簿 figures.

The seven items are those the client named (cn_standards.md §6, §10.7; no national text was
found, so they are data here, not law). Each self-check is one ``sevenhaves.checked`` entry
per month; its photos are ``evidence.photo`` entries written in the same transaction and
referenced by the SHA-256 of their bytes, so the county can check every reference against
what it received without trusting the station's word. Statuses and items are stored by their
Chinese names, like evaluation levels: the names are what people and auditors read.

The 有记录簿 item is not a matter of opinion: its figures come from the log itself
(``record_book``): how many cases and proxy entries happened in the month, and how many were
typed in on the day they happened (``body.at`` against the entry's own ``t_wall``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from station_app.domain.clock import iso, local_day, parse_moment
from station_app.errors import InvalidInput, MissingField, SelfCheckExists

CHECKED = "sevenhaves.checked"
PHOTO = "evidence.photo"
PHOTO_MIME = "image/jpeg"
MAX_NOTE = 200
MAX_REASON = 200
MAX_PHOTOS_PER_ITEM = 3
MAX_PHOTOS_PER_CHECK = 12  # ≤ 12 × 150 KB: a month's evidence in a few minutes at 64 kbit/s
RECORD_BOOK = "有记录簿"
RECORD_KINDS = frozenset({"case.created", "proxy.registered"})
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class SevenItem:
    code: str
    name: str
    evidence: str  # what counts as evidence (cn_standards.md §10.7)


ITEMS: tuple[SevenItem, ...] = (
    SevenItem("SITE", "有场所", "场所照片、面积、固定办公位和设备清单"),
    SevenItem("STAFF", "有人员", "代办员名单（至少一名专兼职）、培训记录"),
    SevenItem("ITEMS", "有项目", "公布的代办事项清单（事项目录版本）"),
    SevenItem("SIGN", "有牌子", "统一标识牌照片"),
    SevenItem("RULES", "有制度", "上墙制度清单照片（首问负责、限时办结、一次性告知、无偿代办……）"),
    SevenItem("BOARD", "有公示栏", "公示栏照片和公示内容日期"),
    SevenItem("LEDGER", RECORD_BOOK, "代办台账：本期记录条数、当日即录比例（由账本自动计算）"),
)
ITEM_NAMES = tuple(i.name for i in ITEMS)
_BY_KEY = {**{i.name: i for i in ITEMS}, **{i.code: i for i in ITEMS}}


class Status(StrEnum):
    MET = "达标"
    PARTIAL = "部分达标"
    NOT_MET = "不达标"


_STATUS_KEYS = {**{s.value: s for s in Status}, **{s.name: s for s in Status}}


def parse_item(text: str) -> SevenItem:
    """An item by its name (有场所) or code (SITE)."""
    found = _BY_KEY.get((text or "").strip()) or _BY_KEY.get((text or "").strip().upper())
    if found is None:
        raise InvalidInput(field="item", label="七有项目",
                           reason=f"没有“{text}”，应为 {'、'.join(ITEM_NAMES)} 之一")
    return found


def parse_status(text: str) -> Status:
    found = _STATUS_KEYS.get((text or "").strip()) or _STATUS_KEYS.get((text or "").strip().upper())
    if found is None:
        raise InvalidInput(field="status", label="自查结果",
                           reason=f"“{text}”应为 达标、部分达标 或 不达标")
    return found


def parse_month(text: str, today: date) -> str:
    """``YYYY-MM``, not after the current month (a self-check describes what was seen)."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", (text or "").strip())
    if not m or not 1 <= int(m[2]) <= 12 or int(m[1]) < 2000:
        raise InvalidInput(field="month", label="自查月份", reason=f"“{text}”应为 YYYY-MM")
    month = f"{m[1]}-{m[2]}"
    if month > today.strftime("%Y-%m"):
        raise InvalidInput(field="month", label="自查月份", reason=f"{month} 还没有到")
    return month


def month_days(month: str) -> tuple[date, date]:
    first = date(int(month[:4]), int(month[5:7]), 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


# ------------------------------------------------------------------------ the 记录簿 item


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordBook:
    """The month's cases and proxy entries, and how many were entered on the day."""

    cases: int
    proxies: int
    same_day: int

    @property
    def total(self) -> int:
        return self.cases + self.proxies

    @property
    def share(self) -> float | None:
        """当日即录比例; ``None`` with nothing entered (not 0: nothing to judge)."""
        return None if self.total == 0 else self.same_day / self.total

    def to_body(self) -> dict[str, int]:
        # integers only: canonical JSON has no floats, the share is derived when read
        return {"cases": self.cases, "proxies": self.proxies, "same_day": self.same_day,
                "total": self.total}

    def suggested(self) -> Status:
        """What the figures suggest when the admin gives no status of their own: most entries
        typed in on the day is a kept 记录簿; an empty month is not a failing one."""
        share = self.share
        if share is None or share >= 0.9:
            return Status.MET
        return Status.PARTIAL if share >= 0.6 else Status.NOT_MET


def record_book(entries: Iterable[tuple[str, str, str]], month: str) -> RecordBook:
    """From ``(kind, body.at, t_wall)`` of log entries: the cases and proxy entries that
    happened in ``month`` (by ``body.at``, China time), and those whose entry was written on
    the same day (补录 on a later day counts against the share)."""
    first, last = month_days(month)
    cases = proxies = same = 0
    for kind, at, t_wall in entries:
        if kind not in RECORD_KINDS:
            continue
        happened = local_day(parse_moment(at))
        if not first <= happened <= last:
            continue
        if kind == "case.created":
            cases += 1
        else:
            proxies += 1
        same += local_day(parse_moment(t_wall)) == happened
    return RecordBook(cases=cases, proxies=proxies, same_day=same)


# ------------------------------------------------------------------------ the self-check


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemCheck:
    item: str  # the item's name, e.g. 有场所
    status: Status
    note: str = ""
    photos: tuple[str, ...] = ()  # SHA-256 (hex) of evidence.photo entries

    def to_body(self) -> dict[str, Any]:
        return {"item": self.item, "status": self.status.value, "note": self.note,
                "photos": list(self.photos)}


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfCheck:
    month: str
    items: tuple[ItemCheck, ...]
    checked_by: str
    at: str
    record_book: RecordBook
    reason: str = ""  # why a month already checked is checked again (a correction)
    idx: int = -1  # the log position, once written

    def item(self, name: str) -> ItemCheck:
        return next(i for i in self.items if i.item == name)

    @property
    def not_met(self) -> tuple[ItemCheck, ...]:
        return tuple(i for i in self.items if i.status is not Status.MET)

    @property
    def photos(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(h for i in self.items for h in i.photos))

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"month": self.month, "items": [i.to_body() for i in self.items],
                                "checked_by": self.checked_by, "at": self.at,
                                "record_book": self.record_book.to_body()}
        if self.reason:
            body["reason"] = self.reason
        return body


def check_note(text: str, label: str = "说明") -> str:
    note = " ".join((text or "").split())
    if len(note) > MAX_NOTE:
        raise InvalidInput(field="note", label=label, reason=f"不能超过 {MAX_NOTE} 个字")
    return note


def build_self_check(*, month: str, statuses: Mapping[str, Status],
                     notes: Mapping[str, str], photos: Mapping[str, Sequence[str]],
                     checked_by: str, at: datetime, book: RecordBook,
                     earlier: int, reason: str = "") -> SelfCheck:
    """The month's self-check, every item answered once. ``statuses`` etc. are keyed by item
    name; 有记录簿 may be left out and then takes the status its figures suggest.
    ``earlier`` is how many self-checks the month already has: a second one is a correction
    and needs a reason."""
    missing = [n for n in ITEM_NAMES if n not in statuses and n != RECORD_BOOK]
    if missing:
        raise MissingField(field="items", label=f"自查结果（{'、'.join(missing)}）")
    who = " ".join((checked_by or "").split())
    if not who:
        raise MissingField(field="checked_by", label="自查人")
    why = " ".join((reason or "").split())
    if earlier and not why:
        raise SelfCheckExists(month=month)
    if len(why) > MAX_REASON:
        raise InvalidInput(field="reason", label="更正原因", reason=f"不能超过 {MAX_REASON} 个字")
    total = sum(len(photos.get(n, ())) for n in ITEM_NAMES)
    if total > MAX_PHOTOS_PER_CHECK:
        raise InvalidInput(field="photos", label="照片",
                           reason=f"每次自查最多 {MAX_PHOTOS_PER_CHECK} 张（现有 {total} 张）")
    items = []
    for name in ITEM_NAMES:
        hashes = tuple(dict.fromkeys(photos.get(name, ())))
        if len(hashes) > MAX_PHOTOS_PER_ITEM:
            raise InvalidInput(field="photos", label=f"{name}的照片",
                               reason=f"每项最多 {MAX_PHOTOS_PER_ITEM} 张")
        status = statuses.get(name) or book.suggested()
        items.append(ItemCheck(item=name, status=status,
                               note=check_note(notes.get(name, ""), f"{name}的说明"),
                               photos=hashes))
    return SelfCheck(month=month, items=tuple(items), checked_by=who, at=iso(at),
                     record_book=book, reason=why if earlier else "")


def self_check_from_body(body: Mapping[str, Any], idx: int = -1) -> SelfCheck:
    """Read a ``sevenhaves.checked`` body (raises KeyError/ValueError/TypeError if malformed)."""
    items = tuple(ItemCheck(item=parse_item(str(i["item"])).name,
                            status=parse_status(str(i["status"])), note=str(i.get("note", "")),
                            photos=tuple(str(h) for h in i.get("photos", [])))
                  for i in body["items"])
    rb = body.get("record_book") or {}
    month = str(body["month"])
    month_days(month)  # a malformed month raises here, not later
    return SelfCheck(month=month, items=items, checked_by=str(body["checked_by"]),
                     at=str(body["at"]),
                     record_book=RecordBook(cases=int(rb.get("cases", 0)),
                                            proxies=int(rb.get("proxies", 0)),
                                            same_day=int(rb.get("same_day", 0))),
                     reason=str(body.get("reason", "")), idx=idx)


# ------------------------------------------------------------------------ photo evidence


@dataclass(frozen=True, slots=True, kw_only=True)
class Photo:
    """An evidence photo as it travels in the log: re-encoded JPEG bytes and what they are."""

    sha256: str
    width: int
    height: int
    data: bytes
    taken_at: str | None = None
    note: str = ""
    mime: str = PHOTO_MIME

    def to_body(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "mime": self.mime, "width": self.width,
                "height": self.height, "size": len(self.data),
                "data": base64.b64encode(self.data).decode(), "taken_at": self.taken_at,
                "note": self.note}


def photo_problem(body: Mapping[str, Any]) -> str | None:
    """Why an ``evidence.photo`` body cannot be trusted, or ``None``: its bytes must be a
    JPEG whose SHA-256 is the one it claims (the name every self-check refers to it by)."""
    claimed = body.get("sha256")
    if not isinstance(claimed, str) or not _HEX64.fullmatch(claimed):
        return "照片缺少有效的 SHA-256"
    try:
        data = base64.b64decode(str(body.get("data", "")), validate=True)
    except (binascii.Error, ValueError):
        return "照片内容不是有效的 base64"
    if hashlib.sha256(data).hexdigest() != claimed:
        return "照片内容与其 SHA-256 不符"
    if not data.startswith(b"\xff\xd8\xff"):
        return "照片内容不是 JPEG"
    return None
