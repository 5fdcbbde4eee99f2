"""When was each entry really written? Creation windows and the timing flags built on them.

An entry's ``t_wall`` is the station's clock, which anyone at the station can set. Two
things bound it from outside:

* **lower bound** — the entry's ``beacon`` names the newest county receipt the station had
  seen, so the entry was written after that receipt's county time;
* **upper bound** — the first receipt whose size covers the entry (``size > idx``): the
  county had stored the entry by that receipt's county time.

Within one boot the monotonic clock (``t_mono``) cannot be set, so the wall clock moving
back against it shows a clock that was set back, and durations measured on it cannot be
faked by stepping the wall clock forward between entries.

Flags (thresholds from ``AuditThresholds``): BACKDATED / POSTDATED (claimed time outside the
window by more than the clock-skew slack), CLOCK_BACKWARDS / MONO_BACKWARDS, BATCH_ENTRY
(many case/proxy entries written within minutes whose service times ``body.at`` lie far
from when they were written and span days: 体外循环 entered in one sitting), LATE_ENTRY
(补录: ``body.at`` long before ``t_wall``), SYNC_LAG, NO_RECENT_SYNC and CLOCK_SKEW (station
clock against county clock at checkpoints). Only case and proxy entries count for
LATE_ENTRY and BATCH_ENTRY: paper evaluation forms are rightly entered in a batch later.
A lost PC's paper re-entered after a recovery with its reserved number
(``integrity.known_reentries``) is LATE_ENTRY, named as such, never BATCH_ENTRY.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from station_app.domain.audit.findings import Finding, FindingCode, finding
from station_app.domain.audit.integrity import known_reentries, station_of
from station_app.domain.audit.settings import AuditThresholds
from station_app.domain.clock import iso, local_day, parse_moment, to_cst
from station_app.domain.log import LogEntry
from station_app.errors import InvalidDate

SERVICE_KINDS = frozenset({"case.created", "case.moved", "case.visit",
                           "proxy.registered", "proxy.moved"})
_NUMBER_KEYS = ("case_no", "proxy_no", "subject")
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """A county receipt of this station's log: its size, county time and note digest."""

    size: int
    county_time: datetime
    digest: str = ""  # SHA-256 (hex) of the receipt note, as in beacons; "" if not known


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockReading:
    """The station's clock (``X-Station-Time``) and the county's when a checkpoint arrived."""

    station_time: datetime
    county_time: datetime
    size: int | None = None

    @property
    def skew_seconds(self) -> int:
        """Positive when the station clock is ahead of the county's."""
        return int((self.station_time - self.county_time).total_seconds())


@dataclass(frozen=True, slots=True, kw_only=True)
class CreationWindow:
    """When entry ``idx`` must have been written: after ``lower``, before ``upper``."""

    idx: int
    claimed: datetime
    lower: datetime | None
    upper: datetime | None
    beacon_size: int | None
    acknowledged_by: int | None  # size of the first receipt covering the entry

    @property
    def created(self) -> datetime:
        """Best estimate of the real writing time: the claim, clamped into the window."""
        moment = self.claimed
        if self.lower is not None and moment < self.lower:
            moment = self.lower
        if self.upper is not None and moment > self.upper:
            moment = self.upper
        return moment


ReceiptLike = Receipt | tuple[int, datetime]
ReadingLike = ClockReading | tuple[datetime, datetime]


def as_receipts(receipts: Iterable[ReceiptLike]) -> tuple[Receipt, ...]:
    """Receipts (or ``(size, county_time)`` pairs), ordered by size."""
    out = [r if isinstance(r, Receipt) else Receipt(size=r[0], county_time=r[1])
           for r in receipts]
    return tuple(sorted(out, key=lambda r: (r.size, r.county_time)))


def as_readings(readings: Iterable[ReadingLike]) -> tuple[ClockReading, ...]:
    return tuple(r if isinstance(r, ClockReading) else
                 ClockReading(station_time=r[0], county_time=r[1]) for r in readings)


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class _Item:
    entry: LogEntry
    claimed: datetime
    service: datetime | None  # body.at of a case/proxy entry


