"""County ingest: entries per second verified and stored from many stations at once.

    python -m bench.bench_ingest [--stations 400] [--entries 250] [--workers 2]
                                 [--db sqlite|postgresql://postgres@127.0.0.1:5432/test]
                                 [--runs 1]

Preparation (once, cached in ``bench/out/ingest-{stations}x{entries}/``; delete the folder to
rebuild): a county made by ``init_county``, and ``--stations`` real stations, each with a
unique code, the sample catalog, enrolled with that county over HTTP (``county serve``) and
then given cases through the real case path (applicants recorded, cases created and moved)
until its log holds ``--entries`` entries. Every station's upload is then built exactly as
``station sync`` builds it (``checkpoint_request(st, 0)``, ``packages(...)``: zstd level 19
against the dictionary, HPKE-sealed to the county) and kept, so the load generator spends no
CPU on compression or sealing.

Each run copies the enrolled-but-empty county database (SQLite), or copies its station rows
into a fresh PostgreSQL schema (dropped afterwards), starts ``county serve`` in its own
process(es) on 127.0.0.1, and lets every station at once (asyncio + httpx, one connection
each) POST its add-checkpoint and then its packages in order, following ``202``/``409``
cursors, until it holds a receipt. Entries/s counts from the first request to the last
receipt. Afterwards every receipt must name the station's size, and the county's stored
and receipted sizes must equal the stations' sizes.

CPU columns, over the timed window: the server's processes, this load generator, everything
else on the machine (other processes and the kernel: a busy neighbour shows here), and
the cores' idle time. Wall time × cores is their sum.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import random
import shutil
import signal
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import astuple, dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import httpx

from bench.common import CATALOG, OUT, one_case, random_person
from station_app.domain.clock import CST, iso
from station_app.services.calendar import seed_builtin_calendar
from station_app.services.catalog import import_catalog
from station_app.services.clock import ManualClock
from station_app.services.people import record_person
from station_app.services.station import Station, StationSetup, create_station
from sync.client import HttpTransport
from sync.county.folder import init_county, open_county
from sync.county.store import CountyDb, is_postgres
from sync.protocol import parse_receipt
from sync.station import checkpoint_request, enroll, packages, require_enrollment

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2025, 3, 3, 9, tzinfo=CST)
FIRST_CODE = 330199100001  # station i is 330199100001 + i: one device per code, none revoked


@dataclass(frozen=True, slots=True)
class Upload:
    """One station's whole sync, built before the clock starts."""

    origin: str
    size: int
    station_time: str
    checkpoint: bytes
    packages: tuple[tuple[int, int, bytes], ...]  # (first, end, body)


@dataclass(slots=True)
class Outcome:
    receipt: str | None = None
    latencies: list[float] = field(default_factory=list)
    requests: int = 0
    error: str = ""


# ------------------------------------------------------------------- preparation


def prepared(stations: int, entries: int) -> tuple[Path, list[Upload]]:
    """The cached county folder and uploads, built on first use."""
    folder = OUT / f"ingest-{stations}x{entries}"
    manifest = folder / "uploads.pickle"
    if not manifest.exists():
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        uploads = prepare(folder, stations, entries)
        tmp = manifest.with_suffix(".tmp")
        # Plain tuples: a pickled class would be __main__.Upload when run with -m.
        tmp.write_bytes(pickle.dumps([astuple(up) for up in uploads]))
        tmp.replace(manifest)  # written last: a half-built folder is rebuilt next time
        print(f"(prepared {stations} stations in {time.perf_counter() - started:.0f} s "
              f"→ {folder})", file=sys.stderr)
    return folder / "county", [Upload(*t) for t in pickle.loads(manifest.read_bytes())]


def prepare(folder: Path, stations: int, entries: int) -> list[Upload]:
    init_county(folder / "county", name="基准县", code="330199")
    county = open_county(folder / "county")
    try:  # tickets first: the workers below only talk HTTP to the county
        codes = [county.new_ticket(str(FIRST_CODE + i)).code for i in range(stations)]
    finally:
        county.db.close()
    with serving(folder / "county", "", workers=1, log=folder / "prepare.log") as (url, _):
        jobs = [(folder / "stations" / f"{i:04d}", i, code, url, entries)
                for i, code in enumerate(codes)]
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            return list(pool.map(_prepare_station, jobs, chunksize=8))


