"""Read queries over the projections. Results are plain frozen dataclasses, never SQL rows."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlite_utils import Database

from station_app.domain.cases import CaseEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class StationInfo:
    code: str
    name: str
    region: str
    level: str
    origin: str
    public_key: str
    created_at: str
    demo: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseFilter:
    states: tuple[str, ...] = ()
    item_code: str = ""
    received_from: str = ""  # ISO date, inclusive
    received_to: str = ""  # ISO date, inclusive
    overdue_at: int | None = None  # epoch seconds: open cases whose deadline passed by then
    due_by: int | None = None  # epoch seconds: open cases due by then (due soon)
    text: str = ""  # case number, item name, agent or 代办序号
    applicants: tuple[str, ...] | None = None  # person ids found by a blind-index lookup
    order: str = "deadline"  # deadline | received | number
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseRow:
    case_no: str
    state: str
    item_code: str
    item_name: str
    case_type: str
    channel: str
    applicant: str
    applicant_name: str  # masked
    agent: str
    proxy_no: str
    received_at: str
    accepted_at: str | None
    closed_at: str | None
    deadline: str | None
    deadline_ts: int | None
    deadline_kind: str
    estimated: bool
    promised_deadline: str | None
    legal_deadline: str | None
    on_time: bool | None
    visits: int


# The worklist order in one indexed integer: open cases by deadline, then open cases with the
# clock stopped, then closed ones. "Overdue at t" is then simply ``due_key < t``.
OPEN_WITHOUT_DEADLINE = 10**11
CLOSED = 2 * 10**11


def due_key(is_open: bool, deadline_ts: int | None) -> int:
    if not is_open:
        return CLOSED + (deadline_ts or 0)
    return OPEN_WITHOUT_DEADLINE if deadline_ts is None else deadline_ts


_CLOSED_STATES = {"REJECTED", "FINISHED", "WITHDRAWN", "VOID"}
_ORDER = {
    # open cases first, soonest deadline first (see projection.due_key)
    "deadline": "c.due_key, c.case_no",
    "received": "c.received_at DESC, c.case_no DESC",
    "number": "c.case_no",
}


def station_info(db: Database) -> StationInfo | None:
    row = db.execute("SELECT code, name, region, level, origin, public_key, created_at, demo"
                     " FROM station WHERE id = 1").fetchone()
    if row is None:
        return None
    return StationInfo(code=row[0], name=row[1], region=row[2], level=row[3], origin=row[4],
                       public_key=row[5], created_at=row[6], demo=bool(row[7]))


def _case_where(f: CaseFilter, *, ordered: bool = True) -> tuple[str, list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    _state_clauses(f.states, clauses, params, ordered)
    if f.item_code:
        clauses.append("c.item_code = ?")
        params.append(f.item_code)
    _day_range("c.received_at", f.received_from, f.received_to, clauses, params)
    # due_key orders open cases by deadline ahead of everything else, so a bound on it
    # selects exactly the open cases due by then, through the index
    for bound, op in ((f.overdue_at, "<"), (f.due_by, "<=")):
        if bound is not None:
            clauses.append(f"c.due_key {op} ?")
            params.append(bound)
    if f.text:  # one column holding number, item name, agent and 代办序号
        clauses.append("c.search_text LIKE ?")
        params.append(f"%{f.text.strip()}%")
    if f.applicants is not None:
        clauses.append(f"c.applicant IN ({','.join('?' * len(f.applicants)) or 'NULL'})")
        params += f.applicants
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _day_range(column: str, first: str, last: str, clauses: list[str],
               params: list[object]) -> None:
    """ISO timestamps in ``column`` on days ``first`` … ``last`` (either may be blank)."""
    if first:
        clauses.append(f"{column} >= ?")
        params.append(first)
    if last:
        clauses.append(f"{column} < ?")
        params.append(last + "T99")  # sorts after every time on that day


def _state_clauses(states: tuple[str, ...], clauses: list[str], params: list[object],
                   ordered: bool) -> None:
    if len(states) == 1 or (states and not ordered):
        # the (state, due_key) index serves the filter, the order and counting
        clauses.append(f"c.state IN ({','.join('?' * len(states))})")
        params += states
    elif states:
        # Several states: walk the worklist index in deadline order instead of sorting every
        # matching row ("+" keeps SQLite from picking the state index); an all-open list is
        # also a range on due_key.
        clauses.append(f"+c.state IN ({','.join('?' * len(states))})")
        params += states
        if not set(states) & _CLOSED_STATES:
            clauses.append("c.due_key < ?")
            params.append(CLOSED)


def search_cases(db: Database, f: CaseFilter) -> list[CaseRow]:
    where, params = _case_where(f)
    sql = (
        "SELECT c.case_no, c.state, c.item_code, c.item_name, c.case_type, c.channel,"
        " c.applicant, COALESCE(p.name_masked, ''), c.agent, c.proxy_no, c.received_at,"
        " c.accepted_at, c.closed_at, c.deadline, c.deadline_kind, c.estimated,"
        " c.promised_deadline, c.legal_deadline, c.on_time, c.visits, c.deadline_ts"
        " FROM cases c LEFT JOIN person p ON p.person = c.applicant"
        f"{where} ORDER BY {_ORDER.get(f.order, _ORDER['deadline'])} LIMIT ? OFFSET ?")
    rows = db.execute(sql, [*params, f.limit, f.offset]).fetchall()
    return [CaseRow(
        case_no=r[0], state=r[1], item_code=r[2], item_name=r[3], case_type=r[4], channel=r[5],
        applicant=r[6], applicant_name=r[7], agent=r[8], proxy_no=r[9], received_at=r[10],
        accepted_at=r[11], closed_at=r[12], deadline=r[13], deadline_kind=r[14],
        estimated=bool(r[15]), promised_deadline=r[16], legal_deadline=r[17],
        on_time=None if r[18] is None else bool(r[18]), visits=r[19], deadline_ts=r[20])
        for r in rows]


def count_cases(db: Database, f: CaseFilter) -> int:
    where, params = _case_where(f, ordered=False)
    return db.execute(f"SELECT COUNT(*) FROM cases c{where}", params).fetchone()[0]


def load_events(db: Database, table: str, key: str, number: str) -> list[CaseEvent]:
    """Every entry about one case (or proxy entry), in log order."""
    return [CaseEvent(idx=r[0], kind=r[1], actor=r[2], body=json.loads(r[3]))
            for r in db.execute(
                f"SELECT idx, kind, actor, body FROM {table} WHERE {key} = ? ORDER BY idx",
                [number])]


def next_sequence(db: Database, table: str, period_column: str, period: object) -> int:
    row = db.execute(f"SELECT MAX(seq) FROM {table} WHERE {period_column} = ?",
                     [period]).fetchone()
    return (row[0] or 0) + 1


def person_ids(db: Database, column: str, key: str) -> list[str]:
    return [r[0] for r in db.execute(
        f"SELECT person FROM person WHERE {column} = ? AND erased = 0 ORDER BY idx", [key])]


def person_cert_type(db: Database, person: str) -> str | None:
    row = db.execute("SELECT cert_type FROM person WHERE person = ?", [person]).fetchone()
    return None if row is None else row[0]


def masked_person(db: Database, person: str) -> dict[str, object] | None:
    row = db.execute("SELECT name_masked, cert_type, cert_masked, phone_masked, address_masked,"
                     " erased FROM person WHERE person = ?", [person]).fetchone()
    if row is None:
        return None
    return {"name": row[0], "cert_type": row[1], "cert_no": row[2], "phone": row[3],
            "address": row[4], "erased": bool(row[5])}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyFilter:
    states: tuple[str, ...] = ()
    text: str = ""
    item_code: str = ""
    registered_from: str = ""  # ISO date, inclusive
    registered_to: str = ""  # ISO date, inclusive
    submit_overdue_at: int | None = None  # epoch seconds: still not handed to the town by then
    villagers: tuple[str, ...] | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyRow:
    proxy_no: str
    state: str
    item_code: str
    item_name: str
    villager: str
    villager_name: str  # masked
    agent: str
    village_group: str
    registered_at: str
    submit_due: str
    submitted_at: str | None
    case_no: str
    estimated: bool


def search_proxies(db: Database, f: ProxyFilter) -> list[ProxyRow]:
    clauses: list[str] = []
    params: list[object] = []
    if f.states:
        clauses.append(f"x.state IN ({','.join('?' * len(f.states))})")
        params += f.states
    if f.text:
        like = f"%{f.text.strip()}%"
        clauses.append("(x.proxy_no LIKE ? OR x.item_name LIKE ? OR x.agent LIKE ?"
                       " OR x.village_group LIKE ? OR x.case_no LIKE ?)")
        params += [like] * 5
    if f.item_code:
        clauses.append("x.item_code = ?")
        params.append(f.item_code)
    _day_range("x.registered_at", f.registered_from, f.registered_to, clauses, params)
    if f.submit_overdue_at is not None:
        clauses.append("x.state = 'REGISTERED' AND x.submit_due_ts < ?")
        params.append(f.submit_overdue_at)
    if f.villagers is not None:
        clauses.append(f"x.villager IN ({','.join('?' * len(f.villagers)) or 'NULL'})")
        params += f.villagers
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = db.execute(
        "SELECT x.proxy_no, x.state, x.item_code, x.item_name, x.villager,"
        " COALESCE(p.name_masked, ''), x.agent, x.village_group, x.registered_at, x.submit_due,"
        " x.submitted_at, x.case_no, x.estimated FROM proxies x"
        f" LEFT JOIN person p ON p.person = x.villager{where}"
        " ORDER BY x.registered_at DESC, x.proxy_no DESC LIMIT ? OFFSET ?",
        [*params, f.limit, f.offset]).fetchall()
    return [ProxyRow(proxy_no=r[0], state=r[1], item_code=r[2], item_name=r[3], villager=r[4],
                     villager_name=r[5], agent=r[6], village_group=r[7], registered_at=r[8],
                     submit_due=r[9], submitted_at=r[10], case_no=r[11], estimated=bool(r[12]))
            for r in rows]


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentRecord:
    doc_id: str
    doc_no: str
    kind: str
    subject: str
    issued_on: str
    issued_by: str
    content_sha256: str
    copies: int
    facts_key: str = ""  # keyed digest of what it shows: the same facts are the same document


_DOC_COLUMNS = ("doc_id, doc_no, kind, subject, issued_on, issued_by, content_sha256, copies, "
                "facts_key")


def _document(row: tuple | None) -> DocumentRecord | None:  # type: ignore[type-arg]
    if row is None:
        return None
    return DocumentRecord(doc_id=row[0], doc_no=row[1], kind=row[2], subject=row[3],
                          issued_on=row[4], issued_by=row[5], content_sha256=row[6],
                          copies=row[7], facts_key=row[8])


def find_document(db: Database, kind: str, subject: str, facts_key: str) -> DocumentRecord | None:
    """The document already issued with exactly these facts (a print of it is a reprint)."""
    return _document(db.execute(
        f"SELECT {_DOC_COLUMNS} FROM document WHERE kind = ? AND subject = ? AND facts_key = ?",
        [kind, subject, facts_key]).fetchone())


def latest_document(db: Database, kind: str, subject: str = "") -> DocumentRecord | None:
    """The newest document of ``kind`` about ``subject`` (by log position)."""
    return _document(db.execute(
        f"SELECT {_DOC_COLUMNS} FROM document WHERE kind = ? AND subject = ? "
        "ORDER BY idx DESC LIMIT 1", [kind, subject]).fetchone())


def document_by_id(db: Database, doc_id: str) -> DocumentRecord | None:
    return _document(db.execute(f"SELECT {_DOC_COLUMNS} FROM document WHERE doc_id = ?",
                                [doc_id]).fetchone())


def documents_about(db: Database, subject: str | None) -> list[DocumentRecord]:
    sql = f"SELECT {_DOC_COLUMNS} FROM document"
    params: list[object] = []
    if subject is not None:
        sql += " WHERE subject = ?"
        params.append(subject)
    return [d for d in (_document(r) for r in db.execute(sql + " ORDER BY idx", params)) if d]


def next_document_seq(db: Database, kind: str, year: int) -> int:
    row = db.execute("SELECT MAX(seq) FROM document WHERE kind = ? AND year = ?",
                     [kind, year]).fetchone()
    return (row[0] or 0) + 1


def copy_with_pdf(db: Database, doc_id: str, pdf_sha256: str) -> int | None:
    """Which printed copy of the document has exactly these PDF bytes, if any."""
    row = db.execute("SELECT copy FROM document_copy WHERE doc_id = ? AND pdf_sha256 = ?",
                     [doc_id, pdf_sha256]).fetchone()
    return None if row is None else row[0]
