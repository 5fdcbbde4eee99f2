"""Applicants and villagers: the personal data that is sealed, never logged in clear.

``PersonDetails`` is what a clerk types; ``validate_person`` checks it as a whole and names
the field at fault. ``MaskedPerson`` is what screens and paper show by default (GB/T 35273
§7.2). The sealed form travels in ``person.recorded`` entries; see ``station_app.crypto``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from station_app.domain.identity import (
    CertType,
    validate_certificate,
    validate_id_number,
    validate_mobile,
)
from station_app.domain.masking import (
    mask_address,
    mask_certificate,
    mask_mobile,
    mask_name,
)
from station_app.errors import InvalidInput, MissingField

PERSONAL_FIELDS = ("name", "cert_no", "phone", "address")


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonDetails:
    name: str
    cert_type: CertType
    cert_no: str
    phone: str = ""
    address: str = ""

    def sealed_fields(self) -> dict[str, Any]:
        """What goes inside the seal (cert_type stays outside: it identifies nobody)."""
        return {"name": self.name, "cert_no": self.cert_no, "phone": self.phone,
                "address": self.address}


@dataclass(frozen=True, slots=True, kw_only=True)
class MaskedPerson:
    name: str
    cert_type: CertType
    cert_no: str
    phone: str
    address: str


def validate_person(
    *, name: str, cert_no: str, cert_type: CertType | str = CertType.RESIDENT_ID,
    phone: str = "", address: str = "", today: date | None = None,
) -> PersonDetails:
    kind = cert_type if isinstance(cert_type, CertType) else CertType.parse(cert_type)
    clean_name = " ".join((name or "").split())
    if not clean_name:
        raise MissingField(field="name", label="姓名")
    if len(clean_name) > 50:
        raise InvalidInput(field="name", label="姓名", reason="不能超过50个字")
    if not (cert_no or "").strip():
        raise MissingField(field="cert_no", label="证件号码")
    if kind in (CertType.RESIDENT_ID, CertType.TEMP_RESIDENT_ID):
        number = validate_id_number(cert_no, today=today)
    else:
        number = validate_certificate(kind, cert_no)
    mobile = validate_mobile(phone) if (phone or "").strip() else ""
    where = " ".join((address or "").split())
    if len(where) > 200:
        raise InvalidInput(field="address", label="地址", reason="不能超过200个字")
    return PersonDetails(name=clean_name, cert_type=kind, cert_no=number, phone=mobile,
                         address=where)


def details_from_sealed(cert_type: str, fields: dict[str, Any]) -> PersonDetails:
    return PersonDetails(name=fields["name"], cert_type=CertType(cert_type),
                         cert_no=fields["cert_no"], phone=fields["phone"],
                         address=fields["address"])


def mask_person(details: PersonDetails) -> MaskedPerson:
    return MaskedPerson(
        name=mask_name(details.name), cert_type=details.cert_type,
        cert_no=mask_certificate(details.cert_type, details.cert_no),
        phone=mask_mobile(details.phone) if details.phone else "",
        address=mask_address(details.address))


ERASED_LABEL = "（已删除）"


def erased_person(cert_type: CertType) -> MaskedPerson:
    """What remains visible of a person whose key was erased (PIPL 删除权)."""
    return MaskedPerson(name=ERASED_LABEL, cert_type=cert_type, cert_no=ERASED_LABEL,
                        phone="", address="")
