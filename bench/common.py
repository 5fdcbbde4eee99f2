"""Shared helpers for the benchmarks: a realistic station of any size, built quickly.

Cases are written through the real log path (canonical entry, leaf hash, signed checkpoint,
projection) in transactions of 500, on a manual clock that walks through working hours.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from station_app.domain.cases import Channel, created_body, fold_case, move_body
from station_app.domain.catalog import ServiceItem
from station_app.domain.clock import CST
from station_app.domain.identity import id_check_digit
from station_app.domain.numbering import case_number
from station_app.domain.people import PersonDetails, validate_person
from station_app.domain.states import CaseState
from station_app.services.calendar import seed_builtin_calendar
from station_app.services.catalog import import_catalog
from station_app.services.clock import ManualClock
from station_app.services.people import record_person
from station_app.services.station import Station, StationSetup, Transaction, create_station
from station_app.store.queries import load_events

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out"
CATALOG = ROOT.parent / "station_app" / "data" / "sample_catalog.json"
SETUP = StationSetup(name="基准测试镇便民服务中心", code="330199109000", region="330199109000",
                     level="town")
PATHS = ((CaseState.ACCEPTED, CaseState.IN_PROGRESS, CaseState.FINISHED),
         (CaseState.ACCEPTED,), (), (CaseState.ACCEPTED, CaseState.IN_PROGRESS),
         (CaseState.REJECTED,))
DETAILS = {CaseState.FINISHED: {"outcome": "APPROVED"},
           CaseState.REJECTED: {"reason": "不符合条件", "legal_basis": "行政许可法第三十二条"}}


def new_station(folder: Path, start: datetime | None = None) -> Station:
    clock = ManualClock(start or datetime(2025, 3, 3, 9, tzinfo=CST))
    st = create_station(folder, SETUP, clock=clock, actor="bench", seed=seed_builtin_calendar)
    import_catalog(st, CATALOG.read_bytes())
    return st


def build_station(folder: Path, cases: int, seed: int = 1) -> Station:
    """A station holding ``cases`` cases (≈ 2.2 entries each) and 2,000 applicants."""
    rng = random.Random(seed)
    st = new_station(folder)
    clock: ManualClock = st.clock  # type: ignore[assignment]
    items = st.projector.catalog().items
    people: list[str] = []
    per_day = min(max(cases // 250, 20), 9000)
    done = 0
    while done < cases:
        with st.transaction() as tx:
            if len(people) < 2000:
                people += [record_person(tx, random_person(rng)) for _ in range(50)]
            for _ in range(min(500, cases - done)):
                if done % per_day == 0:
                    clock.advance(days=1)
                clock.advance(seconds=5)
                one_case(st, tx, rng, rng.choice(items), rng.choice(people),
                          done % per_day + 1)
                done += 1
    return st


def one_case(st: Station, tx: Transaction, rng: random.Random, item: ServiceItem, person: str,
              seq: int) -> None:
    now = st.clock.now()
    case_no = case_number(st.info.code, now.date(), seq)
    tx.append("case.created", created_body(case_no=case_no, item=item, applicant=person,
                                           channel=Channel.WINDOW, at=now))
    for to in rng.choice(PATHS):
        case = fold_case(load_events(st.db, "case_events", "case_no", case_no))
        tx.append("case.moved", move_body(case, to=to, at=st.clock.now(),
                                          details=DETAILS.get(to)))


def random_person(rng: random.Random) -> PersonDetails:
    first17 = f"330199{1950 + rng.randint(0, 50)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}" \
              f"{rng.randint(0, 999):03d}"
    return validate_person(name="测试" + "甲乙丙丁戊己庚辛"[rng.randint(0, 7)] * 2,
                           cert_no=first17 + id_check_digit(first17))


def cached_station(cases: int) -> Path:
    """Build once into bench/out/ and reuse (delete the folder to rebuild)."""
    folder = OUT / f"station-{cases}"
    if not (folder / "station.db").exists():
        OUT.mkdir(exist_ok=True)
        started = time.perf_counter()
        build_station(folder, cases).close()
        print(f"(built {cases} cases in {time.perf_counter() - started:.1f} s → {folder})")
    return folder


def timings(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def row(label: str, samples: list[float], unit: float = 1e3, suffix: str = "ms") -> str:
    med = statistics.median(samples) * unit
    p95 = sorted(samples)[int(len(samples) * 0.95) - 1] * unit if len(samples) > 1 else med
    return f"| {label} | {med:.2f} {suffix} | {p95:.2f} {suffix} | {len(samples)} |"


def since(moment: datetime) -> float:
    return (datetime.now(CST) - moment) / timedelta(seconds=1)
