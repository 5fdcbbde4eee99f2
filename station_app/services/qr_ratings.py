"""Ratings made on the county's QR page, taken in by the sync (docs/evaluation-qr.md).

Each relayed rating becomes a ``rating.received`` entry saying what became of it: recorded
(an ``evaluation.recorded`` entry with channel 二维码 and the county's receipt time, opening
the 差评整改 loop if it is bad, in the same transaction) or refused with the domain's reason
(a second 首评 because the applicant already rated at the window, a case this station does
not have …). A refusal never blocks the sync; it is listed for the staff
(``station review qr``) and reaches the county with the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from station_app.domain.evaluations import OTHER_REASON, Channel, Level
from station_app.errors import StationError
from station_app.services.badreview import review_settings
from station_app.services.evaluations import append_evaluation
from station_app.services.station import Station, Transaction

RECEIVED = "rating.received"
RECORDED, REFUSED = "recorded", "refused"
MAX_COMMENT = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class QrRating:
    sender: str
    message_id: str
    case_no: str
    assess: int
    level: Level
    received_at: str
    outcome: str  # recorded | refused
    reason: str  # why it was refused (Chinese), "" when recorded
    idx: int

    @property
    def refused(self) -> bool:
        return self.outcome == REFUSED


def taken(station: Station, sender: str, message_id: str) -> bool:
    return station.db.execute("SELECT 1 FROM qr_rating_inbox WHERE sender = ? AND message_id"
                              " = ?", [sender, message_id]).fetchone() is not None


def take_rating(tx: Transaction, *, sender: str, message_id: str, seq: int,
                payload: Mapping[str, str], actor: str) -> str:
    """Record one relayed rating, or note why not; returns ``recorded`` or ``refused``."""
    station = tx.station
    level = Level(payload["level"])
    reasons, comment = _fit_reasons(station, payload["reasons"], payload["comment"])
    at = min(datetime.fromisoformat(payload["received_at"]), station.clock.now())
    outcome, reason, evaluation = RECORDED, "", station.ledger.size()  # its idx, if made
    try:
        append_evaluation(tx, payload["case_no"], level, Channel.QR, reasons=reasons,
                          comment=comment, followup=int(payload["assess"]) > 1, at=at,
                          actor=actor)
    except StationError as error:  # every check runs before the evaluation is appended
        outcome, reason, evaluation = REFUSED, error.text, None
    tx.append(RECEIVED, {
        "from": sender, "id": message_id, "seq": seq, "rating_id": payload["rating_id"],
        "case_no": payload["case_no"], "assess": int(payload["assess"]), "level": level.value,
        "received_at": payload["received_at"], "outcome": outcome, "reason": reason,
        "evaluation_idx": evaluation}, actor=actor)
    return outcome


def _fit_reasons(station: Station, lines: str, comment: str) -> tuple[list[str], str]:
    """The page offers the default 差评 reasons; one this station has renamed or dropped is
    kept in the comment rather than refusing the applicant's rating."""
    options = review_settings(station).reasons
    chosen = [r for r in lines.split("\n") if r.strip()]
    kept = [r for r in chosen if r in options and (r != OTHER_REASON or comment.strip())]
    extra = [r for r in chosen if r not in kept]
    if extra:
        note = "（扫码所选原因：" + "、".join(extra) + "）"
        comment = (comment.strip()[:MAX_COMMENT - len(note)] + note).strip()
    return kept, comment


def qr_ratings(station: Station, *, refused_only: bool = False) -> list[QrRating]:
    where = " WHERE outcome = 'refused'" if refused_only else ""
    rows = station.db.execute(
        "SELECT sender, message_id, case_no, assess, level, received_at, outcome, reason, idx"
        f" FROM qr_rating_inbox{where} ORDER BY idx").fetchall()
    return [QrRating(sender=r[0], message_id=r[1], case_no=r[2], assess=r[3],
                     level=Level(r[4]), received_at=r[5], outcome=r[6], reason=r[7], idx=r[8])
            for r in rows]
