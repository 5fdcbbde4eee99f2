"""ID numbers, credit codes, mobiles and certificate types, checked against published examples."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station_app.domain.identity import (
    CertType,
    birth_date_of,
    credit_code_check_char,
    gender_of,
    id_check_digit,
    is_valid_id_number,
    validate_certificate,
    validate_credit_code,
    validate_id_number,
    validate_mobile,
)
from station_app.errors import (
    InvalidCertType,
    InvalidCreditCode,
    InvalidIdNumber,
    InvalidInput,
    InvalidMobile,
)

# Published examples: GB 11643—1999 and GB 32100—2015 (research notes §8.1, §8.2).
ID_WOMAN_1949 = "11010519491231002X"
ID_MAN_1880 = "440524188001010014"
USCC_EXAMPLES = ("9144030071526726XG", "91350100M000100Y43")
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def reference_id_check(first17: str) -> str:
    """The check digit straight from the standard's definition, independent of the module:
    weights 2^(17-i) mod 11, and the check digit a_1 solves (S + a_1) ≡ 1 (mod 11)."""
    total = sum(int(ch) * pow(2, 17 - i, 11) for i, ch in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def reference_uscc_check(first17: str) -> str:
    total = sum(USCC_CHARSET.index(ch) * pow(3, i, 31) for i, ch in enumerate(first17))
    return USCC_CHARSET[(31 - total % 31) % 31]


def reason_of(excinfo: pytest.ExceptionInfo[InvalidInput]) -> str:
    return excinfo.value.params["reason"]


# ---------------------------------------------------------------- 公民身份号码


@pytest.mark.parametrize("number", [ID_WOMAN_1949, ID_MAN_1880])
def test_published_examples_are_valid(number: str) -> None:
    assert validate_id_number(number) == number
    assert is_valid_id_number(number)


def test_lowercase_x_spaces_and_fullwidth_digits_are_normalised() -> None:
    assert validate_id_number("11010519491231002x") == ID_WOMAN_1949
    assert validate_id_number(" 110105 19491231 002X ") == ID_WOMAN_1949
    assert validate_id_number("１１０１０５１９４９１２３１００２Ｘ") == ID_WOMAN_1949


def test_wrong_check_digit_names_the_right_one() -> None:
    with pytest.raises(InvalidIdNumber) as excinfo:
        validate_id_number("110105194912310021")
    assert reason_of(excinfo) == "校验码不符，应为X"
    assert excinfo.value.field == "id_no"
    assert excinfo.value.text == "身份证号码有误：校验码不符，应为X"


@pytest.mark.parametrize("birth", ["19490230", "19491301", "19490000", "20230229"])
def test_impossible_birth_dates_are_rejected(birth: str) -> None:
    first17 = "110105" + birth + "002"
    with pytest.raises(InvalidIdNumber) as excinfo:
        validate_id_number(first17 + id_check_digit(first17))
    assert reason_of(excinfo) == "出生日期无效"


def test_leap_day_birth_is_valid() -> None:
    first17 = "110105" + "20000229" + "003"
    assert birth_date_of(first17 + id_check_digit(first17)) == date(2000, 2, 29)


def test_birth_before_1850_is_rejected() -> None:
    first17 = "110105" + "18491231" + "002"
    with pytest.raises(InvalidIdNumber) as excinfo:
        validate_id_number(first17 + id_check_digit(first17))
    assert "1850" in reason_of(excinfo)


def test_future_birth_is_only_checked_when_today_is_given() -> None:
    first17 = "110105" + "20300101" + "002"
    number = first17 + id_check_digit(first17)
    assert validate_id_number(number) == number
    assert validate_id_number(number, today=date(2030, 1, 1)) == number
    with pytest.raises(InvalidIdNumber) as excinfo:
        validate_id_number(number, today=date(2029, 12, 31))
    assert reason_of(excinfo) == "出生日期晚于今天，请核对"
    assert not is_valid_id_number(number, today=date(2029, 12, 31))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "不能为空"),
        ("11010519491231002", "长度应为18位，实为17位"),
        ("11010519491231002X1", "长度应为18位，实为19位"),
        ("110105491231002", "长度应为18位，实为15位（15位旧号码已停用，请填写18位号码）"),
        ("1101051949123100AX", "含有非法字符“A”，前17位应为数字"),
        ("11010519491231002Y", "含有非法字符“Y”，末位应为数字或X"),
        ("010105194912310028", "地址码首位无效，应为1–9"),
    ],
)
def test_malformed_numbers_get_a_specific_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber) as excinfo:
        validate_id_number(text)
    assert reason_of(excinfo) == reason
    assert not is_valid_id_number(text)


def test_birth_date_and_gender_are_read_from_the_number() -> None:
    assert birth_date_of(ID_WOMAN_1949) == date(1949, 12, 31)
    assert gender_of(ID_WOMAN_1949) == "女"  # 顺序码 002: even
    assert birth_date_of(ID_MAN_1880) == date(1880, 1, 1)
    assert gender_of(ID_MAN_1880) == "男"  # 顺序码 001: odd


def test_birth_date_of_an_invalid_number_raises() -> None:
    with pytest.raises(InvalidIdNumber):
        birth_date_of("110105194912310021")


def test_check_digit_helper_matches_the_published_examples() -> None:
    assert id_check_digit(ID_WOMAN_1949[:17]) == "X"
    assert id_check_digit(ID_MAN_1880[:17]) == "4"


birth_dates = st.dates(min_value=date(1850, 1, 1), max_value=date(2099, 12, 31))


@st.composite
def id_first17(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from("123456789"))
    region = draw(st.text(alphabet="0123456789", min_size=5, max_size=5))
    birth = draw(birth_dates).strftime("%Y%m%d")
    sequence = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    return province + region + birth + sequence


@given(id_first17())
def test_exactly_one_final_character_completes_a_valid_number(first17: str) -> None:
    right = reference_id_check(first17)
    assert validate_id_number(first17 + right) == first17 + right
    for wrong in "0123456789X".replace(right, ""):
        assert not is_valid_id_number(first17 + wrong)


@given(id_first17(), st.integers(min_value=0, max_value=16), st.integers(1, 9))
def test_any_single_digit_typo_is_caught(first17: str, position: int, shift: int) -> None:
    number = first17 + reference_id_check(first17)
    typo = str((int(number[position]) + shift) % 10)
    assert not is_valid_id_number(number[:position] + typo + number[position + 1:])


# ---------------------------------------------------------------- 统一社会信用代码


@pytest.mark.parametrize("code", USCC_EXAMPLES)
def test_published_credit_codes_are_valid(code: str) -> None:
    assert validate_credit_code(code) == code
    assert validate_credit_code(code.lower()) == code
    assert credit_code_check_char(code[:17]) == code[17]


def test_a_flipped_character_fails_the_check() -> None:
    with pytest.raises(InvalidCreditCode) as excinfo:
        validate_credit_code("9144030071526727XG")
    assert reason_of(excinfo).startswith("校验码不符，应为")


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_letters_the_standard_leaves_out_are_rejected(letter: str) -> None:
    with pytest.raises(InvalidCreditCode) as excinfo:
        validate_credit_code("91350100" + letter + "000100Y43")
    assert reason_of(excinfo) == f"含有非法字符“{letter}”，代码中不使用字母I、O、S、V、Z"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "不能为空"),
        ("9144030071526726X", "长度应为18位，实为17位"),
        ("9144030071526726X#", "含有非法字符“#”，只能是数字和大写字母"),
    ],
)
def test_malformed_credit_codes_get_a_specific_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidCreditCode) as excinfo:
        validate_credit_code(text)
    assert reason_of(excinfo) == reason


uscc_first17 = st.text(alphabet=USCC_CHARSET, min_size=17, max_size=17)


@given(uscc_first17)
def test_generated_credit_codes_round_trip(first17: str) -> None:
    code = first17 + reference_uscc_check(first17)
    assert validate_credit_code(code) == code


@given(uscc_first17, st.integers(0, 17), st.integers(1, 30))
def test_any_single_character_substitution_is_caught(first17: str, pos: int, shift: int) -> None:
    code = first17 + reference_uscc_check(first17)
    swapped = USCC_CHARSET[(USCC_CHARSET.index(code[pos]) + shift) % 31]
    with pytest.raises(InvalidCreditCode):
        validate_credit_code(code[:pos] + swapped + code[pos + 1:])


# ---------------------------------------------------------------- 手机号码


@pytest.mark.parametrize(
    "text",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+8613800138000",
        "0086-138-0013-8000",
        "8613800138000",
        "１３８００１３８０００",
    ],
)
def test_mobile_formats_normalise_to_eleven_digits(text: str) -> None:
    assert validate_mobile(text) == "13800138000"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "不能为空"),
        ("1380013800", "长度应为11位，实为10位"),
        ("138001380001", "长度应为11位，实为12位"),
        ("12800138000", "号段无效，应以13–19开头"),
        ("010-8888-8888", "号段无效，应以13–19开头"),  # a Beijing landline
        ("138OO138000", "含有非法字符“O”"),
        ("+1 415 555 0100", "含有非法字符“+”"),
    ],
)
def test_bad_mobiles_get_a_specific_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidMobile) as excinfo:
        validate_mobile(text)
    assert reason_of(excinfo) == reason


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_every_valid_mobile_survives_a_country_prefix(number: str) -> None:
    assert validate_mobile(number) == number
    assert validate_mobile("+86 " + number) == number
    assert validate_mobile("86" + number) == number


# ---------------------------------------------------------------- 证件类型


@pytest.mark.parametrize("text", ["111", "RESIDENT_ID", "resident_id", "居民身份证", " 111 "])
def test_cert_type_parses_code_name_or_label(text: str) -> None:
    assert CertType.parse(text) is CertType.RESIDENT_ID


def test_every_cert_type_parses_from_its_own_code_name_and_label() -> None:
    for cert in CertType:
        assert CertType.parse(cert.value) is cert
        assert CertType.parse(cert.name) is cert
        assert CertType.parse(cert.label) is cert


def test_cert_type_labels_and_codes() -> None:
    assert CertType.FOREIGN_PERMANENT_RESIDENT_ID == "553"
    assert CertType.FOREIGN_PERMANENT_RESIDENT_ID.label == "外国人永久居留身份证"
    assert CertType.HK_MACAO_TRAVEL_PERMIT.label == "港澳居民来往内地通行证"
    assert CertType.OTHER.label == "其他"


def test_unknown_cert_type_is_rejected_with_the_value() -> None:
    with pytest.raises(InvalidCertType) as excinfo:
        CertType.parse("10")
    assert excinfo.value.params["value"] == "10"
    assert "GA/T 2000.156" in excinfo.value.text


# ---------------------------------------------------------------- 证件号码


def test_resident_id_certificates_use_the_id_number_rules() -> None:
    assert validate_certificate(CertType.RESIDENT_ID, "11010519491231002x") == ID_WOMAN_1949
    assert validate_certificate(CertType.TEMP_RESIDENT_ID, ID_MAN_1880) == ID_MAN_1880
    with pytest.raises(InvalidIdNumber):
        validate_certificate(CertType.RESIDENT_ID, "110105194912310021")


def test_permanent_residence_card_needs_a_leading_nine_and_a_valid_check() -> None:
    first17 = "9" + "11560" + "19850615" + "001"
    number = first17 + id_check_digit(first17)
    assert validate_certificate(CertType.FOREIGN_PERMANENT_RESIDENT_ID, number) == number
    assert is_valid_id_number(number)  # the 2023 card also passes the citizen rules
    with pytest.raises(InvalidIdNumber) as excinfo:
        validate_certificate(CertType.FOREIGN_PERMANENT_RESIDENT_ID, ID_WOMAN_1949)
    assert reason_of(excinfo) == "外国人永久居留身份证号码应以9开头"
    wrong = "1" if number[17] == "0" else "0"
    with pytest.raises(InvalidIdNumber) as excinfo:
        validate_certificate(CertType.FOREIGN_PERMANENT_RESIDENT_ID, first17 + wrong)
    assert reason_of(excinfo).startswith("校验码不符")


@pytest.mark.parametrize(
    ("cert", "text", "stored"),
    [
        (CertType.PASSPORT, "E12345678", "E12345678"),
        (CertType.HK_MACAO_TRAVEL_PERMIT, "H 1234 5678", "H12345678"),
        (CertType.BIRTH_CERTIFICATE, "Q440012345", "Q440012345"),
        (CertType.OTHER, "（2024）-A1", "(2024)-A1"),
    ],
)
def test_other_certificates_are_kept_as_typed_without_spaces(
    cert: CertType, text: str, stored: str
) -> None:
    assert validate_certificate(cert, text) == stored


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "不能为空"),
        ("A" * 31, "长度不能超过30位，实为31位"),
        ("军字第123456号", "含有非法字符“军”，只能是数字、字母、括号和“-”"),
        ("E1234/5678", "含有非法字符“/”，只能是数字、字母、括号和“-”"),
    ],
)
def test_bad_other_certificates_get_a_specific_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        validate_certificate(CertType.PASSPORT, text)
    assert excinfo.value.params == {"label": "证件号码", "reason": reason}
    assert excinfo.value.text == f"证件号码填写有误：{reason}"


def test_thirty_characters_is_still_accepted() -> None:
    assert validate_certificate(CertType.OTHER, "A" * 30) == "A" * 30


def test_certificate_type_may_be_given_as_its_code() -> None:
    assert validate_certificate("111", ID_MAN_1880) == ID_MAN_1880  # type: ignore[arg-type]
