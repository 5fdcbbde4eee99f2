"""Projections: the tables screens and queries read, derived from the log alone.

``Projector.apply`` is called for every entry inside the transaction that appends it, and
``Projector.rebuild`` replays the whole log into empty tables through the very same handlers,
so "rebuild gives identical tables" holds by construction (and a test checks it). Cases and
proxy entries are folded from their own entries by the pure domain (``fold_case``), never
patched field by field. Whatever needs the calendar (deadlines) is recomputed for open cases
whenever the calendar changes, so an estimate becomes exact once a year's holidays arrive.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta

from sqlite_utils import Database

from station_app.crypto import keyed_digest, unseal
from station_app.domain import badreview, seven
from station_app.domain.audit import rectification
from station_app.domain.calendar import CalendarYear, DayKind, HolidayCalendar, SpecialDay
from station_app.domain.canonical import canonical_json
from station_app.domain.cases import Case, CaseEvent, case_deadlines, finished_on_time, fold_case
from station_app.domain.catalog import Catalog, catalog_to_dict, item_to_dict, parse_catalog
from station_app.domain.clock import CST, iso
from station_app.domain.deadlines import Deadline
from station_app.domain.identity import CertType
from station_app.domain.log import LogEntry
from station_app.domain.numbering import parse_case_number, parse_proxy_number
from station_app.domain.people import (
    PersonDetails,
    details_from_sealed,
    erased_person,
    mask_person,
)
from station_app.domain.proxy import ProxyEntry, fold_proxy, submit_due, submitted_at
from station_app.domain.states import CASE_TERMINAL, PROXY_TERMINAL
from station_app.errors import CryptoFailure
from station_app.store import notices, relay
from station_app.store.queries import due_key, load_events
from station_app.store.schema import PROJECTION_TABLES
from station_app.store.vault import Vault

PERSON_AAD = b"vss-person/1\n"


def person_aad(person: str) -> bytes:
    return PERSON_AAD + person.encode()


def blind_key(index_key: bytes, field: str, value: str) -> str:
    """The blind index of one personal field (exact match only, by design)."""
    return keyed_digest(index_key, f"{field}\n{value}".encode()).hex()


class Projector:
    def __init__(self, db: Database, vault: Vault, index_key: bytes) -> None:
        self.db = db
        self.vault = vault
        self.index_key = index_key
        self._calendar: tuple[str, HolidayCalendar] | None = None
        self._catalog: tuple[str, Catalog] | None = None
        self._handlers: dict[str, Callable[[LogEntry], None]] = {
            "station.created": self._station_created,
            "catalog.imported": self._catalog_imported,
            "calendar.year_set": self._calendar_year_set,
            "calendar.day_set": self._calendar_day_set,
            "calendar.day_removed": self._calendar_day_removed,
            "person.recorded": self._person_recorded,
            "person.erased": self._person_erased,
            "case.created": self._case_entry,
            "case.moved": self._case_entry,
            "case.visit": self._case_entry,
            "proxy.registered": self._proxy_entry,
            "proxy.moved": self._proxy_entry,
            "station.profile_set": self._profile_set,
            "agent.set": self._agent_set,
            "doc.issued": self._doc_issued,
            "doc.printed": self._doc_printed,
            "user.set": self._user_set,
            "evaluation.recorded": self._evaluation,
            "rating.received": self._qr_rating,
            "notice.items_set": self._notice_items_set,
            "notice.regenerated": self._notice_regenerated,
            "relay.received": lambda entry: relay.apply_received(self.db, entry),
            "relay.handled": lambda entry: relay.apply_handled(self.db, entry),
            rectification.RECEIVED: lambda entry: notices.apply_received(self.db, entry),
            rectification.DONE: lambda entry: notices.apply_answer_entry(self.db, entry),
            rectification.DISPUTED: lambda entry: notices.apply_answer_entry(self.db, entry),
            rectification.DECIDED: lambda entry: notices.apply_decision_entry(self.db, entry),
            badreview.OPENED: self._bad_review_entry,
            badreview.STEP: self._bad_review_entry,
            badreview.APPEALED: self._bad_review_entry,
            badreview.DECIDED: self._bad_review_entry,
            badreview.SETTINGS: self._bad_review_settings,
            seven.CHECKED: self._seven_checked,
            seven.PHOTO: self._evidence_photo,
            "template.published": self._template_published,
            "revocations.published": self._revocations_published,
        }

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def apply(self, entry: LogEntry) -> None:
        handler = self._handlers.get(entry.kind)
        if handler is not None:  # audit-only kinds (person.unmasked …) change no table
            handler(entry)

    def rebuild(self, entries: Iterable[LogEntry]) -> int:
        for table in PROJECTION_TABLES:
            self.db.execute(f"DELETE FROM {table}")
        self._calendar = self._catalog = None
        count = 0
        for entry in entries:
            self.apply(entry)
            count += 1
        return count

    # ------------------------------------------------------------------ cached reads

    def setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM setting WHERE key = ?", [key]).fetchone()
        return None if row is None else row[0]

    def _set(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)", [key, value])

    def calendar(self) -> HolidayCalendar:
        rev = self.setting("calendar_rev") or ""
        if self._calendar is None or self._calendar[0] != rev:
            self._calendar = (rev, _load_calendar(self.db))
        return self._calendar[1]

    def catalog(self) -> Catalog:
        rev = self.setting("catalog_rev") or ""
        if self._catalog is None or self._catalog[0] != rev:
            self._catalog = (rev, _load_catalog(self.db, self.setting("catalog_version"),
                                                self.setting("catalog_issued_by")))
        return self._catalog[1]

    # ------------------------------------------------------------------ handlers

    def _station_created(self, entry: LogEntry) -> None:
        b = entry.body
        self.db.execute(
            # OR REPLACE: a replacement PC's genesis follows the lost PC's, whose creation
            # time stays the station's (docs/recovery.md)
            "INSERT OR REPLACE INTO station (id, code, name, region, level, origin, public_key,"
            " created_at, demo) VALUES (1, ?, ?, ?, ?, ?, ?,"
            " COALESCE((SELECT created_at FROM station WHERE id = 1), ?), ?)",
            [b["code"], b["name"], b["region"], b["level"], entry.origin, b["public_key"],
             entry.t_wall, int(b["demo"])])

    def _catalog_imported(self, entry: LogEntry) -> None:
        catalog = parse_catalog(entry.body["catalog"])
        self.db.execute("DELETE FROM catalog_item")
        for item in catalog.items:
            self.db.execute(
                "INSERT INTO catalog_item (code, name, case_type, proxy_allowed, data)"
                " VALUES (?, ?, ?, ?, ?)",
                [item.code, item.name, item.case_type.value, int(item.proxy_allowed),
                 canonical_json(item_to_dict(item)).decode()])
        self._set("catalog_version", catalog.version)
        self._set("catalog_issued_by", catalog.issued_by)
        self._set("catalog_rev", str(entry.idx))

    def _calendar_year_set(self, entry: LogEntry) -> None:
        b = entry.body
        self.db.execute("DELETE FROM holiday_day WHERE year = ?", [b["year"]])
        for d in b["days"]:
            self.db.execute("INSERT INTO holiday_day (day, kind, name, year) VALUES (?, ?, ?, ?)",
                            [d["date"], d["kind"], d["name"], b["year"]])
        self.db.execute("INSERT OR REPLACE INTO holiday_year (year, source, idx) VALUES (?, ?, ?)",
                        [b["year"], b["source"], entry.idx])
        self._calendar_changed(entry)

    def _calendar_day_set(self, entry: LogEntry) -> None:
        b = entry.body
        self.db.execute(
            "INSERT OR REPLACE INTO holiday_day (day, kind, name, year) VALUES (?, ?, ?, ?)",
            [b["date"], b["kind"], b["name"], int(b["date"][:4])])
        self._calendar_changed(entry)

    def _calendar_day_removed(self, entry: LogEntry) -> None:
        self.db.execute("DELETE FROM holiday_day WHERE day = ?", [entry.body["date"]])
        self._calendar_changed(entry)

    def _calendar_changed(self, entry: LogEntry) -> None:
        self._set("calendar_rev", str(entry.idx))
        open_cases = [r[0] for r in self.db.execute(
            f"SELECT case_no FROM cases WHERE state NOT IN ({_marks(CASE_TERMINAL)})",
            [s.value for s in CASE_TERMINAL])]
        for case_no in open_cases:
            self._write_case(fold_case(self._events("case_events", "case_no", case_no)))
        open_proxies = [r[0] for r in self.db.execute(
            f"SELECT proxy_no FROM proxies WHERE state NOT IN ({_marks(PROXY_TERMINAL)})",
            [s.value for s in PROXY_TERMINAL])]
        for proxy_no in open_proxies:
            self._write_proxy(fold_proxy(self._events("proxy_events", "proxy_no", proxy_no)))
        open_reviews = [r[0] for r in self.db.execute(
            "SELECT review_no FROM bad_review WHERE step != ?", [badreview.Step.CLOSED.value])]
        for review_no in open_reviews:
            self._write_bad_review(review_no)

    def _person_recorded(self, entry: LogEntry) -> None:
        b = entry.body
        person, cert_type = b["person"], CertType(b["cert_type"])
        details = self._open_person(person, b["sealed"], cert_type)
        if details is None:
            masked, name_key, cert_key, erased = erased_person(cert_type), None, None, 1
        else:
            masked, erased = mask_person(details), 0
            name_key = blind_key(self.index_key, "name", details.name)
            cert_key = blind_key(self.index_key, "cert_no", details.cert_no)
        self.db.execute(
            "INSERT INTO person (person, cert_type, name_masked, cert_masked, phone_masked,"
            " address_masked, name_key, cert_key, erased, idx) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [person, cert_type.value, masked.name, masked.cert_no, masked.phone, masked.address,
             name_key, cert_key, erased, entry.idx])

    def _open_person(self, person: str, sealed: str, cert_type: CertType) -> PersonDetails | None:
        key = self.vault.key(person)
        if key is None:
            return None
        try:
            fields = json.loads(unseal(key, base64.b64decode(sealed), person_aad(person)))
        except CryptoFailure:
            return None
        return details_from_sealed(cert_type.value, fields)

    def _person_erased(self, entry: LogEntry) -> None:
        person = entry.body["person"]
        row = self.db.execute("SELECT cert_type FROM person WHERE person = ?", [person]).fetchone()
        if row is None:
            return
        masked = erased_person(CertType(row[0]))
        self.db.execute(
            "UPDATE person SET name_masked = ?, cert_masked = ?, phone_masked = '',"
            " address_masked = '', name_key = NULL, cert_key = NULL, erased = 1"
            " WHERE person = ?", [masked.name, masked.cert_no, person])

    def _case_entry(self, entry: LogEntry) -> None:
        case_no = entry.body["case_no"]
        self._record_event("case_events", "case_no", case_no, entry)
        self._write_case(fold_case(self._events("case_events", "case_no", case_no)))

    def _proxy_entry(self, entry: LogEntry) -> None:
        proxy_no = entry.body["proxy_no"]
        self._record_event("proxy_events", "proxy_no", proxy_no, entry)
        self._write_proxy(fold_proxy(self._events("proxy_events", "proxy_no", proxy_no)))

    def _profile_set(self, entry: LogEntry) -> None:
        for key, value in entry.body["fields"].items():
            self._set(f"profile.{key}", str(value))

    def _agent_set(self, entry: LogEntry) -> None:
        b = entry.body
        self.db.execute(
            "INSERT OR REPLACE INTO agent (agent_id, name, role, phone, village, active, idx)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [b["agent_id"], b["name"], b["role"], b["phone"], b["village"], int(b["active"]),
             entry.idx])

    def _doc_issued(self, entry: LogEntry) -> None:
        b = entry.body
        self.db.execute(
            "INSERT INTO document (doc_id, doc_no, kind, subject, year, seq, issued_on,"
            " issued_by, facts_key, content_sha256, template, copies, idx)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,0,?)",
            [b["doc_id"], b["doc_no"], b["kind"], b["subject"], b["year"], b["seq"],
             b["issued_on"], entry.actor, b["facts_key"], b["content_sha256"],
             canonical_json(b["template"]).decode(), entry.idx])
        self._doc_printed(entry)

    def _doc_printed(self, entry: LogEntry) -> None:
        b = entry.body
        self.db.execute(
            "INSERT INTO document_copy (doc_id, copy, reprint, printed_at, actor, paper, output,"
            " printer, file, pdf_sha256, idx) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [b["doc_id"], b["copy"], int(b["reprint"]), entry.t_wall, entry.actor, b["paper"],
             b["output"], b["printer"], b["file"], b["pdf_sha256"], entry.idx])
        self.db.execute("UPDATE document SET copies = copies + 1 WHERE doc_id = ?",
                        [b["doc_id"]])

    def _user_set(self, entry: LogEntry) -> None:
        b = entry.body
        self.db.execute(
            "INSERT OR REPLACE INTO app_user (user_id, name, role, active, idx)"
            " VALUES (?, ?, ?, ?, ?)", [b["user_id"], b["name"], b["role"], int(b["active"]),
                                        entry.idx])

    def _evaluation(self, entry: LogEntry) -> None:
        b = entry.body
        self.db.execute(
            "INSERT INTO evaluation (subject, idx, subject_kind, level, channel, assess_number,"
            " at, actor, reasons, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [b["subject"], entry.idx, b["subject_kind"], b["level"], b["channel"],
             b["assess_number"], b["at"], entry.actor,
             json.dumps(b.get("reasons", []), ensure_ascii=False), b.get("comment", "")])

    def _qr_rating(self, entry: LogEntry) -> None:
        """A rating relayed from the county's QR page, recorded or refused."""
        b = entry.body
        self.db.execute(
            "INSERT INTO qr_rating_inbox (sender, message_id, rating_id, case_no, assess, level,"
            " received_at, outcome, reason, idx) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [b["from"], b["id"], b["rating_id"], b["case_no"], b["assess"], b["level"],
             b["received_at"], b["outcome"], b["reason"], entry.idx])

    def _notice_items_set(self, entry: LogEntry) -> None:
        """Which catalog items the 公示栏 publishes (absent: every item open to 代办)."""
        items = entry.body["items"]
        if items is None:
            self.db.execute("DELETE FROM setting WHERE key = 'notice_items'")
        else:
            self._set("notice_items", json.dumps(items, ensure_ascii=False))

    def _notice_regenerated(self, entry: LogEntry) -> None:
        b = entry.body
        self.db.execute(
            "INSERT INTO notice_board_version (version, idx, at, origin, doc_id, doc_no, copy,"
            " pdf_sha256, facts_key, file, published, changed)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [b["version"], entry.idx, entry.t_wall, b["origin"], b["doc_id"], b["doc_no"],
             b["copy"], b["pdf_sha256"], b["facts_key"], b["file"],
             canonical_json(b["published"]).decode(),
             canonical_json(b["changed"]).decode()])

    def _seven_checked(self, entry: LogEntry) -> None:
        b = entry.body
        self.db.execute(
            "INSERT INTO seven_check (idx, month, at, checked_by, actor, body)"
            " VALUES (?, ?, ?, ?, ?, ?)", [entry.idx, b["month"], b["at"], b["checked_by"],
                                           entry.actor, canonical_json(dict(b)).decode()])

    def _evidence_photo(self, entry: LogEntry) -> None:
        b = entry.body
        # the first entry with a hash is kept: the service never writes the same photo twice
        self.db.execute(
            "INSERT OR IGNORE INTO evidence_photo (sha256, idx, mime, width, height, size,"
            " taken_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [b["sha256"], entry.idx, b["mime"], b["width"], b["height"], b["size"],
             b.get("taken_at"), b.get("note", "")])

    def _bad_review_settings(self, entry: LogEntry) -> None:
        settings = badreview.settings_from_body(entry.body)
        self._set("badreview.settings", canonical_json(settings.to_body()).decode())
        # which county publication set them ("0": the station's own), so the station
        # knows the county's settings are in force and refuses to change them
        publication = entry.body.get("publication")
        self._set("badreview.settings_publication",
                  str(publication["version"]) if publication else "0")

    def _bad_review_entry(self, entry: LogEntry) -> None:
        review_no = entry.body["review_no"]
        self._record_event("bad_review_events", "review_no", review_no, entry)
        self._write_bad_review(review_no)

    def _write_bad_review(self, review_no: str) -> None:
        rows = self.db.execute(
            "SELECT kind, body, actor, idx FROM bad_review_events WHERE review_no = ?"
            " ORDER BY idx", [review_no]).fetchall()
        review = badreview.fold([(r[0], json.loads(r[1]), r[2]) for r in rows])
        due = badreview.due(review, self.calendar())
        closed = review.appeal.decided_at if review.overturned and review.appeal else \
            (review.history[-1].at if not review.is_open and review.history else None)
        self.db.execute(
            "INSERT OR REPLACE INTO bad_review (review_no, subject, subject_kind, level,"
            " assess_number, step, owner, opened_at, clock_start, due, due_ts, estimated,"
            " appeal, overturned, closed_at, created_idx, updated_idx)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [review.review_no, review.subject, review.subject_kind, review.level,
             review.assess_number, review.step.value, review.owner, iso(review.opened_at),
             review.clock_start.isoformat(), due.day.isoformat() if due else None,
             end_of_day_ts(due.day) if due else None, int(bool(due and due.estimated)),
             _appeal_state(review), int(review.overturned), _iso_or_none(closed),
             rows[0][3], rows[-1][3]])

    def _template_published(self, entry: LogEntry) -> None:
        """One template of a county publication; a newer publication replaces the whole
        earlier set (a template it leaves out falls back to the bundled one)."""
        b = entry.body
        version = b["publication"]["version"]
        self.db.execute("DELETE FROM published_template WHERE publication < ?", [version])
        self.db.execute(
            "INSERT OR REPLACE INTO published_template (name, version, toml, sha256,"
            " publication, idx) VALUES (?, ?, ?, ?, ?, ?)",
            [b["name"], b["version"], b["toml"], b["sha256"], version, entry.idx])

    def _revocations_published(self, entry: LogEntry) -> None:
        b = entry.body
        self.db.execute("DELETE FROM revoked_station")
        for r in b["revoked"]:
            self.db.execute(
                "INSERT INTO revoked_station (origin, station, revoked_at, size, reason,"
                " publication) VALUES (?, ?, ?, ?, ?, ?)",
                [r["origin"], r["station"], r["revoked_at"], r["size"], r["reason"],
                 b["publication"]["version"]])

    # ------------------------------------------------------------------ aggregates

    def _record_event(self, table: str, key: str, number: str, entry: LogEntry) -> None:
        self.db.execute(
            f"INSERT INTO {table} ({key}, idx, kind, actor, body) VALUES (?, ?, ?, ?, ?)",
            [number, entry.idx, entry.kind, entry.actor,
             canonical_json(dict(entry.body)).decode()])

    def _events(self, table: str, key: str, number: str) -> list[CaseEvent]:
        return load_events(self.db, table, key, number)

    def _write_case(self, case: Case) -> None:
        cal = self.calendar()
        dl = case_deadlines(case, cal)
        current_text, current_ts, kind = _current(dl.current, case)
        parsed = parse_case_number(case.case_no)
        on_time = finished_on_time(case, cal)
        self.db.execute(
            "INSERT OR REPLACE INTO cases (case_no, day, seq, item_code, item_name, case_type,"
            " channel, state, applicant, agent, proxy_no, received_at, accepted_at, closed_at,"
            " deadline, deadline_ts, deadline_kind, estimated, due_key, search_text,"
            " promised_deadline, legal_deadline, on_time, visits, created_idx, updated_idx)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [case.case_no, parsed.period if parsed else "", parsed.seq if parsed else 0,
             case.item.code, case.item.name, case.item.case_type.value, case.channel.value,
             case.state.value, case.applicant, case.agent, case.proxy_no,
             iso(case.received_at), _iso_or_none(case.accepted_at), _iso_or_none(case.closed_at),
             current_text, current_ts, kind, int(dl.estimated),
             due_key(case.state.is_open, current_ts),
             "\n".join((case.case_no, case.item.name, case.agent, case.proxy_no)),
             _due_text(dl.promised),
             _due_text(dl.legal), None if on_time is None else int(on_time), case.visits,
             case.created_idx, case.updated_idx])

    def _write_proxy(self, entry: ProxyEntry) -> None:
        due, estimated = submit_due(entry, self.calendar())
        parsed = parse_proxy_number(entry.proxy_no)
        sent = submitted_at(entry)
        self.db.execute(
            "INSERT OR REPLACE INTO proxies (proxy_no, year, seq, item_code, item_name,"
            " villager, agent, village_group, state, registered_at, submit_due, submit_due_ts,"
            " submitted_at, case_no, estimated, created_idx, updated_idx)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [entry.proxy_no, int(parsed.period) if parsed else 0, parsed.seq if parsed else 0,
             entry.item.code, entry.item.name, entry.villager, entry.agent, entry.village_group,
             entry.state.value, iso(entry.registered_at), due.isoformat(), end_of_day_ts(due),
             _iso_or_none(sent), entry.case_no, int(estimated), entry.created_idx,
             entry.updated_idx])


