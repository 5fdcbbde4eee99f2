"""The evaluation QR code on the 办结通知书 (docs/evaluation-qr.md): a rating token.

The code holds ``<county public URL>/r/<token>``. The token names the station, the case and
the last day it may be used, and carries the station's Ed25519 signature over them, so the
county can check with the station's enrolled log key that this station invited a rating of
that case, and nobody can invent invitations for other case numbers. It holds no personal
data: a case number, a station code and a day.

Layout (bytes, big-endian, then RFC 4648 base32 without padding, upper case)::

    version (1) | expiry day (2) | case day (2) | case sequence (4)
    | len(station) (1) | station code (ASCII)
    | Ed25519 signature (64) over RATE_DOMAIN ‖ everything before it

Days count from 2000-01-01. The case number is ``<station>-<YYYYMMDD>-<seq>``
(``numbering.case_number``), so it is carried as its day and sequence rather than repeated:
86 bytes, 138 characters for a 12-digit station code. A full signature (64 of the 86
bytes) rather than a short MAC: it needs no new key material (the county already holds
every station's log public key), and a MAC key shared with the county would let the county
mint invitations itself. Upper-case base32 and an upper-case URL keep the whole QR in
alphanumeric mode (5.5 bits a character): version 7 (45 modules) at error correction M
for a county address of up to ~30 characters, version 8 (49) up to ~55.

Pure: signing and checking are passed in; "today" is passed in.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from station_app.domain.numbering import STATION_CODE, case_number, parse_case_number

TOKEN_VERSION = 1
RATE_DOMAIN = b"vss-rate/1\n"
VALID_DAYS = 180  # how long after 办结 the code may be used (追评 included)
MAX_FOLLOWUPS = 2  # 追评 through the code after the 首评
EPOCH = date(2000, 1, 1)
SIGNATURE_BYTES = 64
MAX_TOKEN_CHARS = 160


class BadRatingToken(ValueError):
    """Not a well-formed rating token (its signature is checked separately)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingToken:
    station: str
    case_no: str
    expires: date  # last day it may be used
    signature: bytes = b""

    def signed_part(self) -> bytes:
        parsed = parse_case_number(self.case_no)
        if parsed is None or parsed.station != self.station:
            raise BadRatingToken("not a case of this station")
        day = date(int(parsed.period[:4]), int(parsed.period[4:6]), int(parsed.period[6:]))
        station = self.station.encode()
        return (struct.pack(">BHHI", TOKEN_VERSION, (self.expires - EPOCH).days,
                            (day - EPOCH).days, parsed.seq) + bytes([len(station)]) + station)

    def message(self) -> bytes:
        return RATE_DOMAIN + self.signed_part()

    def text(self) -> str:
        return base64.b32encode(self.signed_part() + self.signature).decode().rstrip("=")

    def expired(self, today: date) -> bool:
        return today > self.expires


def make_rating_token(*, station: str, case_no: str, closed: date,
                      sign: Callable[[bytes], bytes]) -> RatingToken:
    """The token for a finished case; the same case always gives the same token (Ed25519
    signatures are deterministic), so a reprint carries the same code."""
    unsigned = RatingToken(station=station, case_no=case_no,
                           expires=closed + timedelta(days=VALID_DAYS))
    return RatingToken(station=station, case_no=case_no, expires=unsigned.expires,
                       signature=sign(unsigned.message()))


def parse_rating_token(text: str) -> RatingToken:
    """The token's fields, by shape only; raises ``BadRatingToken``."""
    clean = (text or "").strip().upper()
    if not clean or len(clean) > MAX_TOKEN_CHARS or not clean.isascii() or not clean.isalnum():
        raise BadRatingToken("not a rating token")
    try:
        raw = base64.b32decode(clean + "=" * (-len(clean) % 8))
    except (binascii.Error, ValueError):
        raise BadRatingToken("not base32") from None
    try:
        version, expires, day, seq = struct.unpack(">BHHI", raw[:9])
        size = raw[9]
        station = raw[10:10 + size].decode("ascii")
    except (struct.error, IndexError, UnicodeDecodeError):
        raise BadRatingToken("truncated") from None
    signature = raw[10 + size:]
    if version != TOKEN_VERSION or len(signature) != SIGNATURE_BYTES \
            or not STATION_CODE.match(station):
        raise BadRatingToken("fields are malformed")
    token = RatingToken(station=station,
                        case_no=case_number(station, EPOCH + timedelta(days=day), seq),
                        expires=EPOCH + timedelta(days=expires), signature=signature)
    if token.text() != clean:  # one spelling only: no second token for the same invitation
        raise BadRatingToken("not in canonical form")
    return token


def rating_url(base: str, token: RatingToken) -> str:
    """``<base>/r/<token>``; a base with no path is written in upper case (scheme and host
    are case-insensitive, the county serves ``/R/`` too) so the QR stays alphanumeric."""
    base = base.rstrip("/")
    scheme, _, rest = base.partition("://")
    url = f"{base}/r/{token.text()}"
    if scheme and "/" not in rest and all(c.isalnum() or c in ".-:" for c in rest):
        return url.upper()
    return url
