"""One sync session: upload the log, then fetch what the county publishes, then exchange
relayed messages. Each step is safe to repeat and resumes where the last one stopped; the
UI, the CLI and the background scheduler all call ``run_sync``.
"""

from __future__ import annotations

from station_app.services.station import Station
from sync.downlink import apply_publications, fetch_publications
from sync.relay_station import RelayTransport, fetch_inbox, send_outbox
from sync.station import Progress, SyncReport, sync_once


def run_sync(station: Station, transport: RelayTransport, progress: Progress | None = None
             ) -> SyncReport:
    report = sync_once(station, transport, progress)  # the log first: it is what matters most
    size = station.ledger.size()
    # Then the county's decisions: refusals (rollback, expired …) are reported, not raised.
    report.publications = apply_publications(station, fetch_publications(station, transport))
    # Then messages between stations: what this station queued, then what waits for it.
    send_outbox(station, transport, report)
    fetch_inbox(station, transport, report)
    # Entries the publications or the relay wrote go up at once: the county learns in the
    # same session which of its decisions this station acted on.
    if station.ledger.size() > size:
        _add_upload(report, sync_once(station, transport, progress))
    return report


def _add_upload(report: SyncReport, more: SyncReport) -> None:
    report.sent_entries += more.sent_entries
    report.packages += more.packages
    report.bytes_sent += more.bytes_sent
    report.receipt = more.receipt or report.receipt
