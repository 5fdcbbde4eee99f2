"""The evaluation QR code for a finished case (docs/evaluation-qr.md).

The station knows its county's address from enrollment (``sync_config.server``); a station
not enrolled prints no code, and the notice's own text lists the other ways to rate.
"""

from __future__ import annotations

from station_app.domain.clock import local_day
from station_app.domain.rating import make_rating_token, rating_url
from station_app.domain.states import CaseState
from station_app.services.cases import get_case
from station_app.services.station import Station

CAPTION = "微信或手机扫码评价本次服务（非常满意、满意、基本满意、不满意、非常不满意）"


def county_address(station: Station) -> str | None:
    """The county server's address if this station is enrolled (keys pinned), else None."""
    state = station.sync_state
    server = state.get("server")
    return server if server and state.get("root") and state.get("keyset") else None


def case_rating_url(station: Station, case_no: str) -> str | None:
    """``<county>/r/<token>`` for a finished case, or None (not enrolled, not finished)."""
    base = county_address(station)
    if base is None:
        return None
    case = get_case(station, case_no)
    if case.state is not CaseState.FINISHED or case.closed_at is None:
        return None
    token = make_rating_token(station=station.info.code, case_no=case.case_no,
                              closed=local_day(case.closed_at), sign=station.signer.sign)
    return rating_url(base, token)