def _parse_items(station: str, ordered: Sequence[LogEntry]) -> tuple[list[_Item], list[Finding]]:
    items: list[_Item] = []
    bad: list[Finding] = []
    for e in ordered:
        try:
            claimed = parse_moment(e.t_wall, "t_wall")
            at = e.body.get("at") if e.kind in SERVICE_KINDS else None
            service = parse_moment(at, "at") if isinstance(at, str) else None
        except InvalidDate as exc:
            bad.append(finding(station, FindingCode.BAD_TIMESTAMP,
                               f"第 {e.idx} 条记录的时间无法识别：{exc.text}",
                               entries=[e.idx], numbers=[_number(e)],
                               evidence={"t_wall": e.t_wall, "at": str(e.body.get("at"))}))
            continue
        items.append(_Item(e, claimed, service))
    return items, bad


def _number(entry: LogEntry) -> str:
    for key in _NUMBER_KEYS:
        value = entry.body.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


# --------------------------------------------------------------------------- windows


class _Acks:
    """Receipts by size, answering "the first receipt covering entry idx" in O(log n)."""

    def __init__(self, receipts: Sequence[Receipt]) -> None:
        self.by_size = {r.size: r for r in receipts}
        self.sizes = [r.size for r in receipts]
        # earliest county time among receipts of this size or larger (sizes ascending)
        self.first: list[Receipt] = []
        best: Receipt | None = None
        for r in reversed(receipts):
            if best is None or r.county_time <= best.county_time:
                best = r
            self.first.append(best)
        self.first.reverse()

    def covering(self, idx: int) -> Receipt | None:
        pos = bisect.bisect_right(self.sizes, idx)
        return self.first[pos] if pos < len(self.first) else None


def creation_windows(entries: Iterable[LogEntry],
                     receipts: Iterable[ReceiptLike] | None) -> list[CreationWindow]:
    """Each entry's creation window (entries whose ``t_wall`` cannot be read are left out).

    ``receipts`` None means they are not known: bounds then come from beacons alone.
    """
    ordered = sorted(entries, key=lambda e: e.idx)
    items, _ = _parse_items(station_of(ordered), ordered)
    acks = _Acks(as_receipts(receipts or ()))
    return [_window(item, acks, receipts is not None) for item in items]


def _window(item: _Item, acks: _Acks, known: bool) -> CreationWindow:
    e, beacon = item.entry, item.entry.beacon
    lower: datetime | None = None
    if beacon is not None:
        receipt = acks.by_size.get(beacon.size)
        lower = receipt.county_time if receipt is not None else _moment_or_none(beacon.time)
    ack = acks.covering(e.idx) if known else None
    return CreationWindow(idx=e.idx, claimed=item.claimed, lower=lower,
                          upper=ack.county_time if ack else None,
                          beacon_size=beacon.size if beacon else None,
                          acknowledged_by=ack.size if ack else None)


def _moment_or_none(text: str) -> datetime | None:
    try:
        return parse_moment(text)
    except InvalidDate:
        return None


# --------------------------------------------------------------------------- the audit


def audit_timing(
    entries: Iterable[LogEntry], receipts: Iterable[ReceiptLike] | None = None,
    clock_readings: Iterable[ReadingLike] = (), *, thresholds: AuditThresholds,
    now: datetime,
) -> list[Finding]:
    """Every timing flag for one station's entries.

    ``receipts``: every receipt the county issued for this log (None: not known, so beacons
    are not checked and there are no upper bounds or sync lags). ``clock_readings``: station
    and county clocks at each checkpoint. ``now``: the audit's own time (for entries still
    waiting for a receipt and for a station that stopped syncing).
    """
    ordered = sorted(entries, key=lambda e: e.idx)
    station = station_of(ordered)
    items, out = _parse_items(station, ordered)
    known = receipts is not None
    receipt_list = as_receipts(receipts or ())
    acks = _Acks(receipt_list)
    windows = [_window(item, acks, known) for item in items]
    if known:
        out += _beacon_findings(station, items, acks)
    out += _window_findings(station, items, windows, thresholds)
    out += _clock_backwards(station, items, thresholds)
    reentered = known_reentries(ordered)  # a lost PC's paper, re-entered after a recovery
    out += _batch_entries(station, [i for i in items if i.entry.idx not in reentered],
                          thresholds)
    out += _late_entries(station, items, thresholds, reentered)
    if known:
        out += _sync_lags(station, items, windows, thresholds, now)
        out += _no_recent_sync(station, receipt_list, thresholds, now)
    out += _clock_skew(station, as_readings(clock_readings), thresholds)
    return out


def _beacon_findings(station: str, items: Sequence[_Item], acks: _Acks) -> list[Finding]:
    out = []
    for item in items:
        e = item.entry
        problem = _beacon_problem(e, acks)
        if problem:
            out.append(finding(station, FindingCode.BEACON_INVALID,
                               f"第 {e.idx} 条记录引用的县级回执无效：{problem}",
                               entries=[e.idx], numbers=[_number(e)],
                               evidence={"beacon": _beacon_dict(e), "reason": problem}))
    return out


