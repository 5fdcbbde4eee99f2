"""What the county publishes, taken in by a station (docs/sync.md, Download).

``fetch_publications`` asks the county for anything newer than the versions this station
has applied; ``apply_publications`` checks each document and applies it. Online sync and
the USB import both end here, so both refuse the same things:

* a signature that is not by a cosigner in the station's pinned county key set;
* a document naming another county;
* a version not above the one applied (rollback: an attacker replaying an old, validly
  signed catalog). The very same document again is harmless and reported as such;
* an expired document (freeze: an attacker withholding newer ones) — not applied, and
  reported so the UI can warn;
* content the station's own parsers refuse (a template this program cannot render).

The ``app`` collection carries the county's minimum program version; a station older than
that keeps working and warns its users (``app_update_warning``, docs/upgrades.md). The
``badreview`` collection carries the 差评整改 limits, which then replace the station's own.

A refusal is reported, never raised: one bad document must not stop the rest of a sync.
Each accepted document is applied in one transaction together with its version bump, as
ordinary log entries that cite the publication's version and digest, so the log says which
county decision the station acted on and ``station ledger rebuild`` reproduces the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from station_app.crypto import signature_checker
from station_app.domain.badreview import Settings, parse_settings_content
from station_app.domain.canonical import canonical_json
from station_app.domain.clock import iso
from station_app.domain.publications import (
    Revocation,
    catalog_content,
    parse_calendar_content,
    parse_catalog_content,
    parse_revocations,
    parse_templates_content,
    revocations_content,
)
from station_app.domain.versions import AppRequirement, parse_app_requirement
from station_app.errors import StationError, SyncRefused
from station_app.services.appversion import record_app_requirement
from station_app.services.badreview import record_county_settings
from station_app.services.calendar import year_body
from station_app.services.catalog import record_catalog
from station_app.services.station import Station, Transaction
from station_app.store.publications import revocation
from sync.protocol import (
    COLLECTIONS,
    PUBLICATION_PURPOSE,
    Check,
    ProtocolError,
    Publication,
    open_doc,
    parse_publication,
)
from sync.station import Transport, require_enrollment

LABELS = {"catalog": "事项目录", "calendar": "节假日安排", "templates": "文书模板",
          "revocations": "吊销名单", "app": "最低版本要求", "badreview": "差评整改期限"}
APPLIED = "applied"
ALREADY = "already"  # the applied version again (a repeated USB import): nothing to do
ROLLBACK = "rollback"
EXPIRED = "expired"
BAD_SIGNATURE = "bad-signature"
WRONG_COUNTY = "wrong-county"
MALFORMED = "malformed"
INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Applied:
    """What became of one publication: applied, or why not (``detail`` is for the UI)."""

    collection: str
    version: int
    outcome: str
    detail: str

    @property
    def applied(self) -> bool:
        return self.outcome == APPLIED

    @property
    def warning(self) -> bool:
        """A refusal someone should look at (everything except applied and repeats)."""
        return self.outcome not in (APPLIED, ALREADY)

    def as_dict(self) -> dict[str, Any]:
        return {"collection": self.collection, "version": self.version,
                "outcome": self.outcome, "detail": self.detail}


def fetch_publications(station: Station, transport: Transport) -> list[Any]:
    """The signed documents the county has beyond this station's applied versions."""
    require_enrollment(station)
    status, answer = transport.publications(station.sync_state.publication_versions())
    if status != 200:
        raise SyncRefused(reason=f"取县级发布失败（{status} {answer.get('error', '')}）")
    docs = answer.get("publications")
    if not isinstance(docs, list):
        raise SyncRefused(reason="县级发布的格式不对")
    return docs


def apply_publications(station: Station, docs: Sequence[Any]) -> list[Applied]:
    """Check and apply each document; one ``Applied`` per document, in order."""
    link = require_enrollment(station)
    keys = {kid: signature_checker(public) for kid, public in link.keys.cosigners.items()}
    return [_apply_one(station, link.county, keys, signed) for signed in docs]


def stale_publications(station: Station) -> list[tuple[str, int, str]]:
    """Applied publications past their ``expires`` (collection, version, expires): the
    county has not renewed them, or someone keeps the newer ones from this station."""
    now = station.clock.now()
    return [(c, v, expires) for c, v, expires, _ in station.sync_state.publications()
            if _expired(expires, now)]


def revoked(station: Station, origin: str) -> Revocation | None:
    """The county's revocation of the station key ``origin``, if it published one."""
    return revocation(station.db, origin)


# ----------------------------------------------------------------------------- checks


