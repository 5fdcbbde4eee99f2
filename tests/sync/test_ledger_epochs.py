"""`station ledger verify` on a replacement PC checks the earlier epochs too (the lost PC's
log recovered from the county) and says so; an altered recovered entry fails the check."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from station_app.cli.output import EXIT_VERIFY_FAILED
from station_app.services.clock import ManualClock
from station_app.services.ledger import verify_folder, verify_history
from sync.county.service import County
from tests.sync.cli_helpers import ok_json
from tests.sync.cli_helpers import station as station_cli
from tests.sync.conftest import RunningServer
from tests.sync.test_recovery import Lost, lost, replace  # noqa: F401 (the `lost` fixture)


def test_ledger_verify_checks_the_recovered_epochs_and_says_so(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost):  # noqa: F811
    data = tmp_path / "new"
    report = replace(county, county_server.url, data, clock)
    old = lost.station.info.origin

    done = station_cli(data, "ledger", "verify")
    assert done.returncode == 0, done.stderr
    assert "账本完好" in done.stdout
    assert f"早期日志（换电脑前，从县级恢复）：1 段，{report.acknowledged} 条记录，校验通过 1 段" \
        in done.stdout
    assert f"{old}：{report.acknowledged} 条，完好" in done.stdout
    answer = ok_json(station_cli(data, "ledger", "verify", "--json"))
    assert answer["ok"] and answer["epochs"] == [
        {"origin": old, "entries": report.acknowledged, "ok": True, "problem": ""}]
    assert answer["history_entries"] == answer["entries"] + report.acknowledged

    # someone with the file edits a recovered entry (past the append-only trigger)
    db = sqlite3.connect(data / "station.db")
    db.execute("DROP TRIGGER epoch_entry_no_update")
    db.execute("UPDATE epoch_entry SET entry = CAST(REPLACE(CAST(entry AS TEXT), "
               "'\"idx\":3', '\"idx\":3 ') AS BLOB) WHERE idx = 3")
    db.commit()
    db.close()
    bad = station_cli(data, "ledger", "verify")
    assert bad.returncode == EXIT_VERIFY_FAILED
    assert f"{old}：{report.acknowledged} 条，校验失败（entry 3" in bad.stdout
    assert "账本校验失败：早期日志被改动" in bad.stdout
    history = verify_history(data)
    assert history.log.ok and not history.ok  # the current log itself is intact
    folded = verify_folder(data)  # what backup and restore check: the epochs count too
    assert not folded.ok and folded.problem.startswith(f"早期日志 {old} 校验未通过")
