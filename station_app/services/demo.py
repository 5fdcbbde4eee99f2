"""The demo station: a township centre with its village agents and a few weeks of real-looking work.

Work is simulated through the same services a clerk uses, on a clock that walks through the
past weeks' working hours, so every entry's device time matches when it "happened", deadlines
land where they would, and some cases end up overdue today. The station is marked ``demo``
in its first log entry, so no auditor can mistake it for a real one.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from station_app.domain.calendar import HolidayCalendar
from station_app.domain.cases import Channel, ReceivedMaterial
from station_app.domain.catalog import CaseType, ServiceItem
from station_app.domain.clock import CST, parse_moment
from station_app.domain.identity import id_check_digit
from station_app.domain.people import PersonDetails, validate_person
from station_app.domain.states import CaseState, ProxyState
from station_app.domain.users import Role
from station_app.errors import DataFolderMissing
from station_app.services.calendar import seed_builtin_calendar
from station_app.services.cases import CaseRequest, add_case, move_case
from station_app.services.catalog import import_catalog
from station_app.services.clock import ManualClock, SystemClock
from station_app.services.profile import add_agent, set_profile
from station_app.services.proxy import ProxyRequest, move_proxy, register_proxy
from station_app.services.station import Station, StationSetup, create_station
from station_app.services.users import add_user

DEFAULT_DEMO_CASES = 60
SAMPLE_CATALOG = Path(__file__).resolve().parent.parent / "data" / "sample_catalog.json"
DEMO_SETUP = StationSetup(name="青石镇便民服务中心", code="330199101000",
                          region="330199101000", level="town", demo=True)
WINDOW_DAYS = 42

DEMO_PROFILE = {
    "short_name": "青石镇", "address": "示范县青石镇人民路 8 号（镇政府一楼）",
    "hours": "工作日 8:30–12:00，14:00–17:30", "phone": "0000-6801000",
    "complaint_tel": "12345", "review_organ": "示范县人民政府",
    "court": "示范县人民法院",
}
# Demo sign-ins, shown on the demo station's sign-in screen (never on a real station).
DEMO_USERS = (("王晓梅", Role.CLERK, "1111"), ("王丽华", Role.AGENT, "2222"),
              ("李站长", Role.ADMIN, "9999"), ("赵核查", Role.AUDITOR, "8888"))
VILLAGES = ("东坑村", "西溪村", "桃源村", "石桥村", "下洋村", "上塘村")
AGENTS = (("王丽华", "13905710011", "东坑村"), ("陈建国", "13905710022", "西溪村"),
          ("李秀英", "13905710033", "桃源村"))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = ("建国", "秀英", "桂兰", "志强", "海燕", "明", "丽", "伟", "芳", "军", "玉兰", "国平",
         "小燕", "德明", "春花", "金宝", "永福", "红梅", "建华", "晓东", "淑珍", "长生")
REJECTION = {"reason": "申请人户籍不在本镇，不属于本中心受理范围，请向户籍地乡镇申请",
             "legal_basis": "《中华人民共和国行政许可法》第三十二条第一款第（二）项"}
SUSPENSION = {"reason": "需入户核查家庭经济状况", "procedure": "现场核查"}
MISSING_REASONS = ("复印件不清晰", "缺少原件", "证件已过有效期", "未签名", "信息填写不完整")

# Target state → share of cases, tuned to look like a month at a busy township window.
TARGETS = ((CaseState.FINISHED, 42), (CaseState.IN_PROGRESS, 14), (CaseState.ACCEPTED, 8),
           (CaseState.RECEIVED, 8), (CaseState.SUPPLEMENT, 7), (CaseState.SUSPENDED, 5),
           (CaseState.REJECTED, 5), (CaseState.WITHDRAWN, 4), (CaseState.VOID, 3),
           (CaseState.DRAFT, 4))


def ensure_demo(folder: Path, *, cases: int = DEFAULT_DEMO_CASES, actor: str = "demo",
                seed: int | None = None) -> dict[str, Any]:
    """Create the demo station if the folder has none, then simulate ``cases`` more cases."""
    folder = Path(folder)
    try:
        station = Station.open(folder, actor=actor)
    except DataFolderMissing:
        station = _create(folder, actor)
    with station:
        before = station.ledger.size()
        added = Simulation(station, random.Random(seed)).run(cases)
        return {"station": station.info.code, "name": station.info.name,
                "cases_added": added[0], "proxies_added": added[1],
                "entries": station.ledger.size(), "entries_added": station.ledger.size() - before}


def _create(folder: Path, actor: str) -> Station:
    start = datetime.now(CST) - timedelta(days=WINDOW_DAYS + 1)
    clock = ManualClock(start)
    station = create_station(folder, DEMO_SETUP, clock=clock, actor="admin",
                             seed=seed_builtin_calendar)
    import_catalog(station, SAMPLE_CATALOG.read_bytes())
    set_profile(station, DEMO_PROFILE, reason="示例站点初始设置")
    for name, phone, village in AGENTS:
        add_agent(station, name=name, role="村级代办员", phone=phone, village=village)
    for name, role, pin in DEMO_USERS:
        add_user(station, name=name, role=role, pin=pin)
    station.actor = actor
    return station


@dataclass(order=True)
class _Step:
    at: datetime
    order: int
    run: Callable[[], None] = field(compare=False)


class Simulation:
    """Schedules every case's steps on a timeline and replays them in time order."""

    def __init__(self, station: Station, rng: random.Random) -> None:
        self.st, self.rng = station, rng
        self.cal: HolidayCalendar = station.projector.calendar()
        self.items = [i for i in station.projector.catalog().items]
        self.queue: list[_Step] = []
        self.counter = 0
        self.end = datetime.now(CST)
        last = station.entries(max(station.ledger.size() - 1, 0))
        last_wall = parse_moment(next(last).t_wall)
        self.start = max(last_wall + timedelta(minutes=1), self.end - timedelta(days=WINDOW_DAYS))
        self.cases_added = self.proxies_added = 0

    def run(self, count: int) -> tuple[int, int]:
        if not self.items or count == 0:
            return 0, 0
        via_proxy = count // 4
        for _ in range(via_proxy):
            self._schedule(self._random_moment(0.8), self._proxy_story, must=True)
        for n in range(count - via_proxy):
            if n < len(TARGETS):  # one walk-in per state, early enough to get there
                target = TARGETS[n][0]
                self._schedule(self._random_moment(0.25),
                               lambda target=target: self._walk_in_story(target), must=True)
            else:
                self._schedule(self._random_moment(1.0), self._walk_in_story, must=True)
        clock = ManualClock(self.start)
        self.st.clock = clock
        try:
            while self.queue:
                step = heapq.heappop(self.queue)
                clock.set(max(step.at, clock.now()))
                step.run()
        finally:
            self.st.clock = SystemClock()  # whatever comes next happens now, for real
        return self.cases_added, self.proxies_added

    # ------------------------------------------------------------------ timeline

    def _schedule(self, at: datetime, run: Callable[[], None], *, must: bool = False) -> None:
        """Queue a step; steps past "now" are dropped unless ``must`` (then they happen now)."""
        if at > self.end and must:
            at = self.end
        if at <= self.end:
            self.counter += 1
            heapq.heappush(self.queue, _Step(at, self.counter, run))

    def _random_moment(self, share: float) -> datetime:
        span = (self.end - self.start).total_seconds() * share
        return self._office_hours(self.start + timedelta(seconds=self.rng.uniform(0, span)))

    def _office_hours(self, moment: datetime) -> datetime:
        day = moment.date()
        while not self.cal.is_workday(day):
            day += timedelta(days=1)
        minute = self.rng.randint(8 * 60 + 30, 17 * 60)
        return datetime.combine(day, time(minute // 60, minute % 60), CST)

    def _later(self, moment: datetime, working_days: int) -> datetime:
        day = moment.date()
        for _ in range(working_days):
            day += timedelta(days=1)
            while not self.cal.is_workday(day):
                day += timedelta(days=1)
        then = self._office_hours(datetime.combine(day, time(9), CST))
        return max(then, moment + timedelta(minutes=self.rng.randint(5, 50)))

    # ------------------------------------------------------------------ stories

    def _pick_target(self) -> CaseState:
        """Where this case has got to by today: old cases are mostly closed, as at a real
        window; a few stale ones stay open and show up as overdue."""
        target = self.rng.choices([t for t, _ in TARGETS], [w for _, w in TARGETS])[0]
        age = self.end - self.st.clock.now()
        if target.is_open and age > timedelta(days=14) and self.rng.random() < 0.85:
            return CaseState.FINISHED
        return target

    def _walk_in_story(self, target: CaseState | None = None) -> None:
        if target is None:
            item, target = self.rng.choice(self.items), self._pick_target()
        else:
            item = self.rng.choice(_items_reaching(self.items, target))
        case = add_case(self.st, CaseRequest(
            item=item.code, applicant=self._person(), materials=_all_materials(item),
            draft=target is CaseState.DRAFT))
        self.cases_added += 1
        self._continue_case(case.case_no, item, target)

    def _proxy_story(self) -> None:
        item = self.rng.choice([i for i in self.items if i.proxy_allowed])
        agent, phone, village = self.rng.choice(AGENTS)
        villager = self._person(village)
        entry = register_proxy(self.st, ProxyRequest(
            item=item.code, villager=villager, agent=agent, agent_phone=phone,
            village_group=f"{village}{self.rng.randint(1, 9)}组", materials=_all_materials(item)))
        self.proxies_added += 1
        self._schedule(self._later(self.st.clock.now(), self.rng.choice((0, 1, 1, 2, 4))),
                       lambda: self._hand_over(entry.proxy_no, item, agent, villager), must=True)
        if self.rng.random() < 0.15:  # one more villager who changed their mind (no case)
            self._schedule(self.st.clock.now() + timedelta(minutes=20), self._withdrawn_proxy)

    def _withdrawn_proxy(self) -> None:
        item = self.rng.choice([i for i in self.items if i.proxy_allowed])
        agent, phone, village = self.rng.choice(AGENTS)
        entry = register_proxy(self.st, ProxyRequest(
            item=item.code, villager=self._person(village), agent=agent, agent_phone=phone,
            village_group=f"{village}{self.rng.randint(1, 9)}组", materials=_all_materials(item)))
        self.proxies_added += 1
        self._schedule(self._later(self.st.clock.now(), 1), lambda: move_proxy(
            self.st, entry.proxy_no, ProxyState.TERMINATED, note="村民改为自行办理",
            details={"reason": "委托人撤回委托，材料已退还"}))

    def _hand_over(self, proxy_no: str, item: ServiceItem, agent: str,
                   villager: PersonDetails) -> None:
        target = self._pick_target()
        if target is CaseState.DRAFT:
            target = CaseState.RECEIVED
        case = add_case(self.st, CaseRequest(
            item=item.code, applicant=villager, materials=_all_materials(item), agent=agent,
            proxy_no=proxy_no, channel=Channel.PROXY))
        self.cases_added += 1
        move_proxy(self.st, proxy_no, ProxyState.SUBMITTED, note="材料已交镇便民服务中心",
                   details={"case_no": case.case_no})
        when = self._continue_case(case.case_no, item, target)
        if target is CaseState.FINISHED:
            self._schedule(self._later(when, 1), lambda: self._deliver(proxy_no))
        elif target in (CaseState.REJECTED, CaseState.WITHDRAWN, CaseState.VOID):
            self._schedule(self._later(when, 1), lambda: move_proxy(
                self.st, proxy_no, ProxyState.TERMINATED,
                details={"reason": f"镇中心办件{target.label}，材料已退还村民"}))

    def _continue_case(self, case_no: str, item: ServiceItem, target: CaseState) -> datetime:
        """Schedule the moves to ``target``; returns when the last one happens."""
        when = self.st.clock.now()
        for to, details in _path_to(target, item, self.rng):
            when = self._later(when, self._gap(item, to))
            self._schedule(when, _mover(self.st, case_no, to, details))
        return when

    def _gap(self, item: ServiceItem, to: CaseState) -> int:
        if item.case_type is CaseType.IMMEDIATE and to in (CaseState.ACCEPTED,
                                                           CaseState.FINISHED):
            return 0
        if to is CaseState.FINISHED:
            limit = max(item.promised_limit.amount, 1)
            return self.rng.randint(1, limit + (2 if self.rng.random() < 0.1 else 0))
        return self.rng.choice((0, 0, 1, 1, 2))

    def _deliver(self, proxy_no: str) -> None:
        move_proxy(self.st, proxy_no, ProxyState.RESULT_RECEIVED,
                   details={"result": "已办结，结果已交代办员"})
        if self.rng.random() < 0.8:
            move_proxy(self.st, proxy_no, ProxyState.DELIVERED,
                       details={"delivery": "代办员上门送达"})

    def _person(self, village: str | None = None) -> PersonDetails:
        born = date(1940, 1, 1) + timedelta(days=self.rng.randint(0, 365 * 60))
        first17 = f"330199{born:%Y%m%d}{self.rng.randint(0, 999):03d}"
        name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
        phone = f"1{self.rng.choice('3589')}{self.rng.randint(0, 999_999_999):09d}"
        home = village or self.rng.choice(VILLAGES)
        return validate_person(name=name, cert_no=first17 + id_check_digit(first17),
                               phone=phone, address=f"青石镇{home}{self.rng.randint(1, 60)}号")


def _mover(st: Station, case_no: str, to: CaseState,
           details: dict[str, Any]) -> Callable[[], None]:
    return lambda: move_case(st, case_no, to, details=details)


def _items_reaching(items: list[ServiceItem], target: CaseState) -> list[ServiceItem]:
    """Items whose cases get to ``target`` within a few working days (see ``_path_to``)."""
    if target is CaseState.FINISHED:  # 即办件 are finished on the spot
        quick = [i for i in items if i.case_type is CaseType.IMMEDIATE]
    elif target in (CaseState.IN_PROGRESS, CaseState.SUSPENDED):  # 即办件 never wait for work
        quick = [i for i in items if i.case_type is not CaseType.IMMEDIATE]
    else:
        quick = items
    return quick or items


def _all_materials(item: ServiceItem) -> tuple[ReceivedMaterial, ...]:
    return tuple(ReceivedMaterial(name=m.name, originals=m.originals, copies=m.copies)
                 for m in item.materials if m.required)


def _path_to(target: CaseState, item: ServiceItem,
             rng: random.Random) -> list[tuple[CaseState, dict[str, Any]]]:
    """The moves that take a freshly received case to ``target``."""
    S = CaseState
    if item.case_type is CaseType.IMMEDIATE and target in (S.IN_PROGRESS, S.SUSPENDED):
        target = S.FINISHED  # 即办件 are decided on the spot; they do not sit in the work queue
    missing = {"missing": [{"name": m.name, "reason": rng.choice(MISSING_REASONS)}
                           for m in item.materials[:2]] or [{"name": "申请表", "reason": "未签名"}]}
    steps: list[tuple[CaseState, dict[str, Any]]] = []
    if target in (S.DRAFT, S.RECEIVED):
        return steps
    if target is S.SUPPLEMENT or (target is not S.VOID and rng.random() < 0.12):
        steps.append((S.SUPPLEMENT, missing))
        if target is S.SUPPLEMENT:
            return steps
        steps.append((S.RECEIVED, {}))
    ends = {
        S.REJECTED: [(S.REJECTED, REJECTION)],
        S.VOID: [(S.VOID, {"reason": "重复录入"})],
        S.WITHDRAWN: [(S.ACCEPTED, {}), (S.WITHDRAWN, {"reason": "申请人主动撤回申请"})],
        S.ACCEPTED: [(S.ACCEPTED, {})],
        S.IN_PROGRESS: [(S.ACCEPTED, {}), (S.IN_PROGRESS, {})],
        S.SUSPENDED: [(S.ACCEPTED, {}), (S.IN_PROGRESS, {}), (S.SUSPENDED, SUSPENSION)],
    }
    if target in ends:
        return steps + ends[target]
    finish = {"outcome": "APPROVED", "cert_name": item.result_name or "办理结果告知单",
              "delivery": "窗口领取"}
    if item.case_type is CaseType.IMMEDIATE:
        return steps + [(S.ACCEPTED, {}), (S.FINISHED, finish)]
    return steps + [(S.ACCEPTED, {}), (S.IN_PROGRESS, {}), (S.FINISHED, finish)]
