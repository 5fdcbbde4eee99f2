"""What a document says: the values its template may print, gathered from the projections.

Personal data is masked (GB/T 35273 §7.2) except the applicant's name, which a document
addressed to that person must carry. Dates are written the way official papers write them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from station_app.domain.calendar import working_days_after
from station_app.domain.cases import Case, Outcome, case_deadlines
from station_app.domain.clock import local_day
from station_app.domain.deadlines import Deadline
from station_app.domain.documents import DocKind, check_case_document, check_proxy_document
from station_app.domain.masking import mask_address, mask_certificate, mask_mobile
from station_app.domain.proxy import ProxyEntry, submit_due
from station_app.domain.states import CaseState
from station_app.domain.timelimits import TimeUnit
from station_app.errors import MissingField
from station_app.services.cases import get_case
from station_app.services.notice_items import published_items
from station_app.services.people import open_about, open_person
from station_app.services.profile import agents, profile
from station_app.services.proxy import get_proxy
from station_app.services.station import Station
from station_app.store.queries import load_events


@dataclass
class DocumentFacts:
    """The subject's number, the person (if any) and every value the template may print."""

    subject: str
    person: str | None
    groups: dict[str, dict[str, str]] = field(default_factory=dict)
    lists: dict[str, list[dict[str, str]]] = field(default_factory=dict)


def gather(station: Station, kind: DocKind, subject: str) -> DocumentFacts:
    """Check the document is allowed for the subject's state, then collect its facts."""
    if kind.subject == "case":
        return _case_facts(station, kind, get_case(station, subject))
    if kind.subject == "proxy":
        return _proxy_facts(station, kind, get_proxy(station, subject))
    return _station_facts(station)


def station_group(station: Station) -> dict[str, str]:
    p = profile(station)
    return {"name": station.info.name, "code": station.info.code, "region": station.info.region,
            **{k: p[k] for k in ("short_name", "address", "hours", "phone", "complaint_tel",
                                 "review_organ", "court")}}


def day_text(value: date | datetime | None) -> str:
    if value is None:
        return ""
    d = local_day(value) if isinstance(value, datetime) else value
    return f"{d.year}年{d.month}月{d.day}日"


def moment_text(value: datetime | None) -> str:
    return "" if value is None else f"{day_text(value)} {value:%H:%M}"


# --------------------------------------------------------------------------- cases


def _case_facts(station: Station, kind: DocKind, case: Case) -> DocumentFacts:
    check_case_document(kind, case)
    facts = DocumentFacts(subject=case.case_no, person=case.applicant)
    moves = _moves(station, case.case_no)
    facts.groups = {
        "case": _case_group(case, moves), "item": _item_group(case),
        "applicant": _applicant_group(station, case.applicant),
        "deadline": _deadline_group(station, case),
    }
    facts.lists = {"materials": [_material(m) for m in case.materials]}
    if kind is DocKind.SUPPLEMENT_NOTICE:
        facts.groups["supplement"], facts.lists["missing"] = _supplement(case, moves)
    if kind is DocKind.REJECT_NOTICE:
        _need_remedy_bodies(station)
        d = moves.get(CaseState.REJECTED, {}).get("details", {})
        facts.groups["rejection"] = {"reason": d.get("reason", ""),
                                     "legal_basis": d.get("legal_basis", "")}
    if kind is DocKind.FINISH_NOTICE:
        facts.groups["result"] = _result_group(station, case, moves)
    return facts


def _moves(station: Station, case_no: str) -> dict[CaseState, dict[str, Any]]:
    """The latest move into each state, with its actor (for 受理人员) and details."""
    latest: dict[CaseState, dict[str, Any]] = {}
    for event in load_events(station.db, "case_events", "case_no", case_no):
        if event.kind == "case.moved":
            latest[CaseState(event.body["to"])] = {**event.body, "actor": event.actor}
    return latest


def _case_group(case: Case, moves: Mapping[CaseState, dict[str, Any]]) -> dict[str, str]:
    return {
        "case_no": case.case_no, "received_at": moment_text(case.received_at),
        "accepted_at": moment_text(case.accepted_at),
        "acceptor": moves.get(CaseState.ACCEPTED, {}).get("actor", ""),
        "closed_at": moment_text(case.closed_at), "state": case.state.label,
        "channel": case.channel.label, "visits": str(case.visits),
        "proxy_no": case.proxy_no, "agent": case.agent or "—",
    }


def _item_group(case: Case | ProxyEntry) -> dict[str, str]:
    item = case.item
    return {
        "name": item.name, "code": item.code, "task_code": item.task_code,
        "department": item.department, "case_type": item.case_type.label,
        "promised_limit": item.promised_limit.label, "legal_limit": item.legal_limit.label,
        "place": item.place or "到本中心窗口领取", "hours": item.hours,
        "consult_tel": item.consult_tel, "result_name": item.result_name,
        "legal_basis": item.legal_basis,
    }


def _deadline_group(station: Station, case: Case) -> dict[str, str]:
    dl = case_deadlines(case, station.projector.calendar())
    return {"decision": day_text(dl.decision), "promised": _due_text(dl.promised),
            "legal": _due_text(dl.legal),
            "estimated_note": "（节假日安排尚未公布，日期为估算）" if dl.estimated else ""}


