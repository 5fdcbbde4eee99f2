"""Personal data: sealed into the log, found by blind index, unmasked on record, erased on demand.

A person's details are sealed under a key of their own (``store.vault``); the log holds only
the sealed bytes. Screens read the masked projection. Reading the full values is an act that
is itself logged (``person.unmasked``, with a reason); erasing deletes the key so the sealed
bytes become unreadable while every hash in the log stays what it was.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from station_app.crypto import seal, unseal
from station_app.domain.canonical import canonical_json
from station_app.domain.identity import is_valid_id_number
from station_app.domain.people import PersonDetails, details_from_sealed
from station_app.errors import MissingField, PersonErased, PersonNotFound
from station_app.services.station import Station, Transaction
from station_app.store.projection import blind_key, person_aad
from station_app.store.queries import person_cert_type, person_ids

UNMASKED_FIELDS = ("name", "cert_no", "phone", "address")


@dataclass(frozen=True, slots=True)
class Unmasked:
    person: str
    details: PersonDetails


def record_person(tx: Transaction, details: PersonDetails) -> str:
    """Reuse the person if someone with these exact details is on record, else seal anew."""
    st = tx.station
    for person in person_ids(st.db, "cert_key", blind_key(st.keys.index_key, "cert_no",
                                                          details.cert_no)):
        known = open_person(st, person)
        if known == details:
            return person
    person = st.new_id()
    key = st.vault.create(person)
    sealed = seal(key, canonical_json(details.sealed_fields()), person_aad(person))
    tx.append("person.recorded", {"person": person, "cert_type": details.cert_type.value,
                                  "sealed": base64.b64encode(sealed).decode()})
    return person


def find_people(station: Station, text: str) -> list[str]:
    """Person ids matching a full name or a full certificate number (exact, never partial)."""
    value = " ".join((text or "").split())
    if not value:
        return []
    key = station.keys.index_key
    if is_valid_id_number(value) or any(ch.isdigit() for ch in value):
        return person_ids(station.db, "cert_key", blind_key(key, "cert_no", value.upper()))
    return person_ids(station.db, "name_key", blind_key(key, "name", value))


def unmask(station: Station, person: str, *, reason: str) -> Unmasked:
    """The full details, for a role that needs them; the reading itself goes into the log."""
    if not (reason or "").strip():
        raise MissingField(field="reason", label="查看完整信息的事由")
    with station.transaction() as tx:
        details = open_person(station, person)
        log_unmask(tx, person, reason=reason)
    return Unmasked(person, details)


def log_unmask(tx: Transaction, person: str, *, reason: str,
               fields: tuple[str, ...] = UNMASKED_FIELDS, actor: str | None = None) -> None:
    """Record that ``person``'s details were read in full (or disclosed, e.g. to a county
    auditor), and why: the station's own unmask log is the ``person.unmasked`` entries."""
    tx.append("person.unmasked", {"person": person, "reason": reason.strip(),
                                  "fields": list(fields)}, actor=actor)


def erase_person(station: Station, person: str, *, reason: str) -> None:
    """Erase a person (PIPL 删除权): log why, then destroy their key in the same transaction."""
    if not (reason or "").strip():
        raise MissingField(field="reason", label="删除原因")
    if person_cert_type(station.db, person) is None:
        raise PersonNotFound()
    with station.transaction() as tx:
        tx.append("person.erased", {"person": person, "reason": reason.strip()})
        station.vault.erase(person)
    # Push the deleted key out of the write-ahead log too, not just out of the table.
    station.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def open_person(station: Station, person: str) -> PersonDetails:
    """Unseal a person's details. Callers log why (``unmask``, or the document issued)."""
    cert_type = person_cert_type(station.db, person)
    if cert_type is None:
        raise PersonNotFound()
    key = station.vault.key(person)
    if key is None:
        raise PersonErased()
    sealed = _sealed_blob(station, person)
    fields = json.loads(unseal(key, sealed, person_aad(person)))
    return details_from_sealed(cert_type, fields)


def _sealed_blob(station: Station, person: str) -> bytes:
    row = station.db.execute("SELECT idx FROM person WHERE person = ?", [person]).fetchone()
    data = station.ledger.entry(row[0])
    if data is None:
        raise PersonNotFound()
    body = json.loads(data)["body"]
    return base64.b64decode(body["sealed"])


def seal_about(station: Station, person: str, field: str, value: str) -> str:
    """Seal one more value about ``person`` (e.g. the number of a licence issued to them)
    under their key, for a log entry: erasing the person makes it unreadable too."""
    key = station.vault.key(person)
    if key is None:
        raise PersonErased()
    return base64.b64encode(seal(key, value.encode(), _field_aad(person, field))).decode()


def open_about(station: Station, person: str, field: str, sealed: str) -> str | None:
    """A value sealed by ``seal_about``, or None once the person is erased."""
    key = station.vault.key(person)
    if key is None:
        return None
    return unseal(key, base64.b64decode(sealed), _field_aad(person, field)).decode()


def _field_aad(person: str, field: str) -> bytes:
    return person_aad(person) + b"/" + field.encode()
