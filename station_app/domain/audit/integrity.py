"""Ledger integrity from the entries themselves: the log's own index and the two numberings.

Numbers are allocated gap-free inside the transaction that writes the entry and are never
reused (``numbering``), so within one station:

* 办件编号 ``{station}-{YYYYMMDD}-{seq}``: each day's sequence must run 1, 2, 3 … with no hole;
* 代办序号 ``{station}-DB{YYYY}-{seq}``: each year's sequence likewise;
* no number may be created twice, and every number must carry this station's code.

A hole means an entry the log no longer has (deleted before sync, or a rebuilt log). A
missing *last* number of a day cannot be seen from the numbers alone; the Merkle checks on
the county side (checkpoints already cosigned) and the town's relay records cover that.
Numbers a recovery reserved for re-entering a lost PC's paper (the ``reserved`` ranges of a
``log.succession`` entry, docs/recovery.md) are a known loss, not a hole: missing numbers
inside them are not reported; a number used twice still is.
Signatures and Merkle consistency are checked by ``domain.verify`` and the county store,
not here: this module only reads decoded entries.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from station_app.domain.audit.findings import Finding, FindingCode, finding
from station_app.domain.log import LogEntry, origin_station
from station_app.domain.numbering import (
    ParsedNumber,
    ReservedRange,
    parse_case_number,
    parse_proxy_number,
    reserved_from_body,
    sequence_gaps,
)


@dataclass(frozen=True, slots=True)
class _Numbering:
    kind: str  # created-entry kind carrying the number
    reserved_kind: str  # ReservedRange.kind of this numbering
    key: str  # body field holding it
    label: str  # Chinese name of the numbering
    period_label: str
    parse: Callable[[str], ParsedNumber | None]


_CASES = _Numbering("case.created", "case", "case_no", "办件编号", "日", parse_case_number)
_PROXIES = _Numbering("proxy.registered", "proxy", "proxy_no", "代办序号", "年度",
                      parse_proxy_number)


def station_of(entries: Sequence[LogEntry]) -> str:
    """The station code of a one-station log; ValueError if entries of two logs are mixed."""
    origins = {e.origin for e in entries}
    if len(origins) > 1:
        raise ValueError(f"entries of more than one log: {sorted(origins)}")
    return origin_station(next(iter(origins))) if origins else ""


def audit_integrity(entries: Iterable[LogEntry]) -> list[Finding]:
    """Index gaps, numbering gaps, duplicates and foreign numbers in one station's entries."""
    ordered = sorted(entries, key=lambda e: e.idx)
    station = station_of(ordered)
    out = _log_gaps(station, ordered)
    reserved = tuple(r for e in ordered if e.kind == "log.succession"
                     for r in reserved_from_body(e.body))
    for numbering in (_CASES, _PROXIES):
        out += _numbering_findings(station, ordered, numbering, reserved)
    return out


def known_reentries(entries: Iterable[LogEntry]) -> set[int]:
    """Indices of entries that re-enter a lost PC's paper (补录, marked ``reentry``) with a
    number a recovery reserved earlier in this log: a known loss, not 体外循环. The mark
    alone proves nothing; the number must lie in a reserved range."""
    reserved: list[ReservedRange] = []
    out: set[int] = set()
    for e in sorted(entries, key=lambda e: e.idx):
        if e.kind == "log.succession":
            reserved += reserved_from_body(e.body)
            continue
        numbering = _CASES if e.kind == _CASES.kind else _PROXIES
        if e.kind != numbering.kind or not e.body.get("reentry"):
            continue
        parsed = numbering.parse(str(e.body.get(numbering.key, "")))
        if parsed is not None and any(r.kind == numbering.reserved_kind and r.covers(parsed)
                                      for r in reserved):
            out.add(e.idx)
    return out