def _beacon_problem(e: LogEntry, acks: _Acks) -> str:
    beacon = e.beacon
    if beacon is None:
        return ""
    if beacon.size > e.idx:
        return f"回执覆盖 {beacon.size} 条记录，不可能早于第 {e.idx} 条记录"
    receipt = acks.by_size.get(beacon.size)
    if receipt is None:
        return f"县级从未签发覆盖 {beacon.size} 条记录的回执"
    if receipt.digest and beacon.digest != receipt.digest:
        return "回执摘要与县级签发的不一致"
    claimed = _moment_or_none(beacon.time)
    if claimed is None or abs((claimed - receipt.county_time).total_seconds()) >= 1:
        return f"回执时间“{beacon.time}”与县级签发时间 {iso(receipt.county_time)} 不一致"
    return ""


def _beacon_dict(e: LogEntry) -> dict[str, object]:
    b = e.beacon
    return {} if b is None else {"size": b.size, "time": b.time, "digest": b.digest}


def _window_findings(station: str, items: Sequence[_Item], windows: Sequence[CreationWindow],
                     thresholds: AuditThresholds) -> list[Finding]:
    slack = timedelta(minutes=thresholds.max_clock_skew_minutes)
    early = [(i, w) for i, w in zip(items, windows, strict=True)
             if w.lower is not None and w.claimed < w.lower - slack]
    late = [(i, w) for i, w in zip(items, windows, strict=True)
            if w.upper is not None and w.claimed > w.upper + slack]
    out = []
    for group in _grouped(early, lambda p: p[1].beacon_size):
        out.append(_outside_window(station, group, FindingCode.BACKDATED))
    for group in _grouped(late, lambda p: p[1].acknowledged_by):
        out.append(_outside_window(station, group, FindingCode.POSTDATED))
    return out


def _outside_window(station: str, group: Sequence[tuple[_Item, CreationWindow]],
                    code: FindingCode) -> Finding:
    windows = [w for _, w in group]
    backdated = code is FindingCode.BACKDATED
    bound = windows[0].lower if backdated else windows[0].upper
    assert bound is not None
    worst = max(abs(int((w.claimed - bound).total_seconds())) for w in windows)
    idxs = [w.idx for w in windows]
    what = "早于本站当时已收到的县级回执时间" if backdated else "晚于县级已确认收到这些记录的时间"
    cause = "站点时钟被调早或记录时间被改动" if backdated else "站点时钟被调快"
    message = (f"{len(idxs)} 条记录（第 {_span(idxs)} 条）的录入时间{what} {_hm(bound)}，"
               f"最多相差 {_duration(worst)}：{cause}")
    return finding(station, code, message, entries=idxs,
                   numbers=[_number(i.entry) for i, _ in group],
                   evidence={"county_time": iso(bound),
                             "receipt_size": windows[0].beacon_size if backdated
                             else windows[0].acknowledged_by,
                             "claimed_first": iso(min(w.claimed for w in windows)),
                             "claimed_last": iso(max(w.claimed for w in windows)),
                             "max_seconds_outside": worst})


def _clock_backwards(station: str, items: Sequence[_Item],
                     thresholds: AuditThresholds) -> list[Finding]:
    """Wall minus monotonic time may only grow within a boot (suspend adds wall time only)."""
    last: dict[str, _Item] = {}
    out = []
    for item in items:
        boot = item.entry.t_mono.boot
        prev = last.get(boot)
        if prev is None or item.entry.t_mono.us >= prev.entry.t_mono.us:
            last[boot] = item  # an impossible reading is reported, not compared against
        if prev is None:
            continue
        mono_s = (item.entry.t_mono.us - prev.entry.t_mono.us) // 1_000_000
        wall_s = int((item.claimed - prev.claimed).total_seconds())
        evidence = {"boot": boot, "previous": prev.entry.idx, "previous_t_wall": prev.entry.t_wall,
                    "t_wall": item.entry.t_wall, "mono_seconds": mono_s, "wall_seconds": wall_s}
        numbers = [_number(prev.entry), _number(item.entry)]
        idxs = [prev.entry.idx, item.entry.idx]
        if item.entry.t_mono.us < prev.entry.t_mono.us:
            out.append(finding(station, FindingCode.MONO_BACKWARDS,
                               f"第 {idxs[1]} 条记录的单调时钟读数小于同一次开机的第 {idxs[0]} 条："
                               "记录不是按时间顺序由本机写入的",
                               entries=idxs, numbers=numbers, evidence=evidence))
        elif mono_s - wall_s > thresholds.clock_backwards_seconds:
            out.append(finding(station, FindingCode.CLOCK_BACKWARDS,
                               f"第 {idxs[0]} 条与第 {idxs[1]} 条记录之间系统时间被往回调了 "
                               f"{_duration(mono_s - wall_s)}（{_hm(prev.claimed)} → "
                               f"{_hm(item.claimed)}，实际经过 {_duration(mono_s)}）",
                               entries=idxs, numbers=numbers,
                               evidence={**evidence, "set_back_seconds": mono_s - wall_s}))
    return out