# ---------------------------------------------------------------------- helpers


def _marks(values: Iterable[object]) -> str:
    return ",".join("?" for _ in values)


def _appeal_state(review: badreview.BadReview) -> str:
    """'' (none), PENDING, or the county's outcome."""
    if review.appeal is None:
        return ""
    return review.appeal.outcome.value if review.appeal.outcome else "PENDING"


def _iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def end_of_day_ts(day: date) -> int:
    """The last second of ``day`` in China: a date deadline is met through the whole day."""
    return int(datetime.combine(day + timedelta(days=1), time.min, CST).timestamp()) - 1


def _due_text(deadline: Deadline | None) -> str | None:
    if deadline is None or deadline.due is None:
        return None
    return iso(deadline.due) if isinstance(deadline.due, datetime) else deadline.due.isoformat()


def _current(current: Deadline | date | None, case: Case) -> tuple[str | None, int | None, str]:
    """The deadline the station must meet now, as text, a sortable timestamp and its kind:
    DECISION (受理决定, §32), PROMISED (承诺办结), PAUSED (clock stopped), WAITING (on the
    applicant's 补正) or CLOSED (kept for on-time reporting)."""
    if current is None:
        return None, None, "WAITING" if case.state.is_open else "CLOSED"
    if isinstance(current, date) and not isinstance(current, datetime):
        return current.isoformat(), end_of_day_ts(current), "DECISION"
    kind = "PROMISED" if case.state.is_open else "CLOSED"
    if current.due is None:
        return None, None, "PAUSED"
    if isinstance(current.due, datetime):
        return iso(current.due), int(current.due.timestamp()), kind
    return current.due.isoformat(), end_of_day_ts(current.due), kind


def _load_calendar(db: Database) -> HolidayCalendar:
    days: dict[int, list[SpecialDay]] = {}
    for day, kind, name, year in db.execute("SELECT day, kind, name, year FROM holiday_day"):
        days.setdefault(year, []).append(
            SpecialDay(day=date.fromisoformat(day), kind=DayKind(kind), name=name))
    years = [CalendarYear(year=year, days=tuple(days.get(year, ())), source=source)
             for year, source in db.execute("SELECT year, source FROM holiday_year")]
    return HolidayCalendar.from_years(years)


def _load_catalog(db: Database, version: str | None, issued_by: str | None) -> Catalog:
    rows = [json.loads(r[0]) for r in db.execute("SELECT data FROM catalog_item ORDER BY rowid")]
    empty = Catalog(version=version or "（未导入）", issued_by=issued_by or "")
    return parse_catalog({**catalog_to_dict(empty), "items": rows})

