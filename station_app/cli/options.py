"""Options shared by commands that take a person or materials."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from station_app.domain.cases import ReceivedMaterial
from station_app.domain.clock import local_day, parse_moment
from station_app.domain.people import PersonDetails, validate_person
from station_app.errors import InvalidInput
from station_app.services.station import Station


def applicant_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--name --id-no --cert-type --phone --address, passed on as ``**person``."""
    for option in reversed([
        click.option("--name", "name", required=True, help="姓名 / full name"),
        click.option("--id-no", "--cert-no", "cert_no", required=True,
                     help="证件号码（默认居民身份证）/ ID or certificate number"),
        click.option("--cert-type", "cert_type", default="111", show_default=True,
                     help="证件类型代码 GA/T 2000.156（111 居民身份证 …）"),
        click.option("--phone", "phone", default="", help="手机号码 / mobile"),
        click.option("--address", "address", default="", help="住址 / address"),
    ]):
        func = option(func)
    return func


def person_of(station: Station, person: dict[str, str]) -> PersonDetails:
    return validate_person(name=person["name"], cert_no=person["cert_no"],
                           cert_type=person["cert_type"], phone=person["phone"],
                           address=person["address"], today=local_day(station.clock.now()))


def materials_of(station: Station, item: str, specs: tuple[str, ...],
                 all_required: bool) -> tuple[ReceivedMaterial, ...]:
    """Materials received: ``名称[:原件[:复印件]]`` each, or all of the item's required ones."""
    found = station.projector.catalog().resolve(item)
    received = [_material(spec) for spec in specs]
    if all_required:
        named = {m.name for m in received}
        received += [ReceivedMaterial(name=m.name, originals=m.originals, copies=m.copies)
                     for m in found.materials if m.required and m.name not in named]
    return tuple(received)


def _material(spec: str) -> ReceivedMaterial:
    name, *counts = [part.strip() for part in spec.split(":")]
    if len(counts) > 2 or not all(c.isdigit() for c in counts):
        raise InvalidInput(field="materials", label="材料",
                           reason=f"“{spec}”应写成 名称[:原件数[:复印件数]]，如 居民身份证:1:1")
    originals = int(counts[0]) if counts else 1
    copies = int(counts[1]) if len(counts) > 1 else 0
    return ReceivedMaterial(name=name, originals=originals, copies=copies)


def moment(text: str | None, label: str) -> datetime | None:
    return None if not text else parse_moment(text, label)
