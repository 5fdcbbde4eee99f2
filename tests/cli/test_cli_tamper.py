"""Tampering with the log behind the program's back: ``ledger verify`` must name the spot.

Each test copies the shared demo station, opens its database with plain ``sqlite3`` the way
someone editing the file by hand would, drops the append-only triggers, changes the log and
runs ``station ledger verify``: exit code 3, and both the text and the JSON name the first bad
position.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli.conftest import DEMO_CODE, json_of, ledger_count, ok_json, run

pytestmark = pytest.mark.slow

EXIT_VERIFY_FAILED = 3


@contextmanager
def tampering(data: Path) -> Iterator[sqlite3.Connection]:
    """The station database with its append-only guards removed, committed on exit."""
    conn = sqlite3.connect(data / "station.db")
    try:
        for trigger in ("ledger_no_update", "ledger_no_delete", "checkpoint_no_delete"):
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        yield conn
        conn.commit()
    finally:
        conn.close()


def entry_of(conn: sqlite3.Connection, idx: int) -> bytes:
    return conn.execute("SELECT entry FROM ledger WHERE idx = ?", [idx]).fetchone()[0]


def leaf(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def flip_byte(entry: bytes) -> bytes:
    """One bit changed in the middle of the entry."""
    changed = bytearray(entry)
    changed[len(changed) // 2] ^= 0x01
    return bytes(changed)


def reword(entry: bytes) -> bytes:
    """A believable edit: still well-formed JSON at the same position, one character changed."""
    match = re.search(rb'"salt":"(.)', entry)
    assert match is not None
    other = b"A" if match.group(1) != b"A" else b"B"
    return entry[:match.start(1)] + other + entry[match.end(1):]


def assert_caught_at(data: Path, position: int) -> dict[str, object]:
    text = run("ledger", "verify", data=data)
    as_json = run("ledger", "verify", "--json", data=data)

    assert text.returncode == EXIT_VERIFY_FAILED, text.stdout + text.stderr
    assert f"position {position}:" in text.stdout
    assert f"第 {position} 条" in text.stdout
    assert as_json.returncode == EXIT_VERIFY_FAILED
    report = json_of(as_json)
    assert report["ok"] is False
    assert report["station"] == DEMO_CODE
    assert report["first_bad_position"] == position
    assert report["problem"] and report["problem_en"]
    return report


@pytest.fixture(scope="module")
def size(demo_station: Path) -> int:
    return ledger_count(demo_station)


POSITIONS: dict[str, Callable[[int], int]] = {
    "first": lambda n: 0,
    "middle": lambda n: n // 2,
    "last": lambda n: n - 1,
}


@pytest.fixture(params=list(POSITIONS))
def k(request: pytest.FixtureRequest, size: int) -> int:
    return POSITIONS[request.param](size)


def test_the_untouched_demo_verifies(demo_station: Path, size: int) -> None:
    report = ok_json("ledger", "verify", "--full", data=demo_station)

    assert report["ok"] is True and report["entries"] == size
    assert report["first_bad_position"] is None


def test_a_flipped_byte_is_caught(demo_copy: Path, k: int) -> None:
    with tampering(demo_copy) as conn:
        conn.execute("UPDATE ledger SET entry = ? WHERE idx = ?",
                     [flip_byte(entry_of(conn, k)), k])

    report = assert_caught_at(demo_copy, k)

    assert "altered" in str(report["problem_en"])


def test_a_deleted_entry_is_caught(demo_copy: Path, k: int) -> None:
    """Including the newest one alone: its signed checkpoint is still there, covering it."""
    with tampering(demo_copy) as conn:
        conn.execute("DELETE FROM ledger WHERE idx = ?", [k])

    report = assert_caught_at(demo_copy, k)

    assert "missing" in str(report["problem_en"])


Pair = Callable[[int], tuple[int, int]]
SWAPS: dict[str, Pair] = {
    "first-and-middle": lambda n: (0, n // 2),
    "middle-and-later": lambda n: (n // 2, n - 3),
    "last-and-early": lambda n: (n - 1, 5),
}


@pytest.mark.parametrize("pair", list(SWAPS.values()), ids=list(SWAPS))
def test_two_swapped_entries_are_caught_at_the_first(demo_copy: Path, size: int,
                                                     pair: Pair) -> None:
    k, j = pair(size)
    with tampering(demo_copy) as conn:
        rows = {i: conn.execute("SELECT entry, leaf_hash FROM ledger WHERE idx = ?",
                                [i]).fetchone() for i in (k, j)}
        for here, there in ((k, j), (j, k)):
            conn.execute("UPDATE ledger SET entry = ?, leaf_hash = ? WHERE idx = ?",
                         [*rows[there], here])

    assert_caught_at(demo_copy, min(k, j))


def test_a_consistently_rewritten_entry_is_caught_by_the_signed_checkpoints(
        demo_copy: Path, k: int) -> None:
    """The stored leaf hash is recomputed, so only the signed tree can tell."""
    with tampering(demo_copy) as conn:
        changed = reword(entry_of(conn, k))
        conn.execute("UPDATE ledger SET entry = ?, leaf_hash = ? WHERE idx = ?",
                     [changed, leaf(changed), k])

    report = assert_caught_at(demo_copy, k)

    assert "does not match its hash" not in str(report["problem_en"])


def test_cutting_off_the_last_entry_with_its_checkpoint_passes_locally(demo_copy: Path,
                                                                       size: int) -> None:
    """A known limit, by design: a log cut back to an earlier signed size is a valid log.

    Removing the newest entry *and* its signed checkpoint leaves exactly the log as it stood
    one entry earlier, checkpoint signature and all, so no check on this PC can tell. It is
    caught where the newer checkpoint went: the county keeps every checkpoint a station syncs
    (and every export or receipt carries one), and a later log that is shorter than, or not
    an extension of, a checkpoint already seen fails the consistency proof there.
    """
    with tampering(demo_copy) as conn:
        conn.execute("DELETE FROM ledger WHERE idx = ?", [size - 1])
        conn.execute("DELETE FROM checkpoint WHERE size = ?", [size])

    report = ok_json("ledger", "verify", "--full", data=demo_copy)

    assert report["ok"] is True
    assert report["entries"] == size - 1


# ---------------------------------------------------------------------------- exports


def test_an_export_verifies_and_a_flipped_byte_in_it_is_caught(demo_copy: Path,
                                                               tmp_path: Path,
                                                               size: int) -> None:
    export = tmp_path / "ledger.jsonl"
    written = ok_json("ledger", "export", export, data=demo_copy)
    lines = export.read_bytes().split(b"\n")
    assert json.loads(lines[0])["format"] == "vss-ledger-export/1"
    assert written["entries"] == size

    good = ok_json("ledger", "verify", "--file", export, data=demo_copy)
    assert good["ok"] is True and good["root"] == written["root"]

    k = size // 3
    lines[1 + k] = flip_byte(lines[1 + k])  # line 0 is the header
    export.write_bytes(b"\n".join(lines))
    bad = run("--json", "ledger", "verify", "--file", export, data=demo_copy)

    assert bad.returncode == EXIT_VERIFY_FAILED
    report = json_of(bad)
    assert report["ok"] is False
    # An export carries every signed checkpoint, so the changed entry itself is named.
    assert report["first_bad_position"] == k
