"""Reading what the county published, as the projections hold it (see ``m006``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from station_app.domain.publications import Revocation


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    name: str
    version: str  # the template's own version (``version = …`` in the TOML)
    toml: str
    publication: int  # the county publication it came with


def published_templates(db: Database) -> list[StoredTemplate]:
    return [StoredTemplate(*row) for row in db.execute(
        "SELECT name, version, toml, publication FROM published_template ORDER BY name")]


def revocation(db: Database, origin: str) -> Revocation | None:
    row = db.execute("SELECT origin, station, revoked_at, size, reason FROM revoked_station "
                     "WHERE origin = ?", [origin]).fetchone()
    return None if row is None else Revocation(*row)


def revocations(db: Database) -> list[Revocation]:
    return [Revocation(*row) for row in db.execute(
        "SELECT origin, station, revoked_at, size, reason FROM revoked_station ORDER BY origin")]