def _prepare_station(job: tuple[Path, int, str, str, int]) -> Upload:
    """Create, enroll, fill and package one station (runs in a worker process)."""
    folder, i, code, url, entries = job
    rng = random.Random(i)
    station_code = str(FIRST_CODE + i)
    st = create_station(folder, StationSetup(name=f"基准{i}村便民服务站", code=station_code,
                                             region=station_code, level="village"),
                        clock=ManualClock(START), actor="bench", seed=seed_builtin_calendar)
    try:
        import_catalog(st, CATALOG.read_bytes())
        with HttpTransport(url) as transport:
            enroll(st, transport, code)
        _fill(st, rng, entries)
        request = checkpoint_request(st, 0)
        keys = require_enrollment(st).keys
        bodies = tuple(packages(st, 0, request.note, keys))
        return Upload(st.info.origin, st.ledger.size(), iso(st.clock.now()),
                      request.encode(), bodies)
    finally:
        st.close()


def _fill(st: Station, rng: random.Random, entries: int) -> None:
    """Cases (half for a new applicant) until the log holds at least ``entries``."""
    clock: ManualClock = st.clock  # type: ignore[assignment]
    items = st.projector.catalog().items
    people: list[str] = []
    seq = 0
    while st.ledger.size() < entries:
        with st.transaction() as tx:
            for _ in range(10):
                clock.advance(minutes=4)
                seq += 1
                if not people or rng.random() < 0.5:
                    people.append(record_person(tx, random_person(rng)))
                one_case(st, tx, rng, rng.choice(items), rng.choice(people), seq)


# -------------------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(county: Path, db: str, *, workers: int, log: Path) -> Iterator[tuple[str, int]]:
    """``county serve`` in a process group of its own on a free loopback port."""
    port = _free_port()
    command = [str(Path(sys.executable).with_name("county")), "--data", str(county), "serve",
               "--host", "127.0.0.1", "--port", str(port), *(["--db", db] if db else []),
               *(["--workers", str(workers)] if workers != 1 else [])]
    with open(log, "ab") as sink:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", proc, workers, timeout=60)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        _stop(proc)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], workers: int, timeout: float) -> None:
    """Listening, and (with several workers) every worker started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"county serve exited with {proc.returncode}")
        try:
            if httpx.get(url + "/v1/keys", timeout=2).status_code == 200 and \
                    _workers(proc.pid) >= (0 if workers == 1 else workers):
                time.sleep(0.5 if workers > 1 else 0)  # the last worker's app import
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("county serve did not start in time")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers; bounded either way."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo += [int(c) for c in children]
    return out


def _workers(pid: int) -> int:
    """How many worker processes ``county serve --workers`` has started so far."""
    count = 0
    for p in _tree(pid)[1:]:
        try:
            count += b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            continue
    return count


def _cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _machine_seconds() -> tuple[float, float]:
    """(busy, idle) CPU seconds summed over every core of the machine (/proc/stat)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK"), idle / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------ database


@contextmanager
def fresh_database(county: Path, db: str, run: Path) -> Iterator[str]:
    """The prepared county's enrollments in a database no upload has touched yet."""
    if not is_postgres(db):
        shutil.rmtree(run, ignore_errors=True)
        run.mkdir(parents=True)
        with closing(sqlite3.connect(county / "county.db")) as src, \
                closing(sqlite3.connect(run / "county.db")) as dst:
            src.backup(dst)  # the WAL's content too, which a file copy would miss
        yield str(run / "county.db")
        return
    import psycopg

    schema = f"bench_ingest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(db, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            url = f"{db}{'&' if '?' in db else '?'}options=-csearch_path%3D{schema}"
            _copy_stations(str(county / "county.db"), url)
            yield url
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _copy_stations(source: str, target: str) -> None:
    """Enrollment as the county stored it: the station rows, nothing uploaded yet."""
    src, dst = CountyDb(source), CountyDb(target)
    try:
        with src.read() as tx:
            rows = tx.stations()
        with dst.write() as tx:
            for s in rows:
                tx.add_station(origin=s.origin, code=s.code, name=s.name,
                               log_public=s.log_public, kem_public=s.kem_public,
                               certificate=s.certificate, at=s.enrolled_at)
    finally:
        src.close()
        dst.close()


# --------------------------------------------------------------------------- load


async def upload(client: httpx.AsyncClient, up: Upload) -> Outcome:
    """One station's sync from prepared bodies: add-checkpoint, then packages from the
    county's cursor, as ``sync_once`` does."""
    out = Outcome()
    log = "/v1/logs/" + quote(up.origin, safe="")
    status, answer = await _post(client, out, log + "/add-checkpoint", up.checkpoint,
                                 {"content-type": "text/plain; charset=utf-8",
                                  "x-station-time": up.station_time})
    by_first = {first: body for first, _, body in up.packages}
    for _ in range(2 * len(up.packages) + 2):
        if status == 200:
            out.receipt = answer.get("receipt")
            return out
        body = by_first.get(int(answer.get("next", -1))) if status in (202, 409) else None
        if body is None:
            out.error = f"{status} {answer}"
            return out
        status, answer = await _post(client, out, log + "/add-entries", body,
                                     {"content-type": "application/octet-stream"})
    out.error = "too many rounds"
    return out