def _due_text(deadline: Deadline | None) -> str:
    if deadline is None:
        return ""
    if deadline.due is None:
        return "（计时暂停中）"
    return moment_text(deadline.due) if isinstance(deadline.due, datetime) \
        else day_text(deadline.due)


def _supplement(case: Case, moves: Mapping[CaseState, dict[str, Any]]
                ) -> tuple[dict[str, str], list[dict[str, str]]]:
    move = moves.get(CaseState.SUPPLEMENT, {})
    details = move.get("details", {})
    due = details.get("supplement_due")
    group = {"requested_at": moment_text(datetime.fromisoformat(move["at"])) if move else "",
             "due": day_text(date.fromisoformat(due)) if due else "______年____月____日",
             "count": str(case.supplements)}
    return group, [{"name": m["name"], "reason": m["reason"]} for m in details.get("missing", [])]


def _result_group(station: Station, case: Case,
                  moves: Mapping[CaseState, dict[str, Any]]) -> dict[str, str]:
    d = moves.get(CaseState.FINISHED, {}).get("details", {})
    outcome = Outcome(d.get("outcome", Outcome.APPROVED.value))
    note = ""
    if outcome is Outcome.DENIED:
        _need_remedy_bodies(station)
        st = station_group(station)
        note = (f"　　不予许可的理由：{d.get('reason') or case.item.legal_basis or '见审批意见'}。"
                f"如对本决定不服，可以自收到本通知书之日起六十日内向{st['review_organ']}申请行政"
                f"复议，或者自收到本通知书之日起六个月内依法向{st['court']}提起行政诉讼。")
    return {"outcome": outcome.label, "cert_name": d.get("cert_name", "—"),
            "cert_no": _licence_number(station, case, d),
            "cert_valid_to": d.get("cert_valid_to", "—"),
            "delivery": d.get("delivery", "窗口领取"), "closed_at": day_text(case.closed_at),
            "denial_note": note}


def _licence_number(station: Station, case: Case, details: Mapping[str, Any]) -> str:
    """The licence number, opened for the paper the applicant takes home (the log keeps it
    sealed); entries written before sealing carry it plain."""
    if "cert_no_sealed" in details:
        number = open_about(station, case.applicant, "cert_no", details["cert_no_sealed"])
        return number if number is not None else details.get("cert_no_masked", "—")
    return str(details.get("cert_no") or "—")


def _need_remedy_bodies(station: Station) -> None:
    """A refusal must tell the applicant where to appeal; without those names it is
    legally incomplete, so it is not printed at all."""
    p = profile(station)
    if not (p["review_organ"] and p["court"]):
        raise MissingField(field="review_organ",
                           label="行政复议机关和行政诉讼法院（请管理员在“设置 → 站点信息”中填写）")


def _material(m: Any) -> dict[str, str]:
    return {"name": m.name, "originals": str(m.originals), "copies": str(m.copies)}


# --------------------------------------------------------------------------- people


def _applicant_group(station: Station, person: str) -> dict[str, str]:
    d = open_person(station, person)
    return {"name": d.name, "cert_type": d.cert_type.label,
            "cert_no": mask_certificate(d.cert_type, d.cert_no),
            "phone": mask_mobile(d.phone) if d.phone else "—",
            "address": mask_address(d.address)}


# --------------------------------------------------------------------------- proxy, station


def _proxy_facts(station: Station, kind: DocKind, entry: ProxyEntry) -> DocumentFacts:
    check_proxy_document(kind, entry)
    cal = station.projector.calendar()
    due, _ = submit_due(entry, cal)
    limit = entry.item.promised_limit
    reply = working_days_after(due, limit.amount, cal)[0] \
        if limit.unit is TimeUnit.WORKING_DAYS else due
    roles = {a.name: a.role for a in agents(station, include_inactive=True)}
    details = dict(entry.details or {})
    facts = DocumentFacts(subject=entry.proxy_no, person=entry.villager)
    facts.groups = {
        "proxy": {"proxy_no": entry.proxy_no, "registered_at": moment_text(entry.registered_at),
                  "village_group": entry.village_group or "—", "submit_due": day_text(due),
                  "reply_due": day_text(reply), "case_no": entry.case_no or "—",
                  "result": entry.result or "—", "delivery": details.get("delivery", "—"),
                  "state": entry.state.label},
        "item": _item_group(entry), "applicant": _applicant_group(station, entry.villager),
        "agent": {"name": entry.agent, "phone": entry.agent_phone or "—",
                  "role": roles.get(entry.agent, "代办员")},
    }
    facts.lists = {"materials": [_material(m) for m in entry.materials]}
    return facts


def _station_facts(station: Station) -> DocumentFacts:
    facts = DocumentFacts(subject="", person=None)
    facts.lists = {
        "items": [{"code": i.code, "name": i.name, "case_type": i.case_type.label,
                   "promised_limit": i.promised_limit.label}
                  for i in published_items(station)],
        "agents": [{"name": a.name, "role": a.role, "phone": a.phone, "village": a.village}
                   for a in agents(station)],
    }
    return facts