def _positions(items: Sequence[_Item]) -> list[datetime]:
    """Writing times measured on the monotonic clock from each boot's first entry."""
    anchors: dict[str, _Item] = {}
    out = []
    for item in items:
        anchor = anchors.setdefault(item.entry.t_mono.boot, item)
        elapsed = timedelta(microseconds=item.entry.t_mono.us - anchor.entry.t_mono.us)
        out.append(anchor.claimed + elapsed)
    return out


def _batch_entries(station: str, items: Sequence[_Item],
                   thresholds: AuditThresholds) -> list[Finding]:
    service = [(item, pos) for item, pos in zip(items, _positions(items), strict=True)
               if item.service is not None]
    window = timedelta(minutes=thresholds.burst_window_minutes)
    far = timedelta(hours=thresholds.late_entry_hours)
    marked: set[int] = set()
    for i, (_, start) in enumerate(service):
        j = i
        while j + 1 < len(service) and timedelta(0) <= service[j + 1][1] - start <= window:
            j += 1
        displaced = [k for k in range(i, j + 1)
                     if abs(service[k][1] - _at(service[k][0])) > far]
        if len(displaced) >= thresholds.burst_min_entries and \
                _span_days([_at(service[k][0]) for k in displaced]) >= thresholds.burst_span_days:
            marked.update(displaced)
    runs: list[list[tuple[_Item, datetime]]] = []
    for k in sorted(marked):
        if not runs or service[k][1] - runs[-1][-1][1] > window:
            runs.append([])
        runs[-1].append(service[k])
    return [_batch_finding(station, run, thresholds) for run in runs]


def _at(item: _Item) -> datetime:
    assert item.service is not None
    return item.service


def _span_days(moments: Sequence[datetime]) -> int:
    days = [local_day(m) for m in moments]
    return (max(days) - min(days)).days if days else 0


def _batch_finding(station: str, run: Sequence[tuple[_Item, datetime]],
                   thresholds: AuditThresholds) -> Finding:
    idxs = [item.entry.idx for item, _ in run]
    services = [_at(item) for item, _ in run]
    minutes = int((run[-1][1] - run[0][1]).total_seconds()) // 60
    first, last = min(services), max(services)
    return finding(
        station, FindingCode.BATCH_ENTRY,
        f"{len(idxs)} 条办件/代办记录在 {minutes} 分钟内集中录入（{_hm(run[0][0].claimed)} 起），"
        f"业务日期却分布在 {local_day(first)} 至 {local_day(last)}"
        f"（跨 {_span_days(services)} 天）："
        "疑似事后集中补录（体外循环）",
        entries=idxs, numbers=[_number(item.entry) for item, _ in run],
        evidence={"count": len(idxs), "minutes": minutes, "written_from": iso(run[0][0].claimed),
                  "service_first": iso(first), "service_last": iso(last),
                  "span_days": _span_days(services),
                  "window_minutes": thresholds.burst_window_minutes})


def _late_entries(station: str, items: Sequence[_Item], thresholds: AuditThresholds,
                  reentered: set[int]) -> list[Finding]:
    limit = timedelta(hours=thresholds.late_entry_hours)
    late = [i for i in items if i.service is not None and i.claimed - i.service > limit]
    out = []
    for group in _grouped(late, lambda i: local_day(i.claimed)):
        idxs = [i.entry.idx for i in group]
        worst = max(int((i.claimed - _at(i)).total_seconds()) for i in group)
        day = local_day(group[0].claimed)
        # re-entered with the number a recovery reserved for the lost PC's paper: a known loss
        known = [i.entry.idx for i in group if i.entry.idx in reentered]
        out.append(finding(
            station, FindingCode.LATE_ENTRY,
            f"{day} 补录了 {len(idxs)} 条记录（第 {_span(idxs)} 条），业务发生后最长 "
            f"{_duration(worst)} 才录入（超过 {thresholds.late_entry_hours} 小时）"
            + (f"；其中 {len(known)} 条为换电脑恢复后按纸质编号补录（原电脑未同步部分）"
               if known else ""),
            entries=idxs, numbers=[_number(i.entry) for i in group],
            evidence={"day": day.isoformat(), "count": len(idxs), "max_delay_seconds": worst,
                      "earliest_service": iso(min(_at(i) for i in group)),
                      "reentries_after_loss": known}))
    return out


