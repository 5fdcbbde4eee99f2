"""Users: who may sign in, with which role, and their PINs.

Names and roles are log entries (``user.set``), so the county sees who did what; PIN hashes
stay in the local ``credential`` table and never leave the PC. After five wrong PINs in a row
an account is locked for ten minutes.
"""

from __future__ import annotations

from datetime import datetime

from station_app.crypto import check_pin_hash, hash_pin
from station_app.domain.users import Role, User, check_new_user, check_pin
from station_app.errors import AccountLocked, NotFound, SignInFailed
from station_app.services.station import Station, Transaction

MAX_FAILURES = 5
LOCK_SECONDS = 600


def add_user(station: Station, *, name: str, role: Role | str, pin: str,
             tx: Transaction | None = None) -> User:
    clean, chosen = check_new_user(name, role, pin)
    user = User(user_id=station.new_id()[:8], name=clean, role=chosen)
    pin_hash = hash_pin(pin)  # slow: done before the write lock is taken
    if tx is not None:
        _record(tx, user, pin_hash)
    else:
        with station.transaction() as own:
            _record(own, user, pin_hash)
    return user


def _record(tx: Transaction, user: User, pin_hash: str) -> None:
    tx.append("user.set", {"user_id": user.user_id, "name": user.name,
                           "role": user.role.value, "active": True})
    tx.db.execute("INSERT OR REPLACE INTO credential (user_id, pin_hash) VALUES (?, ?)",
                  [user.user_id, pin_hash])


def users(station: Station, *, include_inactive: bool = False) -> list[User]:
    rows = station.db.execute(
        "SELECT user_id, name, role, active FROM app_user"
        + ("" if include_inactive else " WHERE active = 1") + " ORDER BY idx").fetchall()
    return [User(user_id=r[0], name=r[1], role=Role(r[2]), active=bool(r[3])) for r in rows]


# Actors that are not people: the demo simulation, station set-up and the command line.
SYSTEM_ACTORS = {"demo": "（示例数据）", "admin": "（站点初始设置）", "cli": "（命令行）",
                 "relay": "（县级转来）"}


def user_names(station: Station) -> dict[str, str]:
    """user id → name, for showing who acted in timelines and on documents.

    Entries written without a signed-in user carry a tool's name as actor; those get a
    readable label instead of the raw id.
    """
    return {**SYSTEM_ACTORS, **{u.user_id: u.name for u in users(station, include_inactive=True)}}


def sign_in(station: Station, user_id: str, pin: str, now: datetime) -> User:
    found = [u for u in users(station) if u.user_id == user_id]
    if not found:
        raise NotFound(field="user", value=user_id)
    row = station.db.execute("SELECT pin_hash, failures, locked_until FROM credential"
                             " WHERE user_id = ?", [user_id]).fetchone()
    ts = int(now.timestamp())
    if row is None:
        raise SignInFailed(field="pin", left=0)
    if row[2] > ts:
        raise AccountLocked(field="pin", minutes=max(1, (row[2] - ts + 59) // 60))
    if check_pin_hash(row[0], pin):
        station.db.execute("UPDATE credential SET failures = 0 WHERE user_id = ?", [user_id])
        return found[0]
    failures = row[1] + 1
    locked = ts + LOCK_SECONDS if failures >= MAX_FAILURES else 0
    station.db.execute("UPDATE credential SET failures = ?, locked_until = ? WHERE user_id = ?",
                       [0 if locked else failures, locked, user_id])
    if locked:
        raise AccountLocked(field="pin", minutes=LOCK_SECONDS // 60)
    raise SignInFailed(field="pin", left=MAX_FAILURES - failures)


def set_pin(station: Station, user_id: str, pin: str) -> None:
    check_pin(pin)
    station.db.execute("UPDATE credential SET pin_hash = ?, failures = 0, locked_until = 0"
                       " WHERE user_id = ?", [hash_pin(pin), user_id])
