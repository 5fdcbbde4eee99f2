"""Issuing documents: number, render, save, print and record them; and verifying them later.

A document is immutable once issued. Printing it again with the same facts is a reprint: the
same 文书编号 and token, a new copy number, and 补打 on the page. If the facts changed (a
corrected phone number, a deadline made exact by a new holiday table) it is a new document
with a new number. Every print is a ``doc.issued`` or ``doc.printed`` entry recording who,
when, which copy, where it went and the SHA-256 of the exact PDF bytes.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from station_app.crypto import keyed_digest
from station_app.documents.render import render_pdf
from station_app.domain.canonical import canonical_json
from station_app.domain.clock import local_day
from station_app.domain.documents import (
    DocKind,
    DocToken,
    content_digest,
    document_number,
    make_token,
)
from station_app.domain.notice_board import REGENERATED as POSTER_REGENERATED
from station_app.domain.notice_board import changes, published_summary
from station_app.domain.templates import DocumentSpec, FilledBlock, fill_document, used_fields
from station_app.errors import InvalidInput, PrintFailed
from station_app.services.doc_context import DocumentFacts, day_text, gather, station_group
from station_app.services.doc_templates import TemplateSet, load_templates, published_templates
from station_app.services.printing import choose_printer, send
from station_app.services.profile import profile
from station_app.services.rating_qr import CAPTION as RATING_CAPTION
from station_app.services.rating_qr import case_rating_url
from station_app.services.station import Station, Transaction
from station_app.services.users import user_names
from station_app.store.queries import (
    DocumentRecord,
    find_document,
    latest_document,
    next_document_seq,
)

CONTENT_PREFIX = "vss-content:"


@dataclass(frozen=True, slots=True, kw_only=True)
class Issued:
    doc_id: str
    doc_no: str
    kind: DocKind
    subject: str
    copy: int
    reprint: bool
    path: Path
    pdf_sha256: str
    printer: str  # "" when only saved
    job: str
    token: str


@dataclass(frozen=True, slots=True)
class _Numbering:
    doc_id: str
    doc_no: str
    year: int
    seq: int
    issued_on: date
    issued_by: str
    copy: int
    facts_key: str = ""
    # A 公示栏 regenerated on its own (saved, never printed) is not a 补打 when it is
    # printed: its first paper copy is printed as such.
    first_on_paper: bool = False

    @property
    def reprint(self) -> bool:
        return self.copy > 1 and not self.first_on_paper


def issue_document(
    station: Station, kind: DocKind, subject: str = "", *, paper: str | None = None,
    printer: str | None = None, out: Path | None = None, print_it: bool = True,
    templates: Path | None = None,
) -> Issued:
    """Render, save and (if a printer is there) print one copy; record it in the log.

    Everything that can refuse does so before anything is printed or recorded: an unknown
    kind or template, a paper the template does not allow, an unknown printer, a document
    the case's state does not allow.
    """
    # A folder given explicitly is what the caller wants to see; otherwise the county's
    # published templates come before the folder's.
    tset = load_templates(kind, templates,
                          None if templates is not None else published_templates(station))
    paper = paper or tset.body.paper
    if paper not in tset.body.papers:
        raise InvalidInput(field="paper", label="纸张",
                           reason=f"{kind.label}可用的纸张：{'、'.join(tset.body.papers)}")
    target = choose_printer(printer or profile(station)["printer"] or None) if print_it \
        else None
    with station.transaction() as tx:
        gathered = gather(station, kind, subject)
        gathered.groups["station"] = station_group(station)
        facts = _printed(gathered, tset)
        key = _privacy_key(station, facts)
        number = _numbering(station, tx, kind, tset, facts, key)
        issued = _produce(station, tx, kind, tset, facts, key, number, paper, target, out)
        if kind is DocKind.NOTICE_BOARD:
            _record_poster(tx, facts, key, issued, "issued")
        return issued


def _printed(facts: DocumentFacts, tset: TemplateSet) -> DocumentFacts:
    """Only what the templates print: the rest neither identifies the document nor goes into
    the PDF's embedded content."""
    names, sources = used_fields(tset.parts)
    groups = {group: {k: v for k, v in values.items() if f"{group}.{k}" in names}
              for group, values in facts.groups.items()}
    lists = {name: rows for name, rows in facts.lists.items() if name in sources}
    return DocumentFacts(subject=facts.subject, person=facts.person,
                         groups={g: v for g, v in groups.items() if v}, lists=lists)


