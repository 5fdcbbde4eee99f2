"""The county auditors' read API (issue 6 item 7, docs/dashboard.md): JSON for the dashboard.

Every route needs ``Authorization: Bearer <token>`` of a live auditor (``county auditor
add``; only the token's SHA-256 is stored). A town auditor sees its town's stations only.
Nothing here changes a record: the writes besides the access log are an unmask request,
kept in the county and relayed to the station, and the purge of expired unmask answers.
The county cannot unseal the station's records (the per-person keys never leave the
station), so every case here is shown masked; a station's sealed answer to an unmask
request is opened for the auditor who asked only.

The figures are the audit's own: ``audit_station`` (the per-log step of ``audit_county``,
which ``county audit`` runs) for a month, kept in the county database
(``sync/county/audit_results.py``) so every worker reads the same results;
``kpi_table`` over the facts for the trend; ``compute_kpis`` on the folded log for the
cases behind a figure. Each request is rate-limited per auditor (and, before a token is
known, per client address) and logged with the auditor and time.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from station_app.crypto.kem import SUITE_ID, seal_to
from station_app.domain.audit import (
    KPI_BY_CODE,
    KPI_DEFINITIONS,
    AuditThresholds,
    KpiResult,
    Period,
    compute_kpis,
)
from station_app.domain.audit.kpi import first_and_followups
from station_app.domain.audit.rag import station_rag
from station_app.domain.audit.records import FoldedLog, fold_station_log
from station_app.domain.cases import Case, case_deadlines, finished_on_time
from station_app.domain.clock import iso, local_day
from station_app.errors import FileInvalid, StationError
from sync.county.audit import StationAudit, decode_stored, load_thresholds, town_of
from sync.county.audit_results import AuditResults, period_key
from sync.county.kpis import kpi_table, refresh_facts
from sync.county.service import County, open_unmask_answer
from sync.county.store import StationRow
from sync.protocol import ProtocolError, key_id
from sync.relay import (
    ANSWER_FIELDS,
    UNMASK_REQUEST,
    RelayHeader,
    envelope_bytes,
    payload_bytes,
    seal_envelope,
)

TOKEN_BYTES = 32  # 256 bits
MIN_REASON = 4  # characters an unmask reason needs at least
# How long a station's answer to an unmask request can be read (days after it arrived):
# ``unmask_answer_days`` in the county folder's dashboard.json, 1–90, else this.
ANSWER_DAYS = 7
MAX_ANSWER_DAYS = 90
DASHBOARD_FILE = "dashboard.json"
PENDING, ANSWERED, EXPIRED = "pending", "answered", "expired"  # an unmask request's state
MAX_BODY = 4096
MAX_TREND_MONTHS = 24
RATE_PER_SECOND = 5.0  # a dashboard page makes a handful of requests; a script, many
BURST = 30
FAILED_AUTH_PER_MINUTE = 10  # per client address: guessing a 256-bit token is hopeless anyway
MASK = "＊＊＊（个人信息在站点加密保存）"
SPOTCHECK_DIR = "spotchecks"
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Auditor:
    name: str
    town: str | None  # None: the whole county

    def sees(self, station: str) -> bool:
        return self.town is None or town_of(station) == self.town


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One request as the web layer (sync/county/app.py) hands it over: no framework here."""

    method: str
    path: str  # with the query string, as logged
    query: Mapping[str, str]
    path_params: Mapping[str, str]
    authorization: str
    client: str
    body: bytes = b""


# (path, handler name, methods): mounted by sync/county/app.py
ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/v1/audit/whoami", "whoami", ("GET",)),
    ("/v1/audit/overview", "overview", ("GET",)),
    ("/v1/audit/trend", "trend", ("GET",)),
    ("/v1/audit/station/{code}", "station", ("GET",)),
    ("/v1/audit/station/{code}/cases", "cases", ("GET",)),
    ("/v1/audit/unmask", "unmask", ("POST",)),
    ("/v1/audit/unmask-log", "unmask_log", ("GET",)),
    ("/v1/audit/unmask/{id}", "unmask_answer", ("GET",)),
)
Answer = tuple[int, dict[str, Any]]


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.status, self.code, self.detail = status, code, detail

    def answer(self) -> Answer:
        return self.status, {"error": self.code, **({"detail": self.detail} if self.detail
                                                     else {})}


