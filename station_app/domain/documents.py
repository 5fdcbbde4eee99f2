"""Documents (文书): which paper may be issued when, its number, and its verification token.

Every printed document carries a QR code holding a compact token::

    VSS1.<station>.<doc id>.<kind>.<YYYYMMDD>.<subject>.<content hash>.<signature>

signed with the station's Ed25519 key over ``vss-doc/1\\n`` and everything before the last
dot. Anyone with the station's public key can check offline that the station issued that
document, of that kind, on that day, about that case, with that content; the case number and
date in the token are the ones printed on the paper, so a reader can compare them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from station_app.domain.canonical import canonical_json
from station_app.domain.cases import Case
from station_app.domain.proxy import ProxyEntry
from station_app.domain.states import CaseState, ProxyState
from station_app.domain.templates import ContextSchema
from station_app.errors import DocumentNotAllowed, InvalidInput

TOKEN_PREFIX = "VSS1"
TOKEN_DOMAIN = b"vss-doc/1\n"
DIGEST_HEX = 24  # 96 bits of SHA-256: ample against second preimages for a paper document
DOC_ID_HEX = 12


class DocKind(StrEnum):
    """Document kinds, named as on the command line."""

    PROXY_SLIP = "proxy-slip"
    PROXY_DONE = "proxy-done"
    RECEIPT = "receipt"
    ACCEPT_NOTICE = "accept-notice"
    SUPPLEMENT_NOTICE = "supplement-notice"
    REJECT_NOTICE = "reject-notice"
    FINISH_NOTICE = "finish-notice"
    NOTICE_BOARD = "notice-board"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def subject(self) -> str:
        """What the document is about: a case, a proxy entry or the station itself."""
        if self in (DocKind.PROXY_SLIP, DocKind.PROXY_DONE):
            return "proxy"
        return "station" if self is DocKind.NOTICE_BOARD else "case"


_LABELS = {
    DocKind.PROXY_SLIP: "代办登记回执（代办委托书）",
    DocKind.PROXY_DONE: "代办办结单",
    DocKind.RECEIPT: "收件回执",
    DocKind.ACCEPT_NOTICE: "受理通知书",
    DocKind.SUPPLEMENT_NOTICE: "一次性告知书（补正材料通知书）",
    DocKind.REJECT_NOTICE: "不予受理通知书",
    DocKind.FINISH_NOTICE: "办结通知书",
    DocKind.NOTICE_BOARD: "便民服务站公示栏",
}


def parse_kind(text: str) -> DocKind:
    for kind in DocKind:
        if text.strip() in (kind.value, kind.label, kind.name):
            return kind
    names = "、".join(k.value for k in DocKind)
    raise InvalidInput(field="kind", label="文书种类", reason=f"“{text}”不存在，可选：{names}")


# --------------------------------------------------------------------------- when allowed


def check_case_document(kind: DocKind, case: Case) -> None:
    """Refuse paper the case's state does not support (e.g. 办结通知书 before it is finished)."""
    reason = _case_refusal(kind, case)
    if reason:
        raise DocumentNotAllowed(field="kind", subject=f"办件“{case.case_no}”",
                                 subject_en=f"case {case.case_no}", state=case.state.label,
                                 state_en=case.state.value, title=kind.label, kind=kind.value,
                                 reason=reason)


def _case_refusal(kind: DocKind, case: Case) -> str:
    s = case.state
    if kind.subject != "case":
        return "该文书不针对办件"
    if s is CaseState.VOID:
        return "作废的办件不再出具文书"
    if s is CaseState.DRAFT:
        return "尚未收件"
    needs = {
        DocKind.ACCEPT_NOTICE: (case.accepted_at is not None, "尚未受理"),
        DocKind.SUPPLEMENT_NOTICE: (case.supplements > 0, "没有要求补正材料"),
        DocKind.REJECT_NOTICE: (s is CaseState.REJECTED, "只有不予受理的办件才出具不予受理通知书"),
        DocKind.FINISH_NOTICE: (s is CaseState.FINISHED, "只有已办结的办件才出具办结通知书"),
    }
    ok, reason = needs.get(kind, (True, ""))
    return "" if ok else reason


def check_proxy_document(kind: DocKind, entry: ProxyEntry) -> None:
    done = entry.state in (ProxyState.RESULT_RECEIVED, ProxyState.DELIVERED)
    reason = ("该文书不针对代办记录" if kind.subject != "proxy"
              else "" if kind is DocKind.PROXY_SLIP or done
              else "结果尚未取回，不能出具代办办结单")
    if reason:
        raise DocumentNotAllowed(field="kind", subject=f"代办记录“{entry.proxy_no}”",
                                 subject_en=f"proxy entry {entry.proxy_no}",
                                 state=entry.state.label, state_en=entry.state.value,
                                 title=kind.label, kind=kind.value, reason=reason)


# --------------------------------------------------------------------------- numbers, digest


def document_number(short_name: str, prefix: str, year: int, seq: int) -> str:
    """文书编号 in the usual 机关简称 + 文种 + 〔年〕 + 序号 shape, e.g. 青石镇受〔2025〕17号."""
    return f"{short_name}{prefix}〔{year}〕{seq}号"