def _privacy_key(station: Station, facts: DocumentFacts) -> bytes:
    """Digests of personal facts are keyed by that person's key: unguessable from the log,
    and unlinkable for good once the person is erased."""
    if facts.person is None:
        return station.keys.index_key
    key = station.vault.key(facts.person)
    return key if key is not None else station.keys.index_key


def _facts_key(kind: DocKind, facts: DocumentFacts, key: bytes) -> str:
    return keyed_digest(key, canonical_json(
        {"kind": kind.value, "subject": facts.subject, "groups": facts.groups,
         "lists": facts.lists})).hex()


def notice_board_outdated(station: Station) -> bool | None:
    """Whether the 公示栏 on the wall (the newest one printed) no longer shows what the
    station publishes — an agent added or stopped, the catalog or the station's details
    changed; None if it was never printed. The changes themselves are in the log
    (``agent.set``, ``catalog.imported``, ``station.profile_set``)."""
    kind = DocKind.NOTICE_BOARD
    latest = latest_document(station.db, kind.value)
    if latest is None:
        return None
    gathered = gather(station, kind, "")
    gathered.groups["station"] = station_group(station)
    tset = load_templates(kind, None, published_templates(station))
    facts = _printed(gathered, tset)
    return _facts_key(kind, facts, _privacy_key(station, facts)) != latest.facts_key


def save_notice_board(tx: Transaction) -> Issued | None:
    """The 公示栏 rendered and saved anew (no printer) inside the caller's transaction when
    what it shows differs from its newest version; None when unchanged, or when the station
    never made a poster (the first one is printed from 设置). Recorded like any document
    (``doc.issued``) plus a ``notice.regenerated`` entry: version, PDF digest, what changed."""
    station, kind = tx.station, DocKind.NOTICE_BOARD
    tset = load_templates(kind, None, published_templates(station))
    gathered = gather(station, kind, "")
    gathered.groups["station"] = station_group(station)
    facts = _printed(gathered, tset)
    key = _privacy_key(station, facts)
    current = _poster_key(station)
    if current is None or current == _facts_key(kind, facts, key):
        return None
    number = _numbering(station, tx, kind, tset, facts, key)
    issued = _produce(station, tx, kind, tset, facts, key, number, tset.body.paper, None, None)
    _record_poster(tx, facts, key, issued, "regenerated")
    return issued


def poster_outdated(station: Station) -> bool | None:
    """Whether what the station publishes differs from the newest 公示栏 version (or, before
    versions were kept, the newest poster); None if there never was a poster."""
    current = _poster_key(station)
    if current is None:
        return None
    kind = DocKind.NOTICE_BOARD
    gathered = gather(station, kind, "")
    gathered.groups["station"] = station_group(station)
    facts = _printed(gathered, load_templates(kind, None, published_templates(station)))
    return _facts_key(kind, facts, _privacy_key(station, facts)) != current


def _poster_key(station: Station) -> str | None:
    """What the newest 公示栏 shows (its facts key): its newest version, else the newest one
    issued before versions were kept; None if there never was one."""
    row = station.db.execute("SELECT facts_key FROM notice_board_version ORDER BY version DESC"
                             " LIMIT 1").fetchone()
    if row is not None:
        return str(row[0])
    latest = latest_document(station.db, DocKind.NOTICE_BOARD.value)
    return None if latest is None else latest.facts_key