def _apply_one(station: Station, county: str, keys: Mapping[str, Check], signed: Any
               ) -> Applied:
    claimed = _claimed(signed)
    try:
        doc = open_doc(signed, purpose=PUBLICATION_PURPOSE, keys=keys)
    except ProtocolError:
        return _refused(*claimed, BAD_SIGNATURE, "签名无效，或不是本站注册的县级服务器签发的")
    try:
        pub = parse_publication(doc)
        expired = _expired(pub.expires, station.clock.now())
    except ProtocolError as exc:
        return _refused(*claimed, MALFORMED, f"格式不对（{exc.reason}）")
    if pub.county != county:
        return _refused(pub.collection, pub.version, WRONG_COUNTY,
                        f"发布方是“{pub.county}”，本站注册在“{county}”")
    stale = _not_newer(station, pub)
    if stale is not None:
        return stale
    if expired:
        return _refused(pub.collection, pub.version, EXPIRED,
                        f"已于 {pub.expires} 过期，未应用。请联系县级管理员重新发布；"
                        "若一直收不到新版本，可能有人拦截了更新")
    try:
        content = _PARSERS[pub.collection](pub.content)
    except StationError as exc:
        return _refused(pub.collection, pub.version, INVALID, f"内容有误（{exc.text}）")
    return _apply(station, pub, content)


def _claimed(signed: Any) -> tuple[str, int]:
    """Collection and version as an unchecked document claims them (only for the report)."""
    doc = signed.get("doc") if isinstance(signed, dict) else None
    doc = doc if isinstance(doc, dict) else {}
    collection, version = doc.get("collection"), doc.get("version")
    return (collection if collection in COLLECTIONS else "?",
            version if isinstance(version, int) and not isinstance(version, bool) else 0)


def _not_newer(station: Station, pub: Publication) -> Applied | None:
    """A rollback refusal (or "already applied") unless ``pub`` is newer than what is in use."""
    current = station.sync_state.publication_version(pub.collection)
    if pub.version > current:
        return None
    if pub.version == current and station.sync_state.publication_digest(
            pub.collection) == pub.digest:
        return Applied(pub.collection, pub.version, ALREADY,
                       f"{LABELS[pub.collection]}第 {pub.version} 版已应用过")
    return _refused(pub.collection, pub.version, ROLLBACK,
                    f"本机已应用第 {current} 版，不接受旧版本（可能是回滚攻击）")


def _expired(expires: str, now: datetime) -> bool:
    try:
        moment = datetime.fromisoformat(expires)
    except ValueError:
        raise ProtocolError("expires is not a date-time") from None
    if moment.tzinfo is None:
        raise ProtocolError("expires has no time zone")
    return moment < now


def _refused(collection: str, version: int, outcome: str, why: str) -> Applied:
    label = LABELS.get(collection, "发布")
    head = f"拒绝县级{label}第 {version} 版" if version else f"拒绝县级{label}"
    return Applied(collection, version, outcome, f"{head}：{why}")


# ----------------------------------------------------------------------------- apply


def _apply(station: Station, pub: Publication, content: Any) -> Applied:
    """Log entries and the version bump in one transaction; re-checked inside it, so a USB
    import and an online sync racing cannot both apply (or apply out of order)."""
    with station.transaction() as tx:
        stale = _not_newer(station, pub)
        if stale is not None:
            return stale
        ref = {"collection": pub.collection, "version": pub.version, "digest": pub.digest}
        _APPLIERS[pub.collection](tx, content, ref)
        station.sync_state.set_publication(pub.collection, pub.version, pub.digest,
                                           pub.issued, pub.expires, iso(station.clock.now()))
    return Applied(pub.collection, pub.version, APPLIED,
                   f"已应用县级发布的{LABELS[pub.collection]}（第 {pub.version} 版）")


def _apply_catalog(tx: Transaction, catalog: Any, ref: dict[str, Any]) -> None:
    record_catalog(tx, catalog, canonical_json(catalog_content(catalog)), publication=ref)


def _apply_calendar(tx: Transaction, years: Any, ref: dict[str, Any]) -> None:
    for year in years:
        tx.append("calendar.year_set", {**year_body(year), "publication": ref})


def _apply_templates(tx: Transaction, templates: Any, ref: dict[str, Any]) -> None:
    """One entry per template with its full text: the log shows the exact wording in force."""
    for t in templates:
        tx.append("template.published", {
            "name": t.name, "version": t.version, "toml": t.toml,
            "sha256": hashlib.sha256(t.toml.encode("utf-8")).hexdigest(), "publication": ref})


def _apply_revocations(tx: Transaction, revoked: Any, ref: dict[str, Any]) -> None:
    tx.append("revocations.published", {**revocations_content(revoked), "publication": ref})


def _apply_app(tx: Transaction, requirement: AppRequirement, ref: dict[str, Any]) -> None:
    record_app_requirement(tx, requirement, ref)


def _apply_badreview(tx: Transaction, settings: Settings, ref: dict[str, Any]) -> None:
    """The county's limits for bad reviews opened from now on (running ones keep theirs)."""
    record_county_settings(tx, settings, ref)


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "catalog": parse_catalog_content, "calendar": parse_calendar_content,
    "templates": parse_templates_content, "revocations": parse_revocations,
    "app": parse_app_requirement, "badreview": parse_settings_content}
_APPLIERS: dict[str, Callable[[Transaction, Any, dict[str, Any]], None]] = {
    "catalog": _apply_catalog, "calendar": _apply_calendar,
    "templates": _apply_templates, "revocations": _apply_revocations, "app": _apply_app,
    "badreview": _apply_badreview}