def content_digest(content: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of everything the document states."""
    return hashlib.sha256(canonical_json(content)).hexdigest()


# --------------------------------------------------------------------------- tokens


class MalformedToken(ValueError):
    """Text that is not a document token of this format."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DocToken:
    station: str
    doc_id: str
    kind: DocKind
    issued: date
    subject: str  # case or proxy number; "" for station-level documents
    digest: str  # first DIGEST_HEX hex digits of the content digest
    signature: bytes

    def signed_part(self) -> str:
        return ".".join((TOKEN_PREFIX, self.station, self.doc_id, self.kind.value,
                         f"{self.issued:%Y%m%d}", self.subject or "-", self.digest))

    def message(self) -> bytes:
        return TOKEN_DOMAIN + self.signed_part().encode()

    def text(self) -> str:
        sig = base64.urlsafe_b64encode(self.signature).decode().rstrip("=")
        return f"{self.signed_part()}.{sig}"


def make_token(*, station: str, doc_id: str, kind: DocKind, issued: date, subject: str,
               digest: str, sign: Callable[[bytes], bytes]) -> DocToken:
    unsigned = DocToken(station=station, doc_id=doc_id, kind=kind, issued=issued,
                        subject=subject, digest=digest[:DIGEST_HEX], signature=b"")
    return DocToken(station=station, doc_id=doc_id, kind=kind, issued=issued, subject=subject,
                    digest=digest[:DIGEST_HEX], signature=sign(unsigned.message()))


_TOKEN = re.compile(
    r"^VSS1\.(?P<station>[0-9A-Z]{6,20})\.(?P<doc>[0-9a-f]{12})\.(?P<kind>[a-z-]+)\."
    r"(?P<day>\d{8})\.(?P<subject>[0-9A-Z-]+)\.(?P<digest>[0-9a-f]{24})\.(?P<sig>[A-Za-z0-9_-]{86})$")


def parse_token(text: str) -> DocToken:
    m = _TOKEN.match((text or "").strip())
    if not m:
        raise MalformedToken("not a document token")
    try:
        kind = DocKind(m["kind"])
        day = m["day"]
        issued = date(int(day[:4]), int(day[4:6]), int(day[6:]))
        signature = base64.urlsafe_b64decode(m["sig"] + "==")
    except (ValueError, binascii.Error) as exc:
        raise MalformedToken(str(exc)) from None
    if base64.urlsafe_b64encode(signature).decode().rstrip("=") != m["sig"]:
        # 86 base64 characters carry 516 bits for 512: the last one's low bits are unused,
        # so only the canonical spelling is accepted, or an altered token could still verify.
        raise MalformedToken("signature is not in canonical base64")
    return DocToken(station=m["station"], doc_id=m["doc"], kind=kind, issued=issued,
                    subject="" if m["subject"] == "-" else m["subject"], digest=m["digest"],
                    signature=signature)


# --------------------------------------------------------------------------- what can be printed

GROUPS: dict[str, frozenset[str]] = {
    "station": frozenset({"name", "code", "short_name", "region", "address", "hours", "phone",
                          "complaint_tel", "review_organ", "court"}),
    "doc": frozenset({"no", "title", "date", "issued_by", "copy", "reprint", "printed_at",
                      "kind"}),
    "case": frozenset({"case_no", "received_at", "accepted_at", "acceptor", "closed_at",
                       "state", "channel", "visits", "proxy_no", "agent"}),
    "item": frozenset({"name", "code", "task_code", "department", "case_type",
                       "promised_limit", "legal_limit", "place", "hours", "consult_tel",
                       "result_name", "legal_basis"}),
    "applicant": frozenset({"name", "cert_type", "cert_no", "phone", "address"}),
    "deadline": frozenset({"decision", "promised", "legal", "estimated_note"}),
    "supplement": frozenset({"requested_at", "due", "count"}),
    "rejection": frozenset({"reason", "legal_basis"}),
    "result": frozenset({"outcome", "cert_name", "cert_no", "cert_valid_to", "delivery",
                         "closed_at", "denial_note"}),
    "proxy": frozenset({"proxy_no", "registered_at", "village_group", "submit_due",
                        "reply_due", "case_no", "result", "delivery", "state"}),
    "agent": frozenset({"name", "phone", "role"}),
}
LISTS: dict[str, frozenset[str]] = {
    "materials": frozenset({"name", "originals", "copies"}),
    "missing": frozenset({"name", "reason"}),
    "items": frozenset({"code", "name", "case_type", "promised_limit"}),
    "agents": frozenset({"name", "role", "phone", "village"}),
}
_CASE = ("station", "doc", "case", "item", "applicant", "deadline")
_PROXY = ("station", "doc", "proxy", "item", "applicant", "agent")
KIND_CONTEXT: dict[DocKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    DocKind.PROXY_SLIP: (_PROXY, ("materials",)),
    DocKind.PROXY_DONE: (_PROXY, ("materials",)),
    DocKind.RECEIPT: (_CASE, ("materials",)),
    DocKind.ACCEPT_NOTICE: (_CASE, ("materials",)),
    DocKind.SUPPLEMENT_NOTICE: ((*_CASE, "supplement"), ("materials", "missing")),
    DocKind.REJECT_NOTICE: ((*_CASE, "rejection"), ("materials",)),
    DocKind.FINISH_NOTICE: ((*_CASE, "result"), ("materials",)),
    # the public notice board never shows any villager's data: no applicant group at all
    DocKind.NOTICE_BOARD: (("station", "doc"), ("items", "agents")),
}
SHARED = ("station", "doc")  # what the common header and footer may use


def context_schema(kind: DocKind | None) -> ContextSchema:
    """What a kind's template may print; ``None`` for the shared header and footer."""
    groups, lists = KIND_CONTEXT[kind] if kind else (SHARED, ())
    return ContextSchema(groups={g: GROUPS[g] for g in groups},
                         lists={name: LISTS[name] for name in lists})
