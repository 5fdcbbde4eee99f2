"""Reading what the county published, as the projections hold it (see ``m006``)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlite_utils import Database

from station_app.domain.publications import Revocation
from station_app.domain.versions import AppRequirement


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


# The county's minimum program version (the ``app`` collection): local sync state beside
# the applied publication versions, written in the transaction that logs ``app.requirement``.
APP_REQUIREMENT_KEY = "app_requirement"


def app_requirement(db: Database) -> AppRequirement | None:
    row = db.execute("SELECT value FROM sync_config WHERE key = ?",
                     [APP_REQUIREMENT_KEY]).fetchone()
    if row is None:
        return None
    value = json.loads(row[0])
    return AppRequirement(min_version=value["min_version"], notice=value["notice"])


def set_app_requirement(db: Database, requirement: AppRequirement) -> None:
    db.execute("INSERT INTO sync_config (key, value) VALUES (?, ?) ON CONFLICT (key) "
               "DO UPDATE SET value = excluded.value",
               [APP_REQUIREMENT_KEY, json.dumps(requirement.to_content(), ensure_ascii=False)])
