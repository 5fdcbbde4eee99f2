"""What a change must tell another station, queued in the change's own transaction.

* A village station that names its town centre (设置 → 所属乡镇便民服务中心) hands a proxy
  entry over when it is marked 已报送: a ``handover`` message to that centre.
* A town station tells the village how a case that came in that way went: a
  ``case-status`` message when it is accepted, rejected, withdrawn or finished.

Only references are queued (the proxy or case number and the log entry that caused it); the
next sync builds each message, opening personal details from the vault only then.
"""

from __future__ import annotations

import uuid

from station_app.domain.clock import iso
from station_app.domain.log import LogEntry
from station_app.domain.relay import CASE_STATUS, HANDOVER, REPORTED_STATES
from station_app.domain.states import CaseState
from station_app.services.station import Station, Transaction
from station_app.store.relay import Outbox, handover_of_case

TOWN_CENTRE_SETTING = "profile.town_centre"


def town_centre(station: Station) -> str:
    """The station code of the town centre this station hands proxy entries over to."""
    return station.projector.setting(TOWN_CENTRE_SETTING) or ""


def queue_handover(tx: Transaction, proxy_no: str, cause: LogEntry) -> bool:
    """Queue the handover of ``proxy_no`` (once: a resumed entry is not handed over twice)."""
    town = town_centre(tx.station)
    outbox = Outbox(tx.db)
    if not town or outbox.handed_to(proxy_no):
        return False
    outbox.queue(id=uuid.uuid4().hex, kind=HANDOVER, to_station=town, subject=proxy_no,
                 ref=cause.idx, at=iso(tx.station.clock.now()))
    return True


def queue_case_status(tx: Transaction, case_no: str, state: CaseState, cause: LogEntry) -> bool:
    """Queue a status report if the case came from another station's handover."""
    if state not in REPORTED_STATES:
        return False
    handover = handover_of_case(tx.db, case_no)
    if handover is None:
        return False
    Outbox(tx.db).queue(id=uuid.uuid4().hex, kind=CASE_STATUS, to_station=handover.from_station,
                        subject=case_no, ref=cause.idx, at=iso(tx.station.clock.now()))
    return True