def _poster_on_paper(station: Station, doc_id: str) -> bool:
    """Whether a poster (a notice-board document) has been printed, or saved, by a person:
    a regenerated version is on paper only once a copy was made after it."""
    row = station.db.execute("SELECT origin, idx FROM notice_board_version WHERE doc_id = ?"
                             " ORDER BY version DESC LIMIT 1", [doc_id]).fetchone()
    if row is None or row[0] != "regenerated":
        return True
    return station.db.execute("SELECT 1 FROM document_copy WHERE doc_id = ? AND idx > ?",
                              [doc_id, row[1]]).fetchone() is not None


def _record_poster(tx: Transaction, facts: DocumentFacts, key: bytes, issued: Issued,
                   origin: str) -> None:
    """A new version of the 公示栏 when what it shows changed since the newest version."""
    station, kind = tx.station, DocKind.NOTICE_BOARD
    facts_key = _facts_key(kind, facts, key)
    last = station.db.execute("SELECT version, facts_key, published FROM notice_board_version"
                              " ORDER BY version DESC LIMIT 1").fetchone()
    if last is not None and last[1] == facts_key:
        return
    published = published_summary(facts.groups.get("station", {}),
                                   facts.lists.get("agents", []), facts.lists.get("items", []))
    tx.append(POSTER_REGENERATED, {
        "version": (last[0] if last else 0) + 1, "origin": origin, "doc_id": issued.doc_id,
        "doc_no": issued.doc_no, "copy": issued.copy, "pdf_sha256": issued.pdf_sha256,
        "facts_key": facts_key, "file": issued.path.name, "published": published,
        "changed": changes(json.loads(last[2]) if last else None, published)})


def _numbering(station: Station, tx: Transaction, kind: DocKind, tset: TemplateSet,
               facts: DocumentFacts, key: bytes) -> _Numbering:
    facts_key = _facts_key(kind, facts, key)
    existing = find_document(station.db, kind.value, facts.subject, facts_key)
    if existing is not None:
        number = _renumber(existing)
        if kind is DocKind.NOTICE_BOARD and not _poster_on_paper(station, existing.doc_id):
            number = dataclasses.replace(number, first_on_paper=True)
        return number
    today = local_day(station.clock.now())
    seq = next_document_seq(station.db, kind.value, today.year)
    short = profile(station)["short_name"]
    number = _Numbering(doc_id=station.new_id()[:12],
                        doc_no=document_number(short, tset.body.number_prefix, today.year, seq),
                        year=today.year, seq=seq, issued_on=today, issued_by=tx.station.actor,
                        copy=1, facts_key=facts_key)
    return number


def _renumber(existing: DocumentRecord) -> _Numbering:
    issued = date.fromisoformat(existing.issued_on)
    return _Numbering(doc_id=existing.doc_id, doc_no=existing.doc_no, year=issued.year,
                      seq=0, issued_on=issued, issued_by=existing.issued_by,
                      copy=existing.copies + 1)


def _produce(station: Station, tx: Transaction, kind: DocKind, tset: TemplateSet,
             facts: DocumentFacts, key: bytes, number: _Numbering, paper: str,
             target: str | None, out: Path | None) -> Issued:
    stable = {"no": number.doc_no, "title": kind.label, "date": day_text(number.issued_on),
              "issued_by": _name(station, number.issued_by), "kind": kind.value}
    content = {"doc": stable, **facts.groups,
               "lists": facts.lists,
               "salt": keyed_digest(key, b"doc-salt\n" + number.doc_id.encode())[:16].hex()}
    digest = content_digest(content)
    token = make_token(station=station.info.code, doc_id=number.doc_id, kind=kind,
                       issued=number.issued_on, subject=facts.subject, digest=digest,
                       sign=station.signer.sign)
    pdf = _render(station, tset, kind, content, number, paper, token, subject=facts.subject)
    path = _save(station, pdf, number, kind, out)
    job = _print(path, target, created=out is None,
                 media_mm=_page_mm(pdf) if paper == "roll80" else None)
    tx.append("doc.issued" if number.copy == 1 else "doc.printed",
              _entry(kind, facts, number, tset, digest, paper, target, job, path, pdf))
    return Issued(doc_id=number.doc_id, doc_no=number.doc_no, kind=kind, subject=facts.subject,
                  copy=number.copy, reprint=number.reprint, path=path,
                  pdf_sha256=hashlib.sha256(pdf).hexdigest(), printer=target or "", job=job,
                  token=token.text())


