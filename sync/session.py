"""One sync session: upload the log, then fetch what the county publishes, then exchange
relayed messages. Each step is safe to repeat and resumes where the last one stopped; the
UI, the CLI and the background scheduler all call ``run_sync``.
"""

from __future__ import annotations

from station_app.services.station import Station
from sync.station import Progress, SyncReport, Transport, sync_once


def run_sync(station: Station, transport: Transport, progress: Progress | None = None
             ) -> SyncReport:
    report = sync_once(station, transport, progress)  # the log first: it is what matters most
    return report
