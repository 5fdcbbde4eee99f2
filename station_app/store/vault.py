"""Per-person keys. Deleting a person's key is how their data is erased (PIPL 删除权).

Entries in the log hold each person's details sealed under that person's own key; the key is
stored here wrapped under the station's data key. Once the key is gone the sealed bytes in the
log are noise, yet they still hash the same, so the log keeps verifying.
"""

from __future__ import annotations

from sqlite_utils import Database

from station_app.crypto import new_secret, seal, unseal


class Vault:
    def __init__(self, db: Database, data_key: bytes) -> None:
        self.db = db
        self._data_key = data_key

    def create(self, person: str) -> bytes:
        key = new_secret()
        wrapped = seal(self._data_key, key, _aad(person))
        self.db.execute("INSERT INTO person_key (person, wrapped) VALUES (?, ?)",
                        [person, wrapped])
        return key

    def put(self, person: str, key: bytes) -> None:
        """Keep an existing person key (imported from a restored copy of a lost PC)."""
        self.db.execute("INSERT OR IGNORE INTO person_key (person, wrapped) VALUES (?, ?)",
                        [person, seal(self._data_key, key, _aad(person))])

    def key(self, person: str) -> bytes | None:
        row = self.db.execute("SELECT wrapped FROM person_key WHERE person = ?",
                              [person]).fetchone()
        return None if row is None else unseal(self._data_key, row[0], _aad(person))

    def erase(self, person: str) -> bool:
        cursor = self.db.execute("DELETE FROM person_key WHERE person = ?", [person])
        return cursor.rowcount > 0


def _aad(person: str) -> bytes:
    return b"vss-person-key/1\n" + person.encode()