async def _post(client: httpx.AsyncClient, out: Outcome, path: str, body: bytes,
                headers: dict[str, str]) -> tuple[int, dict]:
    started = time.perf_counter()
    response = await client.post(path, content=body, headers=headers)
    out.latencies.append(time.perf_counter() - started)
    out.requests += 1
    return response.status_code, response.json()


async def load(url: str, uploads: list[Upload]) -> tuple[float, float, list[Outcome]]:
    """Every station at once, each on a connection of its own (as ``HttpTransport``);
    (wall seconds, this process's CPU seconds, outcomes)."""
    tls = ssl.create_default_context()  # plain HTTP, but httpx builds one per client else
    clients = [httpx.AsyncClient(base_url=url, timeout=300, trust_env=False, verify=tls)
               for _ in uploads]
    try:
        started, cpu = time.perf_counter(), time.process_time()
        outcomes = await asyncio.gather(*(_guarded(c, up) for c, up in
                                          zip(clients, uploads, strict=True)))
        return time.perf_counter() - started, time.process_time() - cpu, list(outcomes)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


async def _guarded(client: httpx.AsyncClient, up: Upload) -> Outcome:
    try:
        return await upload(client, up)
    except httpx.HTTPError as exc:  # reported by check(), not raised mid-run
        return Outcome(error=f"{type(exc).__name__}: {exc}")


# ------------------------------------------------------------------------- checks


def check(db: str, uploads: list[Upload], outcomes: list[Outcome]) -> None:
    """Every station holds a receipt for its whole log, and the county stored it all."""
    for up, out in zip(uploads, outcomes, strict=True):
        if out.receipt is None:
            raise SystemExit(f"{up.origin}: no receipt ({out.error})")
        receipt = parse_receipt(out.receipt)
        if receipt.size != up.size or receipt.signed.checkpoint.origin != up.origin:
            raise SystemExit(f"{up.origin}: receipt for {receipt.size}, not {up.size}")
    county = CountyDb(db)
    try:
        with county.read() as tx:
            stored = {s.origin: (s.size, s.receipt_size) for s in tx.stations()}
            rows = tx.one("SELECT COUNT(*) FROM entry")
    finally:
        county.close()
    for up in uploads:
        if stored.get(up.origin) != (up.size, up.size):
            raise SystemExit(f"{up.origin}: county holds {stored.get(up.origin)}, "
                             f"station {up.size}")
    assert rows is not None and rows[0] == sum(up.size for up in uploads), rows


# --------------------------------------------------------------------------- main


def run_once(county: Path, uploads: list[Upload], db: str, workers: int) -> str:
    run = county.parent / "run"
    with fresh_database(county, db, run) as url:
        log = county.parent / "serve.log"
        with serving(county, url, workers=workers, log=log) as (server, pid):
            pids = _tree(pid)
            cpu_before, machine_before = _cpu_seconds(pids), _machine_seconds()
            took, client_cpu, outcomes = asyncio.run(load(server, uploads))
            server_cpu = _cpu_seconds(pids) - cpu_before
            busy, idle = (after - before for after, before in
                          zip(_machine_seconds(), machine_before, strict=True))
            others = max(busy - server_cpu - client_cpu, 0.0)  # other processes, the kernel
        check(url, uploads, outcomes)
    entries = sum(up.size for up in uploads)
    latencies = sorted(x for o in outcomes for x in o.latencies)
    requests = sum(o.requests for o in outcomes)
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    where = "PostgreSQL" if is_postgres(db) else "SQLite"
    return (f"| {len(uploads)} | {entries:,} | {sum(len(u.packages) for u in uploads)} "
            f"| {requests} | {workers} × {where} | {took:.2f} s | {entries / took:,.0f} "
            f"| {statistics.median(latencies) * 1e3:.0f} ms | {p95 * 1e3:.0f} ms "
            f"| {server_cpu:.1f} s | {client_cpu:.1f} s | {others:.1f} s | {idle:.1f} s |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=400)
    parser.add_argument("--entries", type=int, default=250)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    county, uploads = prepared(args.stations, args.entries)
    db = "" if args.db == "sqlite" else args.db
    rows = [run_once(county, uploads, db, args.workers) for _ in range(args.runs)]
    print("| stations | entries | packages | requests | server (workers × db) | wall "
          "| entries/s | p50 request | p95 request | server CPU | client CPU | other CPU "
          "| cores idle |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
