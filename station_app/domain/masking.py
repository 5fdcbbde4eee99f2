"""Display masking of personal information, on screen and on paper.

GB/T 35273—2020 §7.2 (个人信息的展示限制) asks for de-identification wherever personal
information is shown; no national mask pattern exists, so these follow common practice
(research notes §8.4): ID 前3后4, mobile 前3后4, names 张* / 张*明, addresses cut at the village.

Every function is total: odd or empty input (even ``None``) gives a masked or empty string and
never an exception, because a display path must not fail on one bad record.
"""

from __future__ import annotations

from station_app.domain.identity import CertType, validate_mobile
from station_app.errors import InvalidInput

_STAR = "*"
_ADDRESS_MARKERS = ("村", "社区", "居委会", "组")
_ADDRESS_KEEP = 6
_ADDRESS_TAIL = "****"
# Certificates whose numbers are (or usually are) 18-character 公民身份号码-style numbers.
_ID_LIKE = frozenset({
    CertType.RESIDENT_ID,
    CertType.TEMP_RESIDENT_ID,
    CertType.HOUSEHOLD_REGISTER,
    CertType.RESIDENCE_PERMIT,
    CertType.FOREIGN_PERMANENT_RESIDENT_ID,
})


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _mask_middle(text: str, head: int, tail: int) -> str:
    """Keep ``head`` and ``tail`` characters, or fewer so that at most half of ``text`` shows.

    Short input falls back to revealing ``len // 2`` characters, the larger share at the end
    (the last digits are what people read out to confirm a number).
    """
    length = len(text)
    if head + tail > length // 2:
        shown = length // 2
        tail = (shown + 1) // 2
        head = shown - tail
    hidden = length - head - tail
    return text[:head] + _STAR * hidden + text[length - tail:]


def mask_id_number(s: str | None) -> str:
    """110***********002X: first 3 and last 4, length kept; short input shows at most half."""
    return _mask_middle(_text(s), 3, 4)


def mask_mobile(s: str | None) -> str:
    """138****1234: first 3 and last 4 of the 11 digits.

    A number typed with +86, spaces or dashes is masked in its normalised 11-digit form;
    anything that is not a mobile number is masked as it stands, showing at most half.
    """
    text = _text(s)
    try:
        text = validate_mobile(text)
    except InvalidInput:
        return _mask_middle(text, 3, 4)
    return text[:3] + _STAR * 4 + text[-4:]


def mask_name(s: str | None) -> str:
    """张* / 张*明 / 欧**锋: keep the first character, and the last one from three characters on."""
    name = _text(s).strip()
    if len(name) <= 1:
        return _STAR * len(name)
    if len(name) == 2:
        return name[0] + _STAR
    return name[0] + _STAR * (len(name) - 2) + name[-1]


def mask_address(s: str | None) -> str:
    """Keep the address down to the village (村/社区/居委会/组), then "****".

    Without such a marker the first 6 characters are kept, but never more than half of a short
    address, so that a bare street and house number is not shown whole.
    """
    address = _text(s).strip()
    if not address:
        return ""
    ends = [address.find(m) + len(m) for m in _ADDRESS_MARKERS if m in address]
    keep = min(ends) if ends else min(_ADDRESS_KEEP, len(address) // 2)
    return address[:keep] + _ADDRESS_TAIL


def mask_certificate(cert_type: CertType | str | None, number: str | None) -> str:
    """Mask a certificate number by type: ID-like numbers as IDs, others first 2 and last 2."""
    try:
        cert = CertType.parse(_text(cert_type))
    except InvalidInput:
        cert = CertType.OTHER
    if cert in _ID_LIKE:
        return mask_id_number(number)
    return _mask_middle(_text(number), 2, 2)


def mask_licence(number: str | None) -> str:
    """A licence or permit number (which may embed an ID number): first 3 and last 4."""
    return _mask_middle(_text(number), 3, 4)