def _name(station: Station, actor: str) -> str:
    """Who issued it, as a person's name (actors in the log are user ids)."""
    return user_names(station).get(actor, actor)


def _render(station: Station, tset: TemplateSet, kind: DocKind, content: dict[str, Any],
            number: _Numbering, paper: str, token: DocToken, *, subject: str = "") -> bytes:
    now = station.clock.now()
    context = {**{k: v for k, v in content.items() if isinstance(v, dict) and k != "lists"},
               "doc": {**content["doc"], "copy": f"第{number.copy}份",
                       "reprint": "（补打）" if number.reprint else "",
                       "printed_at": f"{now:%Y-%m-%d %H:%M}"}}
    spec = fill_document(tset.parts, context, content["lists"], paper=paper,
                         token=token.text())
    if kind is DocKind.FINISH_NOTICE:
        spec = _with_rating_code(spec, case_rating_url(station, subject))
    embedded = base64.b64encode(canonical_json(content)).decode()
    return render_pdf(spec, metadata={"author": station.info.name,
                                      "subject": CONTENT_PREFIX + embedded,
                                      "keywords": token.text()})


def _with_rating_code(spec: DocumentSpec, url: str | None) -> DocumentSpec:
    """The evaluation QR code (docs/evaluation-qr.md) above the signature lines. It is not
    one of the document's facts: the station's enrollment adds it, the content digest and
    the 文书编号 stay those of the facts printed."""
    if url is None:
        return spec
    blocks = list(spec.blocks)
    at = next((i for i, b in enumerate(blocks) if b.type == "signature"), len(blocks))
    blocks.insert(at, FilledBlock(type="rating-qr", text=RATING_CAPTION, items=(url,)))
    return dataclasses.replace(spec, blocks=tuple(blocks))


def _save(station: Station, pdf: bytes, number: _Numbering, kind: DocKind,
          out: Path | None) -> Path:
    path = Path(out) if out else (station.folder / "documents" / str(number.issued_on.year)
                                  / f"{number.doc_id}-{number.copy}-{kind.value}.pdf")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        with open(tmp, "wb") as f:
            f.write(pdf)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise InvalidInput(field="out", label="保存位置",
                           reason=f"无法写入“{path}”（{exc.strerror or exc}）") from None
    return path


def _print(path: Path, target: str | None, *, created: bool,
           media_mm: tuple[float, float] | None) -> str:
    if target is None:
        return ""
    try:
        return send(path, target, media_mm=media_mm)
    except PrintFailed:
        if created:  # nothing was printed, so nothing is kept or recorded either
            path.unlink(missing_ok=True)
        raise


_MEDIA_BOX = re.compile(rb"/MediaBox \[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]")


def _page_mm(pdf: bytes) -> tuple[float, float] | None:
    found = _MEDIA_BOX.search(pdf)
    if found is None:
        return None
    return float(found[1]) * 25.4 / 72, float(found[2]) * 25.4 / 72


def _entry(kind: DocKind, facts: DocumentFacts, number: _Numbering, tset: TemplateSet,
           digest: str, paper: str, target: str | None, job: str, path: Path,
           pdf: bytes) -> dict[str, Any]:
    copy = {"doc_id": number.doc_id, "copy": number.copy, "reprint": number.reprint,
            "paper": paper, "output": "printer" if target else "file",
            "printer": target or "", "job": job, "file": path.name,
            "pdf_sha256": hashlib.sha256(pdf).hexdigest()}
    if number.copy > 1:
        return copy
    return {**copy, "doc_no": number.doc_no, "kind": kind.value, "subject": facts.subject,
            "year": number.year, "seq": number.seq, "issued_on": number.issued_on.isoformat(),
            "facts_key": number.facts_key, "content_sha256": digest,
            "template": tset.versions()}