def _log_gaps(station: str, ordered: Sequence[LogEntry]) -> list[Finding]:
    if not ordered:
        return []
    indices = [e.idx for e in ordered]
    first = indices[0]
    missing = [first + n - 1 for n in sequence_gaps([i - first + 1 for i in indices])]
    repeated = sorted(i for i, n in Counter(indices).items() if n > 1)
    if not missing and not repeated:
        return []
    text = f"账本记录序号不连续：缺少 {_short(missing)}" if missing else "账本记录序号重复"
    if repeated:
        text += f"，重复 {_short(repeated)}"
    return [finding(
        station, FindingCode.LOG_GAP, text,
        entries=missing + repeated,
        evidence={"first": first, "last": indices[-1], "missing": missing, "repeated": repeated})]


def _numbering_findings(station: str, ordered: Sequence[LogEntry], numbering: _Numbering,
                        reserved: tuple[ReservedRange, ...]) -> list[Finding]:
    by_period: dict[str, dict[int, list[LogEntry]]] = defaultdict(lambda: defaultdict(list))
    out: list[Finding] = []
    for e in ordered:
        if e.kind != numbering.kind:
            continue
        text = str(e.body.get(numbering.key, ""))
        parsed = numbering.parse(text)
        if parsed is None or parsed.station != station:
            out.append(finding(
                station, FindingCode.FOREIGN_NUMBER,
                f"第 {e.idx} 条记录的{numbering.label}“{text}”不是本站（{station}）的编号",
                entries=[e.idx], numbers=[text], evidence={"kind": numbering.kind, "number": text}))
            continue
        by_period[parsed.period][parsed.seq].append(e)
    for period in sorted(by_period):
        kept = [r for r in reserved if r.kind == numbering.reserved_kind and r.period == period]
        out += _period_findings(station, numbering, period, by_period[period], kept)
    return out


def _period_findings(station: str, numbering: _Numbering, period: str,
                     seqs: dict[int, list[LogEntry]], reserved: Sequence[ReservedRange]
                     ) -> list[Finding]:
    out: list[Finding] = []
    for seq in sorted(s for s, found in seqs.items() if len(found) > 1):
        number = str(seqs[seq][0].body[numbering.key])
        idxs = [e.idx for e in seqs[seq]]
        out.append(finding(
            station, FindingCode.DUPLICATE_NUMBER,
            f"{numbering.label}“{number}”被使用了 {len(idxs)} 次（第 {_short(idxs)} 条记录）",
            entries=idxs, numbers=[number],
            evidence={"kind": numbering.kind, "period": period, "seq": seq, "entries": idxs}))
    gaps = [g for g in sequence_gaps(list(seqs))
            if not any(r.first <= g <= r.last for r in reserved)]  # kept for 补录
    if gaps:
        missing = [_number_text(numbering, seqs, g) for g in gaps]
        neighbours = sorted({e.idx for g in gaps for s in (g - 1, g + 1) for e in seqs.get(s, ())})
        out.append(finding(
            station, FindingCode.NUMBER_GAP,
            f"{numbering.label}在{_period_text(numbering, period)}缺号：{_short(missing)}"
            f"（已有最大序号 {max(seqs)}），缺少的记录可能已被删除",
            entries=neighbours, numbers=missing,
            evidence={"kind": numbering.kind, "period": period, "missing_seqs": gaps,
                      "max_seq": max(seqs), "present": len(seqs)}))
    return out


def _number_text(numbering: _Numbering, seqs: dict[int, list[LogEntry]], seq: int) -> str:
    """The missing number spelled like its neighbours (same station, period and width)."""
    sample = str(next(iter(seqs.values()))[0].body[numbering.key])
    head, _, tail = sample.rpartition("-")
    return f"{head}-{seq:0{len(tail)}d}"


def _period_text(numbering: _Numbering, period: str) -> str:
    if numbering is _CASES:
        return f" {period[:4]}-{period[4:6]}-{period[6:]} "
    return f" {period} 年"


def _short(values: Sequence[object], limit: int = 10) -> str:
    shown = "、".join(str(v) for v in values[:limit])
    return shown + (f" 等 {len(values)} 个" if len(values) > limit else "")
