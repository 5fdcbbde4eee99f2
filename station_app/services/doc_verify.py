"""Checking a document offline: its QR token, or a PDF file said to be one of ours.

A token is checked against a station's public key: the signature proves the station issued a
document of that kind, on that day, about that case, with that content digest. When this
station's own log has the document, the token must also match what was recorded. A PDF is
checked byte for byte against the copies the station printed; a PDF the station has no record
of (checked elsewhere) must at least carry content that hashes to its signed token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station_app.crypto import signature_checker
from station_app.domain.clock import local_day, parse_moment
from station_app.domain.documents import DocToken, MalformedToken, content_digest, parse_token
from station_app.domain.log import make_origin
from station_app.errors import FileInvalid
from station_app.services.documents import CONTENT_PREFIX
from station_app.services.station import Station
from station_app.store.epochs import epochs
from station_app.store.publications import revocation
from station_app.store.queries import copy_with_pdf, document_by_id

_INFO = re.compile(rb"/(Keywords|Subject) \(([A-Za-z0-9+/=._:-]*)\)")


@dataclass(frozen=True, slots=True, kw_only=True)
class DocCheck:
    ok: bool
    reason: str
    reason_en: str
    token: DocToken | None = None
    record: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        t = self.token
        return {"ok": self.ok, "reason": self.reason, "reason_en": self.reason_en,
                "token": None if t is None else {
                    "station": t.station, "doc_id": t.doc_id, "kind": t.kind.value,
                    "kind_label": t.kind.label, "issued": t.issued.isoformat(),
                    "subject": t.subject, "digest": t.digest},
                "record": self.record}


def _fail(zh: str, en: str, token: DocToken | None = None) -> DocCheck:
    return DocCheck(ok=False, reason=zh, reason_en=en, token=token)


def verify_token(station: Station, text: str, public_key: bytes | None = None) -> DocCheck:
    """Check a token against this station (or, with ``public_key``, any station's key)."""
    try:
        token = parse_token(text)
    except MalformedToken:
        return _fail("不是本系统的文书核验码（格式不对，可能被改动）",
                     "not a document token of this system (malformed or altered)")
    if public_key is None and token.station != station.info.code:
        return _fail(f"该核验码由站点 {token.station} 出具，需用该站点的公钥核验",
                     f"issued by station {token.station}; check it with that station's key",
                     token)
    key = public_key or station.signer.public_key
    if not signature_checker(key)(token.message(), token.signature) and (
            public_key is not None or not _signed_by_lost_pc(station, token)):
        return _fail("签名无效：核验码被改动或伪造", "invalid signature: altered or forged", token)
    if public_key is not None and _revoked_before(station, token, public_key):
        return _fail("该站点的密钥已被县级吊销，此文书出具于吊销之后，无效",
                     "the station's key was revoked by the county before this was issued",
                     token)
    record = document_by_id(station.db, token.doc_id) if public_key is None else None
    if record is None:
        return DocCheck(ok=True, token=token,
                        reason=f"签名有效：{token.kind.label}，{token.issued:%Y年%m月%d日}出具"
                               "（本机没有该文书的记录，只核验了签名）",
                        reason_en="valid signature (no local record of this document)")
    if (record.kind, record.subject, record.issued_on) != (
            token.kind.value, token.subject, token.issued.isoformat()) \
            or not record.content_sha256.startswith(token.digest):
        return _fail("核验码与本站出具记录不符", "the token does not match the station's record",
                     token)
    return DocCheck(ok=True, token=token, record=_record(record),
                    reason=f"真实有效：{record.doc_no}，{token.kind.label}"
                           f"{'，办件 ' + token.subject if token.subject else ''}，"
                           f"{token.issued:%Y年%m月%d日}出具，已打印 {record.copies} 份",
                    reason_en=f"genuine: {token.kind.value} issued {token.issued}, "
                              f"{record.copies} copies printed")


def _signed_by_lost_pc(station: Station, token: DocToken) -> bool:
    """This station's own document, issued on a lost PC whose history was recovered
    (docs/recovery.md): signed by that PC's key, on or before the day it was replaced."""
    return any(token.issued <= local_day(parse_moment(e.recovered_at))
               and signature_checker(base64.b64decode(e.public_key))(token.message(),
                                                                      token.signature)
               for e in epochs(station.db))


def _revoked_before(station: Station, token: DocToken, public_key: bytes) -> bool:
    """Whether the county's published revocation list revoked that key before the day the
    document says it was issued (a document from before the revocation stays valid)."""
    found = revocation(station.db, make_origin(token.station, public_key))
    return found is not None and token.issued > local_day(parse_moment(found.revoked_at))


def verify_pdf(station: Station, path: Path, public_key: bytes | None = None) -> DocCheck:
    """Check a PDF file: its token, then its exact bytes (or, failing a record, its content)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FileInvalid(where=str(path), reason=f"：无法读取（{exc.strerror or exc}）") from None
    info = {m[0].decode(): m[1].decode() for m in _INFO.findall(data)}
    if not info.get("Keywords"):  # absent, or empty as in a PDF made without a token
        return _fail("文件中没有核验码，不是本系统出具的文书",
                     "no token in the file: not a document of this system")
    check = verify_token(station, info["Keywords"], public_key)
    if not check.ok:
        return check
    token = check.token
    assert token is not None
    if check.record:
        copy = copy_with_pdf(station.db, token.doc_id, hashlib.sha256(data).hexdigest())
        if copy is None:
            return _fail("文件与本站打印记录不一致：内容被改动", "the file differs from every "
                         "copy the station printed: altered", token)
        return DocCheck(ok=True, token=token, record={**check.record, "copy": copy},
                        reason=f"{check.reason}；与第 {copy} 份打印件逐字节一致",
                        reason_en=f"{check.reason_en}; byte-identical to copy {copy}")
    return _content_check(data, info, check)


def _content_check(data: bytes, info: dict[str, str], check: DocCheck) -> DocCheck:
    token = check.token
    assert token is not None
    content = _embedded(info.get("Subject", ""))
    if content is None or not content_digest(content).startswith(token.digest):
        return _fail("文件内容与核验码不符：内容被改动", "the content does not match the token",
                     token)
    missing = _text_missing(data, (content["doc"]["no"], token.subject))
    if missing:
        return _fail(f"页面文字与核验码不符（找不到“{missing}”）：内容被改动",
                     "the printed text does not match the token", token)
    return DocCheck(ok=True, token=token, record={"doc_no": content["doc"]["no"]},
                    reason=check.reason + "；文件内容与核验码一致",
                    reason_en=check.reason_en + "; the content matches the token")


def _embedded(subject: str) -> dict[str, Any] | None:
    if not subject.startswith(CONTENT_PREFIX):
        return None
    try:
        return json.loads(base64.b64decode(subject[len(CONTENT_PREFIX):], validate=True))
    except (ValueError, binascii.Error):
        return None


def _text_missing(data: bytes, values: tuple[str, ...]) -> str:
    """With poppler's pdftotext at hand, the page must show the number and case it claims."""
    if shutil.which("pdftotext") is None:
        return ""
    done = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, timeout=30)
    text = "".join(done.stdout.decode("utf-8", "replace").split())
    return next((v for v in values if v and "".join(v.split()) not in text), "")


def _record(record: Any) -> dict[str, Any]:
    return {"doc_no": record.doc_no, "kind": record.kind, "subject": record.subject,
            "issued_on": record.issued_on, "issued_by": record.issued_by,
            "copies": record.copies}
