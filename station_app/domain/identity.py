"""Identity numbers: 公民身份号码, 统一社会信用代码, 手机号码 and 证件类型代码.

Sources (see /work/shared/research/cn_standards.md §8): GB 11643—1999 (S11), the 2023
外国人永久居留身份证 rules (S11), GB 32100—2015 (S12) and GA/T 2000.156—2016 (S13).

Every validator takes what a person typed, returns the normalised value to store, and raises the
typed error from ``station_app.errors`` with a specific Chinese reason otherwise.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum

from station_app.errors import (
    InvalidCertType,
    InvalidCreditCode,
    InvalidIdNumber,
    InvalidInput,
    InvalidMobile,
)

# ---------------------------------------------------------------- 公民身份号码 GB 11643—1999

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2^(17-i) mod 11
_ID_CHECK_CHARS = "10X98765432"
_DIGITS = frozenset("0123456789")
# GB 11643 itself sets no floor; 1850 rather than 1900 so that the standard's own published
# example 440524188001010014 (born 1880) stays valid while typos such as 0949 are still caught.
_EARLIEST_BIRTH = date(1850, 1, 1)


def _clean(text: object) -> str:
    """Fold full-width characters typed with a Chinese IME to ASCII and drop every space."""
    raw = "" if text is None else str(text)
    return "".join(unicodedata.normalize("NFKC", raw).split())


def id_check_digit(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits of an ID number."""
    total = sum(int(ch) * weight for ch, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def validate_id_number(text: str, *, today: date | None = None) -> str:
    """Check an 18-character 公民身份号码 (or a 9-prefixed 永居证号) and return it normalised.

    ``today`` enables the "not born in the future" check; the domain has no clock of its own.
    """
    number = _clean(text).upper()
    _check_id_shape(number)
    born = _id_birth_date(number)
    if born < _EARLIEST_BIRTH:
        raise InvalidIdNumber(field="id_no", reason="出生日期早于1850年，请核对")
    if today is not None and born > today:
        raise InvalidIdNumber(field="id_no", reason="出生日期晚于今天，请核对")
    expected = id_check_digit(number[:17])
    if number[17] != expected:
        raise InvalidIdNumber(field="id_no", reason=f"校验码不符，应为{expected}")
    return number


def _check_id_shape(number: str) -> None:
    if not number:
        raise InvalidIdNumber(field="id_no", reason="不能为空")
    if len(number) != 18:
        hint = "（15位旧号码已停用，请填写18位号码）" if len(number) == 15 else ""
        raise InvalidIdNumber(field="id_no", reason=f"长度应为18位，实为{len(number)}位{hint}")
    for ch in number[:17]:
        if ch not in _DIGITS:
            raise InvalidIdNumber(field="id_no", reason=f"含有非法字符“{ch}”，前17位应为数字")
    if number[17] not in _ID_CHECK_CHARS:
        raise InvalidIdNumber(field="id_no", reason=f"含有非法字符“{number[17]}”，末位应为数字或X")
    # 1–8 are the province groups of GB/T 2260; 9 marks the 2023 外国人永久居留身份证.
    if number[0] == "0":
        raise InvalidIdNumber(field="id_no", reason="地址码首位无效，应为1–9")


def _id_birth_date(number: str) -> date:
    digits = number[6:14]
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise InvalidIdNumber(field="id_no", reason="出生日期无效") from None


def is_valid_id_number(text: str, *, today: date | None = None) -> bool:
    """True when ``validate_id_number`` would accept ``text``; never raises."""
    try:
        validate_id_number(text, today=today)
    except InvalidIdNumber:
        return False
    return True


def birth_date_of(id_no: str) -> date:
    """The birth date encoded in a valid ID number (raises InvalidIdNumber otherwise)."""
    return _id_birth_date(validate_id_number(id_no))


def gender_of(id_no: str) -> str:
    """"男" or "女" from the parity of the 17th digit (顺序码: odd for men, even for women)."""
    number = validate_id_number(id_no)
    return "男" if int(number[16]) % 2 == 1 else "女"


# ---------------------------------------------------------------- 统一社会信用代码 GB 32100—2015

_USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_USCC_INDEX = {ch: i for i, ch in enumerate(_USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^i mod 31
_USCC_FORBIDDEN = "IOSVZ"


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a credit code."""
    total = sum(
        _USCC_INDEX[ch] * weight for ch, weight in zip(first17, _USCC_WEIGHTS, strict=True)
    )
    return _USCC_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(text: str) -> str:
    """Check an 18-character 统一社会信用代码 and return it in upper case."""
    code = _clean(text).upper()
    if not code:
        raise InvalidCreditCode(field="credit_code", reason="不能为空")
    if len(code) != 18:
        raise InvalidCreditCode(field="credit_code", reason=f"长度应为18位，实为{len(code)}位")
    for ch in code:
        if ch in _USCC_FORBIDDEN:
            reason = f"含有非法字符“{ch}”，代码中不使用字母I、O、S、V、Z"
            raise InvalidCreditCode(field="credit_code", reason=reason)
        if ch not in _USCC_INDEX:
            reason = f"含有非法字符“{ch}”，只能是数字和大写字母"
            raise InvalidCreditCode(field="credit_code", reason=reason)
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise InvalidCreditCode(field="credit_code", reason=f"校验码不符，应为{expected}")
    return code


# ---------------------------------------------------------------- 手机号码

_MOBILE = re.compile(r"1[3-9]\d{9}", re.ASCII)


def validate_mobile(text: str) -> str:
    """Check a mainland mobile number and return its 11 digits.

    Spaces, dashes and a +86 / 0086 / 86 country prefix are accepted because that is how
    numbers get copied from phones and business cards.
    """
    number = _strip_country_code(_clean(text).replace("-", ""))
    if not number:
        raise InvalidMobile(field="mobile", reason="不能为空")
    for ch in number:
        if ch not in _DIGITS:
            raise InvalidMobile(field="mobile", reason=f"含有非法字符“{ch}”")
    if len(number) != 11:
        raise InvalidMobile(field="mobile", reason=f"长度应为11位，实为{len(number)}位")
    if not _MOBILE.fullmatch(number):
        raise InvalidMobile(field="mobile", reason="号段无效，应以13–19开头")
    return number


def _strip_country_code(number: str) -> str:
    if number.startswith("+86"):
        return number[3:]
    if number.startswith("0086"):
        return number[4:]
    # A bare 86 is only a prefix when 11 digits follow; mobile numbers themselves start with 1.
    if number.startswith("86") and len(number) == 13:
        return number[2:]
    return number


# ---------------------------------------------------------------- 证件类型 GA/T 2000.156


class CertType(StrEnum):
    """常用证件代码 (GA/T 2000.156—2016), the n3 code GB/T 39046 §6.2 asks for."""

    RESIDENT_ID = "111"
    TEMP_RESIDENT_ID = "112"
    HOUSEHOLD_REGISTER = "113"
    MILITARY_OFFICER_ID = "114"
    ARMED_POLICE_OFFICER_ID = "115"
    BIRTH_CERTIFICATE = "117"
    RESIDENCE_PERMIT = "154"
    PASSPORT = "414"
    TAIWAN_TRAVEL_PERMIT = "511"
    HK_MACAO_TRAVEL_PERMIT = "516"
    FOREIGN_PERMANENT_RESIDENT_ID = "553"
    OTHER = "990"

    @property
    def label(self) -> str:
        return _CERT_LABELS[self]

    @classmethod
    def parse(cls, text: str) -> CertType:
        """Accept the GA/T code ("111"), the member name ("RESIDENT_ID") or the label."""
        value = _clean(text)
        for cert in cls:
            if value in (cert.value, cert.label) or value.upper() == cert.name:
                return cert
        raise InvalidCertType(field="cert_type", value=value)


_CERT_LABELS = {
    CertType.RESIDENT_ID: "居民身份证",
    CertType.TEMP_RESIDENT_ID: "临时居民身份证",
    CertType.HOUSEHOLD_REGISTER: "户口簿",
    CertType.MILITARY_OFFICER_ID: "军官证",
    CertType.ARMED_POLICE_OFFICER_ID: "武警警官证",
    CertType.BIRTH_CERTIFICATE: "出生医学证明",
    CertType.RESIDENCE_PERMIT: "居住证",
    CertType.PASSPORT: "普通护照",
    CertType.TAIWAN_TRAVEL_PERMIT: "台湾居民来往大陆通行证",
    CertType.HK_MACAO_TRAVEL_PERMIT: "港澳居民来往内地通行证",
    CertType.FOREIGN_PERMANENT_RESIDENT_ID: "外国人永久居留身份证",
    CertType.OTHER: "其他",
}

_OTHER_CERT_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz()-")
_OTHER_CERT_MAX_LEN = 30


def validate_certificate(cert_type: CertType, number: str) -> str:
    """Check a certificate number against the rules of its type and return it normalised."""
    cert = cert_type if isinstance(cert_type, CertType) else CertType.parse(cert_type)
    if cert in (CertType.RESIDENT_ID, CertType.TEMP_RESIDENT_ID):
        return validate_id_number(number)
    if cert is CertType.FOREIGN_PERMANENT_RESIDENT_ID:
        return _validate_permanent_resident_id(number)
    return _validate_other_certificate(number)


def _validate_permanent_resident_id(number: str) -> str:
    # The 2023 card reuses the citizen layout and MOD 11-2; only the leading 9 sets it apart.
    value = validate_id_number(number)
    if value[0] != "9":
        raise InvalidIdNumber(field="id_no", reason="外国人永久居留身份证号码应以9开头")
    return value


def _validate_other_certificate(number: str) -> str:
    value = _clean(number)
    if not value:
        raise InvalidInput(field="cert_no", label="证件号码", reason="不能为空")
    if len(value) > _OTHER_CERT_MAX_LEN:
        reason = f"长度不能超过{_OTHER_CERT_MAX_LEN}位，实为{len(value)}位"
        raise InvalidInput(field="cert_no", label="证件号码", reason=reason)
    for ch in value:
        if ch not in _OTHER_CERT_CHARS:
            reason = f"含有非法字符“{ch}”，只能是数字、字母、括号和“-”"
            raise InvalidInput(field="cert_no", label="证件号码", reason=reason)
    return value