class RateLimiter:
    """A token bucket per key: ``rate`` requests a second, bursts of ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            allowed = tokens >= 1
            self._buckets[key] = (tokens - 1 if allowed else tokens, now)
            if len(self._buckets) > 10_000:  # forget idle clients rather than grow forever
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
            return allowed


class ReadApi:
    def __init__(self, county: County, folder: Path | None = None) -> None:
        self.county, self.folder = county, folder
        self.requests = RateLimiter(RATE_PER_SECOND, BURST)
        self.failures = RateLimiter(FAILED_AUTH_PER_MINUTE / 60, FAILED_AUTH_PER_MINUTE)
        self.results = AuditResults(county.db)

    def answer(self, name: str, request: Request) -> Answer:
        """Run the route ``name`` (see ``ROUTES``) for ``request``; blocking (the database),
        so the web layer calls it in a worker thread. Every request is logged."""
        who = "-"
        try:
            auditor = self._authenticate(request)
            who = auditor.name
            if not self.requests.allow(auditor.name):
                raise ApiError(429, "rate-limited")
            if len(request.body) > MAX_BODY:
                raise ApiError(413, "too-large")
            handler: Callable[[Auditor, Request], dict[str, Any]] = getattr(self, name)
            result: Answer = (200, handler(auditor, request))
        except ApiError as error:
            result = error.answer()
        except StationError as error:  # bad input (a month, a KPI code): its own message
            result = (400, {"error": "invalid", "detail": error.text})
        self._log(who, request, result[0])
        return result

    def _authenticate(self, request: Request) -> Auditor:
        client = request.client
        scheme, _, token = request.authorization.partition(" ")
        found = None
        if scheme.lower() == "bearer" and token.strip():
            with self.county.db.read() as tx:
                found = tx.auditor_by_token(token_hash(token.strip()))
        if found is None:
            if not self.failures.allow(client):
                raise ApiError(429, "rate-limited")
            raise ApiError(401, "unauthorized", "需要有效的审核账号令牌")
        return Auditor(*found)

    def _log(self, who: str, request: Request, status: int) -> None:
        with self.county.db.write() as tx:
            tx.log_access(who, iso(self.county.now()), request.method, request.path, status)

    def _thresholds(self) -> AuditThresholds:
        return load_thresholds(self.folder) if self.folder is not None else AuditThresholds()

    def _period(self, request: Request) -> tuple[str, Period]:
        month = request.query.get("month") or f"{local_day(self.county.now()):%Y-%m}"
        return month, Period.month(month)

    def _audit(self, period: Period, station: str | None = None) -> list[StationAudit]:
        """Every live log's audit for ``period`` (or one station code's) — ``audit_station``,
        the per-log step of ``audit_county`` (``county audit``) — from the results the
        county keeps (sync/county/audit_results.py): shared by every worker process and
        audited again only when the log, its evidence, the thresholds or the day changed."""
        return self.results.audits(period=period, now=self.county.now(),
                                   thresholds=self._thresholds(), station=station)

    def _audited_at(self, period: Period) -> dict[str, str]:
        """origin → when its kept audit was made: time-dependent findings are as of then."""
        with self.county.db.read() as tx:
            return {o: k[3] for o, k in tx.audit_result_keys(period_key(period)).items()}

    def _row(self, auditor: Auditor, code: str) -> StationRow:
        """The station's live log (its newest enrollment), if the auditor may see it."""
        if not auditor.sees(code):
            raise ApiError(403, "forbidden", "无权查看其他乡镇的站点")
        with self.county.db.read() as tx:
            rows = tx.stations(code)
        if not rows:
            raise ApiError(404, "unknown-station", "没有这个站点")
        live = [r for r in rows if r.revoked_at is None]
        return (live or rows)[-1]

    # ------------------------------------------------------------------ routes

    def whoami(self, auditor: Auditor, request: Request) -> dict[str, Any]:
        return {"auditor": auditor.name, "town": auditor.town, "county": self.county.keys.county,
                "now": iso(self.county.now()), "kpis": [d.to_dict() for d in KPI_DEFINITIONS]}

    def overview(self, auditor: Auditor, request: Request) -> dict[str, Any]:
        month, period = self._period(request)
        audits = self._audit(period)
        thresholds = self._thresholds()
        stations = [a for a in audits if auditor.sees(a.station)]
        audited = self._audited_at(period)
        rows = [{**_overview_row(a, thresholds), "audited_at": audited.get(a.origin)}
                for a in stations]
        return {"month": month, "period": _period_dict(period), "now": iso(self.county.now()),
                "scope": {"auditor": auditor.name, "town": auditor.town},
                "kpis": [d.to_dict() for d in KPI_DEFINITIONS],
                "towns": sorted({a.town for a in stations}),
                "stations": rows, "rag_counts": {c: sum(r["rag"]["status"] == c for r in rows)
                                                 for c in ("red", "amber", "green")}}

    def trend(self, auditor: Auditor, request: Request) -> dict[str, Any]:
        text = request.query.get("months", "6")
        if not text.isdigit() or not 1 <= int(text) <= MAX_TREND_MONTHS:
            raise ApiError(400, "invalid", f"months 应为 1–{MAX_TREND_MONTHS}")
        town = request.query.get("town") or auditor.town
        if auditor.town is not None and town != auditor.town:
            raise ApiError(403, "forbidden", "无权查看其他乡镇")
        now = self.county.now()
        month = request.query.get("month") or f"{local_day(now):%Y-%m}"
        refresh_facts(self.county.db, now=now)  # the facts are a cache of the logs
        series = []
        for m in months_up_to(Period.month(month).first, int(text)):
            table = kpi_table(self.county.db, period=Period.month(m), now=now)
            unit = table.county if town is None else table.towns.get(town, {})
            series.append({"month": m, "kpis": {c: _figure(r) for c, r in unit.items()}})
        return {"scope": town or "county", "months": series,
                "kpis": [d.to_dict() for d in KPI_DEFINITIONS]}

    def station(self, auditor: Auditor, request: Request) -> dict[str, Any]:
        code = request.path_params["code"]
        row = self._row(auditor, code)
        month, period = self._period(request)
        audits = [a for a in self._audit(period, code) if a.origin == row.origin]
        if not audits:
            raise ApiError(404, "unknown-station", "没有这个站点")
        a = audits[0]
        with self.county.db.read() as tx:
            asked = tx.unmask_requests(code)
        return {"month": month, "period": _period_dict(period), "station": a.station,
                "station_name": a.name, "town": a.town, "origin": a.origin,
                "entries": a.entries, "root": a.root, "verified": a.verified,
                "revoked": a.revoked, "audited_at": self._audited_at(period).get(a.origin),
                "rag": station_rag(a.findings, a.kpis, self._thresholds()).to_dict(),
                "kpis": [_defined(a.kpis[d.code]) for d in KPI_DEFINITIONS],
                "findings": [f.to_dict() for f in a.findings], "seven": dict(a.seven),
                "spotcheck": self._drawn(month, code),
                "unmask_requests": self._requests(auditor, asked)}

    def cases(self, auditor: Auditor, request: Request) -> dict[str, Any]:
        """The cases (or proxy entries, or rated subjects) behind one KPI of one station."""
        code = request.path_params["code"]
        kpi = request.query.get("kpi", "")
        if kpi not in KPI_BY_CODE:
            raise ApiError(400, "invalid", f"未知的考核指标“{kpi}”")
        row = self._row(auditor, code)
        month, period = self._period(request)
        folded = self._fold(row)
        result = compute_kpis(folded.records, period, folded.calendar, self.county.now())[kpi]
        counted = set(result.numerator_cases)
        return {"month": month, "station": code, "kpi": _defined(result),
                "rows": [{**_subject(folded, n), "in_numerator": n in counted}
                         for n in result.denominator_cases]}

    def unmask(self, auditor: Auditor, request: Request) -> dict[str, Any]:
        ask = _json_object(request.body)
        code, case_no = str(ask.get("station") or ""), str(ask.get("case") or "")
        reason = str(ask.get("reason") or "").strip()
        if len(reason) < MIN_REASON:
            raise ApiError(400, "reason-required", f"请填写查看事由（至少 {MIN_REASON} 个字）")
        row = self._row(auditor, code)
        if not any(c.case_no == case_no for c in self._fold(row).records.cases):
            raise ApiError(404, "unknown-case", "该站点没有这个办件")
        now = iso(self.county.now())
        request_id = secrets.token_hex(16)
        envelope = self._envelope(row, request_id, now, {
            "case_no": case_no, "auditor": auditor.name, "reason": reason[:500],
            "requested_at": now})
        with self.county.db.write() as tx:
            tx.add_unmask_request(request_id, auditor.name, now, code, case_no, reason[:500])
            tx.add_relay(code, self.county.keys.county, request_id,
                         envelope_bytes(envelope).decode(), now)
        return {"ok": True, "id": request_id, "station": code, "case": case_no, "at": now,
                "relayed": True}

    def unmask_log(self, auditor: Auditor, request: Request) -> dict[str, Any]:
        station = request.query.get("station") or None
        if station is not None and not auditor.sees(station):
            raise ApiError(403, "forbidden", "无权查看其他乡镇的站点")
        with self.county.db.read() as tx:
            rows = tx.unmask_requests(station)
        return {"requests": self._requests(auditor, [r for r in rows if auditor.sees(r[3])])}

    def unmask_answer(self, auditor: Auditor, request: Request) -> dict[str, Any]:
        """A station's answer to an unmask request, opened for the auditor who asked — and
        for nobody else. Each reading is logged (``audit_access``: who, when, this path)."""
        request_id = request.path_params["id"]
        days = self._purge_expired()
        with self.county.db.read() as tx:
            asked = tx.unmask_request(request_id)
            stored = tx.unmask_answer(request_id) if asked is not None else None
        if asked is None:
            raise ApiError(404, "unknown-request", "没有这条查看申请")
        if asked[1] != auditor.name:
            raise ApiError(403, "forbidden", "只有提出申请的审核人员本人可以查看答复")
        shown = {**_request_dict(asked), "logged": True}
        if stored is None:
            return {**shown, "state": PENDING}
        expires = datetime.fromisoformat(stored[2]) + timedelta(days=days)
        if self.county.now() >= expires or not stored[1]:  # past its days, or purged
            raise ApiError(410, "expired",
                           f"站点的答复只保留 {days} 天，已过期；如仍需查看请重新申请")
        try:
            answer = open_unmask_answer(self.county.keys, json.loads(stored[1]))
        except ProtocolError:  # its county key was retired since: as good as expired
            raise ApiError(410, "expired", "站点的答复已无法解密（县级密钥已更换），请重新申请"
                           ) from None
        return {**shown, "state": ANSWERED, "status": answer["status"],
                "fields": {f: answer[f] for f in ANSWER_FIELDS},
                "answered_at": answer["answered_at"], "received_at": stored[2],
                "expires_at": iso(expires)}

    # ------------------------------------------------------------------ helpers

    def _requests(self, auditor: Auditor, rows: list[tuple[str, str, str, str, str, str]]
                  ) -> list[dict[str, Any]]:
        """Unmask requests with their answers' state (pending, answered, expired) and
        whether ``auditor`` made each one (only they may open its answer)."""
        days = self._purge_expired()
        with self.county.db.read() as tx:
            answered = tx.unmask_answer_times()
        now = self.county.now()
        out: list[dict[str, Any]] = []
        for r in rows:
            at = answered.get(r[0])
            state = PENDING if at is None else EXPIRED if (
                now >= datetime.fromisoformat(at) + timedelta(days=days)) else ANSWERED
            out.append({**_request_dict(r), "state": state, "answered_at": at,
                        "mine": r[1] == auditor.name})
        return out

    def _purge_expired(self) -> int:
        """Empty the answers past their days (they need not stay decryptable); the days."""
        days = self._answer_days()
        with self.county.db.write() as tx:
            tx.purge_unmask_answers(iso(self.county.now() - timedelta(days=days)))
        return days

    def _answer_days(self) -> int:
        """``unmask_answer_days`` from the county folder's dashboard.json (else 7)."""
        path = self.folder / DASHBOARD_FILE if self.folder is not None else None
        if path is None or not path.exists():
            return ANSWER_DAYS
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FileInvalid(where=f"{path.name}：", reason=f"不是有效的 JSON（{exc}）") from None
        days = raw.get("unmask_answer_days", ANSWER_DAYS) if isinstance(raw, dict) else None
        if isinstance(days, bool) or not isinstance(days, int) \
                or not 1 <= days <= MAX_ANSWER_DAYS:
            raise FileInvalid(where=f"{path.name}：",
                              reason=f"unmask_answer_days 应为 1–{MAX_ANSWER_DAYS} 的整数")
        return days

    def _fold(self, row: StationRow) -> FoldedLog:
        with self.county.db.read() as tx:
            stored = tx.entries(row.origin)
        entries, _ = decode_stored(row.code, stored)
        return fold_station_log(row.code, entries)

    def _envelope(self, row: StationRow, request_id: str, now: str,
                  payload: Mapping[str, Any]) -> dict[str, Any]:
        """The request sealed to the station's KEM key and signed by the county's cosigner:
        only that station can read it, and it knows the county sent it."""
        keys = self.county.keys
        header = RelayHeader(sender=keys.county, to=row.code, id=request_id,
                             kind=UNMASK_REQUEST, sent=now, kem=key_id(row.kem_public),
                             suite=SUITE_ID)
        sealed = seal_to(row.kem_public, payload_bytes(UNMASK_REQUEST, payload), header.info())
        return seal_envelope(header, sealed, sender_public=keys.cosigner.public_key,
                             sign=keys.cosigner.sign)

    def _drawn(self, month: str, code: str) -> dict[str, Any] | None:
        """This station's part of the month's newest 调阅 draw (``county spotcheck draw``)."""
        if self.folder is None or not _MONTH.match(month):
            return None
        draws = sorted((self.folder / SPOTCHECK_DIR).glob(f"{month}-*.json"),
                       key=lambda p: p.stat().st_mtime)
        if not draws:
            return None
        doc = json.loads(draws[-1].read_text(encoding="utf-8"))
        mine = [s for s in doc.get("stations", []) if s.get("station") == code]
        return {"seed": doc.get("seed"), "month": doc.get("month"),
                "station": mine[0] if mine else None}


