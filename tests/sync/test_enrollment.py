"""Enrollment: a one-time code, valid 72 hours, five tries; the county's root key is pinned
only when the county's answer carries the code's MAC."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from station_app.errors import EnrollRefused
from station_app.services.clock import ManualClock
from station_app.services.station import Station
from station_app.store.keyfile import keys_path, read_keys
from sync.client import HttpTransport
from sync.county.service import TICKET_ATTEMPTS, County
from sync.protocol import b64, enrollment_mac_key, mac
from sync.station import enroll, enrollment, kem_key
from tests.sync.conftest import VILLAGE, RunningServer, make_station


@pytest.fixture
def fresh(tmp_path: Path, clock: ManualClock) -> Iterator[Station]:
    st = make_station(tmp_path / "fresh", VILLAGE, clock)
    yield st
    st.close()


def entries(st: Station) -> int:
    return st.ledger.size()


def refused(st: Station, url: str, code: str) -> None:
    before, key_file = entries(st), keys_path(st.folder).read_bytes()
    with HttpTransport(url) as t, pytest.raises(EnrollRefused):
        enroll(st, t, code)
    assert enrollment(st) is None and entries(st) == before  # nothing pinned, nothing logged
    assert keys_path(st.folder).read_bytes() == key_file  # not even a new key saved


def test_a_good_code_enrolls_and_pins_the_countys_root(
        fresh: Station, county: County, county_server: RunningServer):
    code = county.new_ticket(VILLAGE.code).code
    with HttpTransport(county_server.url) as t:
        link = enroll(fresh, t, code.lower().replace("-", " "))  # however it is typed
    assert link.county == "county/330199" and enrollment(fresh) is not None
    assert link.keys.root == county.keys.root
    assert read_keys(fresh.folder).kem_seed is not None  # the key named in the certificate
    assert [e.kind for e in fresh.entries()][-1] == "sync.enrolled"


def test_a_used_code_is_refused(fresh: Station, tmp_path: Path, clock: ManualClock,
                                county: County, county_server: RunningServer):
    code = county.new_ticket(VILLAGE.code).code
    with HttpTransport(county_server.url) as t:
        enroll(fresh, t, code)
    second = make_station(tmp_path / "second-pc", VILLAGE, clock)
    refused(second, county_server.url, code)
    second.close()


def test_an_expired_code_is_refused(fresh: Station, county: County,
                                    county_clock: ManualClock, county_server: RunningServer):
    code = county.new_ticket(VILLAGE.code).code
    county_clock.advance(hours=72, seconds=1)
    refused(fresh, county_server.url, code)


def test_a_forged_code_is_refused_and_five_tries_burn_the_real_one(
        fresh: Station, county: County, county_server: RunningServer):
    code = county.new_ticket(VILLAGE.code).code
    for _ in range(TICKET_ATTEMPTS):
        refused(fresh, county_server.url, "A" * 26)
    refused(fresh, county_server.url, code)  # guessed at too often: the real code is dead too


def test_a_code_for_another_station_is_refused(fresh: Station, county: County,
                                               county_server: RunningServer):
    code = county.new_ticket("330199101202").code
    refused(fresh, county_server.url, code)


def test_an_answer_without_the_codes_mac_is_not_trusted(
        fresh: Station, county: County, county_server: RunningServer):
    """A man in the middle can relay the county's answer but cannot MAC another root key."""
    code = county.new_ticket(VILLAGE.code).code

    class Impostor(HttpTransport):
        def enroll(self, body: bytes):  # type: ignore[no-untyped-def]
            status, answer = super().enroll(body)
            forged = dict(answer)
            forged["mac"] = mac(enrollment_mac_key("B" * 26),
                                {"certificate": answer["certificate"],
                                 "keyset": answer["keyset"]})
            return status, forged

    with Impostor(county_server.url) as t, pytest.raises(EnrollRefused):
        enroll(fresh, t, code)
    assert enrollment(fresh) is None


def test_a_malformed_request_is_refused_and_leaves_the_ticket_usable(
        fresh: Station, county: County, county_server: RunningServer):
    code = county.new_ticket(VILLAGE.code).code
    info = fresh.info
    request = {"format": "vss-enroll/1", "station": info.code, "origin": info.origin,
               "log_public": b64(fresh.signer.public_key),
               "kem_public": b64(kem_key(fresh).public_key), "name": "东坑村\x00", "t_wall": ""}
    body = json.dumps({"request": request, "mac": mac(enrollment_mac_key(code), request)})
    reply = county.enroll(body.encode())
    assert reply.status == 400 and reply.body["error"] == "malformed"
    with county.db.read() as tx:
        assert tx.stations(VILLAGE.code) == []
    with HttpTransport(county_server.url) as t:
        enroll(fresh, t, code)  # the code was not used up by the bad request
    assert enrollment(fresh) is not None