def _sync_lags(station: str, items: Sequence[_Item], windows: Sequence[CreationWindow],
               thresholds: AuditThresholds, now: datetime) -> list[Finding]:
    limit = timedelta(days=thresholds.max_sync_lag_days)
    lagging = [(i, w) for i, w in zip(items, windows, strict=True)
               if (w.upper or now) - w.created > limit]
    out = []
    for group in _grouped(lagging, lambda p: p[1].acknowledged_by):
        windows_ = [w for _, w in group]
        idxs = [w.idx for w in windows_]
        acked = windows_[0].upper
        worst = max(int(((w.upper or now) - w.created).total_seconds()) for w in windows_)
        where = f"县级于 {_hm(acked)} 才收到" if acked else f"截至 {_hm(now)} 仍未同步到县级"
        out.append(finding(
            station, FindingCode.SYNC_LAG,
            f"{len(idxs)} 条记录（第 {_span(idxs)} 条）录入后{where}，最长间隔 {_duration(worst)}",
            entries=idxs, numbers=[_number(i.entry) for i, _ in group],
            evidence={"receipt_size": windows_[0].acknowledged_by,
                      "county_time": iso(acked) if acked else None,
                      "max_lag_seconds": worst, "pending": acked is None}))
    return out


def _no_recent_sync(station: str, receipts: Sequence[Receipt], thresholds: AuditThresholds,
                    now: datetime) -> list[Finding]:
    if not receipts:
        return []
    latest = max(r.county_time for r in receipts)
    silent = int((now - latest).total_seconds())
    if silent <= thresholds.max_sync_lag_days * 86400:
        return []
    return [finding(station, FindingCode.NO_RECENT_SYNC,
                    f"最近一次同步在 {_hm(latest)}，已 {_duration(silent)} 未同步",
                    evidence={"latest_receipt": iso(latest), "silent_seconds": silent})]


def _clock_skew(station: str, readings: Sequence[ClockReading],
                thresholds: AuditThresholds) -> list[Finding]:
    limit = thresholds.max_clock_skew_minutes * 60
    off = [r for r in readings if abs(r.skew_seconds) > limit]
    if not off:
        return []
    worst = max(off, key=lambda r: abs(r.skew_seconds))
    direction = "快" if worst.skew_seconds > 0 else "慢"
    return [finding(
        station, FindingCode.CLOCK_SKEW,
        f"{len(off)} 次同步时站点时钟与县级时钟相差超过 {thresholds.max_clock_skew_minutes} 分钟，"
        f"最多{direction} {_duration(abs(worst.skew_seconds))}（{_hm(worst.county_time)}）",
        evidence={"readings": [{"size": r.size, "station_time": iso(r.station_time),
                                "county_time": iso(r.county_time), "skew_seconds": r.skew_seconds}
                               for r in off],
                  "worst_skew_seconds": worst.skew_seconds})]


# --------------------------------------------------------------------------- helpers


def _grouped(values: Iterable[T], key: Callable[[T], Hashable]) -> list[list[T]]:
    """Values grouped by key, groups in order of first appearance."""
    groups: dict[Hashable, list[T]] = {}
    for v in values:
        groups.setdefault(key(v), []).append(v)
    return list(groups.values())


def _hm(moment: datetime | None) -> str:
    return "" if moment is None else f"{to_cst(moment):%Y-%m-%d %H:%M}"


def _duration(seconds: int) -> str:
    if seconds >= 86400:
        days, rest = divmod(seconds, 86400)
        return f"{days} 天 {rest // 3600} 小时" if rest >= 3600 else f"{days} 天"
    if seconds >= 3600:
        return f"{seconds // 3600} 小时 {seconds % 3600 // 60} 分钟"
    return f"{max(seconds // 60, 1)} 分钟" if seconds >= 60 else f"{seconds} 秒"


def _span(idxs: Sequence[int]) -> str:
    return str(idxs[0]) if len(idxs) == 1 else f"{min(idxs)}–{max(idxs)}"