def _overview_row(a: StationAudit, thresholds: AuditThresholds) -> dict[str, Any]:
    severities = [f.severity.value for f in a.findings]
    return {"station": a.station, "station_name": a.name, "town": a.town, "origin": a.origin,
            "entries": a.entries, "verified": a.verified, "revoked": a.revoked,
            "status": a.status, "flags": len(a.findings), "flags_red": severities.count("RED"),
            "flags_amber": severities.count("AMBER"),
            "rag": station_rag(a.findings, a.kpis, thresholds).to_dict(),
            "kpis": {c: _figure(r) for c, r in a.kpis.items()}}


def _figure(r: KpiResult) -> dict[str, Any]:
    return {"value": r.value, "numerator": r.numerator, "denominator": r.denominator}


def _defined(r: KpiResult) -> dict[str, Any]:
    """A figure with its name and its definition (what the numerator and denominator count)."""
    d = KPI_BY_CODE[r.code]
    return {"code": d.code, "name": d.name, **_figure(r), "definition": d.to_dict()}


def _period_dict(period: Period) -> dict[str, str]:
    return {"from": period.first.isoformat(), "to": period.last.isoformat()}


def _request_dict(r: tuple[str, str, str, str, str, str]) -> dict[str, str]:
    return dict(zip(("id", "auditor", "at", "station", "case", "reason"), r, strict=True))


