"""A station's log written entry by entry with the real domain constructors, on clocks the
test sets: the true time, the station's wall clock (which people can set) and the monotonic
clock of the current boot (which they cannot). ``sync`` plays the county: it issues a
receipt at the true time and the station writes it as the beacon of later entries.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from typing import Any

from station_app.domain.audit.kpi import EvaluationRecord, evaluation_from_body
from station_app.domain.audit.timing import ClockReading, Receipt
from station_app.domain.cases import (
    Case,
    CaseEvent,
    Channel,
    ReceivedMaterial,
    created_body,
    fold_case,
    move_body,
    visit_body,
)
from station_app.domain.catalog import ServiceItem
from station_app.domain.clock import CST, iso, local_day
from station_app.domain.evaluations import Channel as EvalChannel
from station_app.domain.evaluations import Level, evaluation_body
from station_app.domain.log import Beacon, LogEntry, MonoReading, decode_entry, make_origin
from station_app.domain.numbering import case_number, proxy_number
from station_app.domain.proxy import ProxyEntry, fold_proxy, registered_body
from station_app.domain.proxy import move_body as proxy_move_body
from station_app.domain.states import CaseState, ProxyState
from tests.domain.test_cases_domain import DETAILS, IMMEDIATE, PROMISED  # noqa: F401 (re-exported)

STATION = "330199101201"
SALT = "c2FsdHNhbHRzYWx0c2FsdA=="

PROXY_DETAILS: dict[ProxyState, dict[str, Any]] = {
    ProxyState.RESULT_RECEIVED: {"result": "已办结"},
    ProxyState.TERMINATED: {"reason": "村民撤回委托"},
    ProxyState.SUSPENDED: {"reason": "材料不全"},
}


def at(day: str, clock: str = "09:00") -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), CST)


class StationLog:
    def __init__(self, start: datetime, *, station: str = STATION) -> None:
        self.station = station
        self.origin = make_origin(station, bytes(range(32)))
        self.true = start  # what the county's clock says
        self.offset = timedelta(0)  # station wall clock minus true time
        self.boot, self.boots, self.mono_us = "boot-1", 1, 0
        self.beacon: Beacon | None = None
        self.entries: list[LogEntry] = []
        self.receipts: list[Receipt] = []
        self.readings: list[ClockReading] = []
        self.case_events: dict[str, list[CaseEvent]] = {}
        self.proxy_events: dict[str, list[CaseEvent]] = {}
        self.evaluations: list[EvaluationRecord] = []
        self._case_seq: dict[date, int] = {}
        self._proxy_seq: dict[int, int] = {}
        self.append("station.created", {"code": station, "name": "东坑村便民服务站"})

    # ------------------------------------------------------------------ clocks

    @property
    def wall(self) -> datetime:
        return self.true + self.offset

    def advance(self, **delta: float) -> None:
        """Time passes with the PC running: all three clocks move together."""
        step = timedelta(**delta)
        self.true += step
        self.mono_us += step // timedelta(microseconds=1)

    def sleep(self, **delta: float) -> None:
        """The PC is suspended: wall time passes, the monotonic clock stands still."""
        self.true += timedelta(**delta)

    def until(self, moment: datetime) -> None:
        """Let true time run (PC on) to ``moment``."""
        self.advance(seconds=(moment - self.true).total_seconds())

    def set_clock(self, wall: datetime) -> None:
        """Somebody sets the station's wall clock; the monotonic clock does not notice."""
        self.offset = wall - self.true

    def reboot(self, moment: datetime, *, wall_offset: timedelta | None = None) -> None:
        """The PC is switched on at true time ``moment`` (a new boot, mono restarts)."""
        self.true = moment
        if wall_offset is not None:
            self.offset = wall_offset
        self.boots += 1
        self.boot, self.mono_us = f"boot-{self.boots}", 5_000_000

    # ------------------------------------------------------------------ the log

    def append(self, kind: str, body: dict[str, Any], *, actor: str = "clerk-li") -> LogEntry:
        entry = LogEntry(origin=self.origin, idx=len(self.entries), kind=kind, actor=actor,
                         t_wall=iso(self.wall), t_mono=MonoReading(boot=self.boot, us=self.mono_us),
                         beacon=self.beacon, catalog="2025.4", salt=SALT, body=body)
        self.entries.append(entry)
        self.advance(seconds=1)
        return entry

    def decoded(self) -> list[LogEntry]:
        """The entries as the county has them: bytes, decoded again."""
        return [decode_entry(e.encode()) for e in self.entries]

    def sync(self, *, latency: timedelta = timedelta(seconds=3)) -> Receipt:
        county_time = (self.true + latency).replace(microsecond=0)
        size = len(self.entries)
        digest = hashlib.sha256(f"{self.origin}\n{size}\n{county_time}".encode()).hexdigest()
        receipt = Receipt(size=size, county_time=county_time, digest=digest)
        self.receipts.append(receipt)
        self.readings.append(ClockReading(station_time=self.wall, county_time=self.true, size=size))
        self.beacon = Beacon(size=size, time=iso(county_time), digest=digest)
        self.advance(seconds=latency.total_seconds())
        return receipt

    # ------------------------------------------------------------------ cases

    def _next_case_no(self) -> str:
        day = local_day(self.wall)
        self._case_seq[day] = self._case_seq.get(day, 0) + 1
        return case_number(self.station, day, self._case_seq[day])

    def receive(self, *, item: ServiceItem = PROMISED, served: datetime | None = None,
                channel: Channel = Channel.WINDOW, drop: bool = False, **kw: Any) -> str:
        """收件; ``served`` is the service time if entered later (补录). ``drop`` allocates the
        number but loses the entry, as if it had been deleted from the log."""
        case_no = self._next_case_no()
        agent = "王丽华" if channel is Channel.PROXY else ""
        body = created_body(case_no=case_no, item=item, applicant=f"person-{case_no[-4:]}",
                            channel=channel, at=served or self.wall, agent=agent,
                            materials=[ReceivedMaterial(name="居民身份证", originals=1, copies=1)],
                            **kw)
        if not drop:
            self._case_event(self.append("case.created", body))
        return case_no

    def move(self, case_no: str, to: CaseState, *, served: datetime | None = None) -> Case:
        body = move_body(self.case(case_no), to=to, at=served or self.wall,
                         details=DETAILS.get(to))
        self._case_event(self.append("case.moved", body, actor="clerk-wang"))
        return self.case(case_no)

    def visit(self, case_no: str, *, served: datetime | None = None) -> Case:
        body = visit_body(self.case(case_no), at=served or self.wall)
        self._case_event(self.append("case.visit", body))
        return self.case(case_no)

    def finish(self, case_no: str, *, served: datetime | None = None) -> Case:
        """Accept (if needed) and finish a case on the spot."""
        if self.case(case_no).state is CaseState.RECEIVED:
            self.move(case_no, CaseState.ACCEPTED, served=served)
        return self.move(case_no, CaseState.FINISHED, served=served)

    def _case_event(self, e: LogEntry) -> None:
        self.case_events.setdefault(e.body["case_no"], []).append(
            CaseEvent(idx=e.idx, kind=e.kind, actor=e.actor, body=e.body))

    def case(self, case_no: str) -> Case:
        return fold_case(self.case_events[case_no])

    def cases(self) -> list[Case]:
        return [fold_case(events) for events in self.case_events.values()]

    # ------------------------------------------------------------------ proxy entries

    def register_proxy(self, *, served: datetime | None = None, drop: bool = False) -> str:
        year = local_day(self.wall).year
        self._proxy_seq[year] = self._proxy_seq.get(year, 0) + 1
        proxy_no = proxy_number(self.station, year, self._proxy_seq[year])
        body = registered_body(proxy_no=proxy_no, item=PROMISED, villager="person-v",
                               agent="王丽华", at=served or self.wall)
        if not drop:
            self._proxy_event(self.append("proxy.registered", body, actor="agent-wang"))
        return proxy_no

    def proxy_move(self, proxy_no: str, to: ProxyState, *,
                   served: datetime | None = None) -> ProxyEntry:
        body = proxy_move_body(self.proxy(proxy_no), to=to, at=served or self.wall,
                               details=PROXY_DETAILS.get(to))
        self._proxy_event(self.append("proxy.moved", body, actor="agent-wang"))
        return self.proxy(proxy_no)

    def _proxy_event(self, e: LogEntry) -> None:
        self.proxy_events.setdefault(e.body["proxy_no"], []).append(
            CaseEvent(idx=e.idx, kind=e.kind, actor=e.actor, body=e.body))

    def proxy(self, proxy_no: str) -> ProxyEntry:
        return fold_proxy(self.proxy_events[proxy_no])

    def proxies(self) -> list[ProxyEntry]:
        return [fold_proxy(events) for events in self.proxy_events.values()]

    # ------------------------------------------------------------------ evaluations

    def evaluate(self, subject: str, level: Level, *, served: datetime | None = None,
                 kind: str = "case", comment: str = "") -> EvaluationRecord:
        earlier = sum(1 for e in self.evaluations if e.subject == subject)
        body = evaluation_body(subject=subject, subject_kind=kind, level=level,
                               channel=EvalChannel.WINDOW_DEVICE, at=served or self.wall,
                               earlier=earlier, followup=earlier > 0,
                               comment=comment or ("办理太慢" if level.is_bad else ""))
        record = evaluation_from_body(self.append("evaluation.recorded", body).body)
        self.evaluations.append(record)
        return record