def _subject(folded: FoldedLog, number: str) -> dict[str, Any]:
    """One case (or proxy entry) as the auditor sees it: dates, state, deadline, on time,
    首评 level — and the applicant masked."""
    records = folded.records
    first, _ = first_and_followups(records.evaluations)
    rating = first.get(number)
    level = {"evaluation": rating.level.value if rating else None,
             "evaluation_label": rating.level.label if rating else None}
    case = next((c for c in records.cases if c.case_no == number), None)
    if case is not None:
        return {"kind": "case", "number": number, **_case(case, folded), **level,
                "applicant_masked": MASK}
    proxy = next((p for p in records.proxies if p.proxy_no == number), None)
    if proxy is not None:
        return {"kind": "proxy", "number": number, "item": proxy.item.code,
                "item_name": proxy.item.name, "received": iso(proxy.registered_at),
                "accepted": None, "closed": None, "state": proxy.state.value,
                "state_label": proxy.state.label, "deadline": None, "on_time": None, **level,
                "applicant_masked": MASK}
    return {"kind": "unknown", "number": number, **level}


def _case(case: Case, folded: FoldedLog) -> dict[str, Any]:
    deadline = case_deadlines(case, folded.calendar).current
    due = getattr(deadline, "due", deadline)
    return {"item": case.item.code, "item_name": case.item.name,
            "received": iso(case.received_at),
            "accepted": iso(case.accepted_at) if case.accepted_at else None,
            "closed": iso(case.closed_at) if case.closed_at else None,
            "state": case.state.value, "state_label": case.state.label,
            "deadline": _day_text(due), "on_time": finished_on_time(case, folded.calendar)}


def _day_text(due: Any) -> str | None:
    if isinstance(due, datetime):
        return iso(due)
    return due.isoformat() if isinstance(due, date) else None


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "malformed", "请求不是 JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "malformed", "请求应为 JSON 对象")
    return value


def months_up_to(first: date, count: int) -> list[str]:
    """``count`` months ending with the one of ``first``, oldest first."""
    index = first.year * 12 + first.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]
