"""The service-item catalog (政务服务事项目录 / 实施清单) a station works from.

Fields follow GB/T 39046—2020 表4 and its code lists A.1, A.2 and A.6 (S1); 到办事现场次数 and
业务办理项编码 come from implementation-list practice. See /work/shared/research/cn_standards.md
§2 and §10.1.

Platform codes (基本编码, 实施编码, 业务办理项编码) are kept as opaque strings: the standard that
defines their inner structure (GB/T 39554.1—2020) was not obtainable and real codes differ by
province (§2.3), so only their alphabet and length are checked. Every item also carries a local
code of our own, because most village-level items have no platform code at all.

A catalog arrives as a JSON file issued by the county (format ``vss-catalog/1``). The reader is
strict on purpose: an unknown key is almost always a typo that would otherwise silently drop a
value, so it is rejected with the exact place (``items[3].materials[1].copies``) and a Chinese
reason naming what was expected.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, TypeVar

from station_app.domain.timelimits import TimeLimit, TimeUnit
from station_app.errors import CatalogFileInvalid, InvalidInput, UnknownItem

FORMAT = "vss-catalog/1"

# GB/T 39046 附录A.1 事项类型. The code list is open ("11… 可扩展", "21… 可扩展"), so any two-digit
# code is accepted and the ones below merely get a name.
ITEM_TYPE_LABELS: dict[str, str] = {
    "00": "行政权力事项",
    "01": "行政许可",
    "02": "行政处罚",
    "03": "行政强制",
    "04": "行政征收",
    "05": "行政给付",
    "06": "行政检查",
    "07": "行政确认",
    "08": "行政奖励",
    "09": "行政裁决",
    "10": "其他类别事项",
    "20": "公共服务事项",
}

# GB/T 39046 附录A.2 行使层级 (closed list).
LEVEL_LABELS: dict[str, str] = {
    "1": "国家级",
    "2": "省级",
    "3": "市级",
    "4": "县级",
    "5": "镇（乡、街道）级",
    "6": "村（社区）级",
    "7": "分级管理",
}

_LOCAL_CODE = re.compile(r"[0-9A-Z-]{1,32}")
_PLATFORM_CODE = re.compile(r"[0-9A-Za-z-]{1,64}")
_ITEM_TYPE = re.compile(r"[0-9]{2}")
_NAME_MAX = 200
_VERSION_MAX = 64


class CaseType(StrEnum):
    """办件类型, GB/T 39046 附录A.6 (platform codes 1 即办件, 2 承诺件, 9 其他)."""

    IMMEDIATE = "IMMEDIATE"
    PROMISED = "PROMISED"
    OTHER = "OTHER"

    @property
    def label(self) -> str:
        return _CASE_TYPE_LABELS[self]

    @property
    def platform_code(self) -> str:
        return _CASE_TYPE_CODES[self]

    @classmethod
    def parse(cls, text: str) -> CaseType:
        """Accept the enum name, the Chinese label or the platform code."""
        value = str(text).strip()
        for case_type in cls:
            if value in (case_type.value, case_type.label, case_type.platform_code):
                return case_type
        raise InvalidInput(
            field="case_type",
            label="办件类型",
            reason=f"“{value}”应为 即办件、承诺件 或 其他（也可写 PROMISED 等名称或 1/2/9）",
        )


_CASE_TYPE_LABELS = {
    CaseType.IMMEDIATE: "即办件",
    CaseType.PROMISED: "承诺件",
    CaseType.OTHER: "其他",
}
_CASE_TYPE_CODES = {CaseType.IMMEDIATE: "1", CaseType.PROMISED: "2", CaseType.OTHER: "9"}


def _invalid(field: str, label: str, reason: str) -> InvalidInput:
    return InvalidInput(field=field, label=label, reason=reason)


def _is_count(value: object) -> bool:
    # bool is a subclass of int; True copies is a typo, not a count.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_line(value: str, field: str, label: str, limit: int) -> None:
    """A name printed on receipts and used as a lookup key: one line, no stray spaces."""
    if not value.strip():
        raise _invalid(field, label, "不能为空")
    if value != value.strip():
        raise _invalid(field, label, "首尾不能有空格")
    if len(value.splitlines()) > 1:
        raise _invalid(field, label, "不能换行")
    if len(value) > limit:
        raise _invalid(field, label, f"不能超过{limit}个字，实为{len(value)}个字")


@dataclass(frozen=True, slots=True, kw_only=True)
class Material:
    """申请材料: one line of the material list, as printed on receipts and 一次性告知书."""

    name: str
    originals: int = 0
    copies: int = 0
    required: bool = True
    issuer: str = ""  # 出具机构
    note: str = ""  # 材料办理说明, e.g. "首页及本人页"

    def __post_init__(self) -> None:
        _check_line(self.name, "name", "材料名称", _NAME_MAX)
        for field, label in (("originals", "原件份数"), ("copies", "复印件份数")):
            if not _is_count(getattr(self, field)):
                raise _invalid(field, label, "应为不小于0的整数")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceItem:
    """One 政务服务事项 as the station implements it (实施清单 row)."""

    code: str  # 本地编码, our unique key
    name: str
    department: str  # 实施主体 / 承办机构
    case_type: CaseType
    legal_limit: TimeLimit
    promised_limit: TimeLimit
    catalog_code: str = ""  # 基本编码
    task_code: str = ""  # 实施编码
    handle_item_code: str = ""  # 业务办理项编码
    item_type: str = "20"  # A.1, 公共服务事项
    level: str = "5"  # A.2, 镇（乡、街道）级
    materials: tuple[Material, ...] = ()
    max_visits: int = 1  # 到办事现场次数; "最多跑一次" means ≤ 1
    proxy_allowed: bool = True
    # A statutory fee the applicant pays to the authority. The proxy service itself is always
    # free of charge (FeeNotAllowed), whatever this says.
    charges_fee: bool = False
    result_name: str = ""  # 结果名称, e.g. 残疾人证
    place: str = ""
    hours: str = ""
    consult_tel: str = ""
    complaint_tel: str = ""
    legal_basis: str = ""  # 设定依据

    def __post_init__(self) -> None:
        self._check_codes()
        _check_line(self.name, "name", "事项名称", _NAME_MAX)
        if not self.department.strip():
            raise _invalid("department", "实施主体", "不能为空")
        self._check_classification()
        self._check_limits()
        self._check_materials()
        if not _is_count(self.max_visits):
            raise _invalid("max_visits", "到办事现场次数", "应为不小于0的整数")

    def _check_codes(self) -> None:
        if not _LOCAL_CODE.fullmatch(self.code):
            raise _invalid("code", "本地编码", "应为1–32位数字、大写字母或“-”")
        for field, label in _PLATFORM_CODE_FIELDS:
            value = getattr(self, field)
            if value and not _PLATFORM_CODE.fullmatch(value):
                raise _invalid(field, label, "应为空，或1–64位数字、字母或“-”")

    def _check_classification(self) -> None:
        if not _ITEM_TYPE.fullmatch(self.item_type):
            raise _invalid("item_type", "事项类型", "应为两位数字代码（GB/T 39046 附录A.1，如 20）")
        if self.level not in LEVEL_LABELS:
            raise _invalid("level", "行使层级", "应为1–7（GB/T 39046 附录A.2，如 5 镇级）")
        if not isinstance(self.case_type, CaseType):
            raise _invalid("case_type", "办件类型", "应为 即办件、承诺件 或 其他")

    def _check_limits(self) -> None:
        legal, promised = self.legal_limit, self.promised_limit
        if self.case_type is CaseType.IMMEDIATE and promised.amount != 0:
            raise _invalid("promised_limit", "承诺办结时限", "即办件应当场办结，承诺办结时限应为0")
        if self.case_type is CaseType.PROMISED and promised.amount == 0:
            # A 承诺件 due "today" would be overdue the moment it is accepted.
            raise _invalid(
                "promised_limit",
                "承诺办结时限",
                "承诺件的承诺办结时限应大于0（当场办结的请标为即办件）",
            )
        # Working days, calendar days and hours cannot be compared without a holiday calendar
        # and a start date, so only limits in the same unit are checked against each other.
        if legal.unit is promised.unit and promised.amount > legal.amount:
            raise _invalid(
                "promised_limit",
                "承诺办结时限",
                f"承诺办结时限（{promised.label}）不得超过法定办结时限（{legal.label}）",
            )

    def _check_materials(self) -> None:
        if not isinstance(self.materials, tuple):
            raise TypeError("ServiceItem.materials must be a tuple of Material")
        seen: set[str] = set()
        for index, material in enumerate(self.materials):
            # Receipts tick materials off by name, so two lines with one name are ambiguous.
            if material.name in seen:
                raise _invalid(f"materials[{index}].name", "材料名称", f"“{material.name}”重复出现")
            seen.add(material.name)

    @property
    def item_type_label(self) -> str:
        return ITEM_TYPE_LABELS.get(self.item_type, f"扩展事项类型{self.item_type}")

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[self.level]

    @property
    def platform_codes(self) -> tuple[str, ...]:
        """The non-empty platform codes, most specific first."""
        return tuple(
            code for code in (self.handle_item_code, self.task_code, self.catalog_code) if code
        )


_PLATFORM_CODE_FIELDS = (
    ("catalog_code", "基本编码"),
    ("task_code", "实施编码"),
    ("handle_item_code", "业务办理项编码"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    """One issued version of the catalog. Catalogs hold tens to a few hundred items, so lookups
    scan the tuple rather than keep an index that would have to live outside the frozen value."""

    version: str
    issued_by: str = ""
    items: tuple[ServiceItem, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.version, "version", "目录版本", _VERSION_MAX)
        if not isinstance(self.items, tuple):
            raise TypeError("Catalog.items must be a tuple of ServiceItem")
        seen: set[str] = set()
        for index, item in enumerate(self.items):
            if item.code in seen:
                raise _invalid(f"items[{index}].code", "本地编码", f"“{item.code}”重复出现")
            seen.add(item.code)

    def item(self, code: str) -> ServiceItem:
        """The item with exactly this local code."""
        for item in self.items:
            if item.code == code:
                return item
        raise UnknownItem(value=code)

    def resolve(self, text: str) -> ServiceItem:
        """Find the item a person meant: local code, then platform code, then exact name.

        Platform codes are tried most specific first (业务办理项编码, 实施编码, 基本编码): one
        实施编码 may cover several 业务办理项, so a less specific code can match several items.
        A match that is not unique is refused rather than guessed.
        """
        value = str(text).strip()
        if not value:
            raise UnknownItem(value=value)
        # Local codes are upper-case by construction, so folding the query cannot mis-match.
        tiers: tuple[Callable[[ServiceItem], bool], ...] = (
            lambda item: item.code == value.upper(),
            lambda item: item.handle_item_code == value,
            lambda item: item.task_code == value,
            lambda item: item.catalog_code == value,
            lambda item: item.name == value,
        )
        for matches in tiers:
            found = tuple(item for item in self.items if matches(item))
            if len(found) == 1:
                return found[0]
            if found:
                codes = "、".join(item.code for item in found)
                raise _invalid("item", "事项", f"“{value}”对应多个事项（{codes}），请填写本地编码")
        raise UnknownItem(value=value)

    def search(self, text: str) -> tuple[ServiceItem, ...]:
        """Items whose name or any code contains ``text``; codes ignore case. Blank → all."""
        needle = str(text).strip().casefold()
        if not needle:
            return self.items
        return tuple(item for item in self.items if needle in _haystack(item))

    def proxy_items(self) -> tuple[ServiceItem, ...]:
        """Items a village agent may carry (可代办事项), in catalog order."""
        return tuple(item for item in self.items if item.proxy_allowed)


def _haystack(item: ServiceItem) -> str:
    return "\n".join((item.name, item.code, *item.platform_codes)).casefold()


# ---------------------------------------------------------------- to JSON


def catalog_to_dict(catalog: Catalog) -> dict[str, Any]:
    """The ``vss-catalog/1`` document for ``catalog``; every field is written out."""
    return {
        "format": FORMAT,
        "version": catalog.version,
        "issued_by": catalog.issued_by,
        "items": [item_to_dict(item) for item in catalog.items],
    }


def item_to_dict(item: ServiceItem) -> dict[str, Any]:
    """Every field, defaults included: a snapshot must not change meaning if a default does."""
    return {
        "code": item.code,
        "name": item.name,
        "catalog_code": item.catalog_code,
        "task_code": item.task_code,
        "handle_item_code": item.handle_item_code,
        "item_type": item.item_type,
        "level": item.level,
        "department": item.department,
        "case_type": item.case_type.value,
        "legal_limit": _limit_to_dict(item.legal_limit),
        "promised_limit": _limit_to_dict(item.promised_limit),
        "materials": [_material_to_dict(material) for material in item.materials],
        "max_visits": item.max_visits,
        "proxy_allowed": item.proxy_allowed,
        "charges_fee": item.charges_fee,
        "result_name": item.result_name,
        "place": item.place,
        "hours": item.hours,
        "consult_tel": item.consult_tel,
        "complaint_tel": item.complaint_tel,
        "legal_basis": item.legal_basis,
    }


def _limit_to_dict(limit: TimeLimit) -> dict[str, Any]:
    return {"amount": limit.amount, "unit": limit.unit.value, "note": limit.note}


def _material_to_dict(material: Material) -> dict[str, Any]:
    return {
        "name": material.name,
        "originals": material.originals,
        "copies": material.copies,
        "required": material.required,
        "issuer": material.issuer,
        "note": material.note,
    }


# ---------------------------------------------------------------- from JSON

_CATALOG_KEYS = ("format", "version", "issued_by", "items")
_CATALOG_REQUIRED = ("format", "version", "items")
# The file keys are the dataclass field names, so a new field cannot be forgotten here.
_ITEM_KEYS = tuple(field.name for field in fields(ServiceItem))
_ITEM_DEFAULTS: dict[str, Any] = {field.name: field.default for field in fields(ServiceItem)}
_ITEM_REQUIRED = ("code", "name", "department", "case_type", "legal_limit", "promised_limit")
_ITEM_TEXT = (
    "catalog_code",
    "task_code",
    "handle_item_code",
    "result_name",
    "place",
    "hours",
    "consult_tel",
    "complaint_tel",
    "legal_basis",
)
_LIMIT_KEYS = tuple(field.name for field in fields(TimeLimit))
_MATERIAL_KEYS = tuple(field.name for field in fields(Material))

_T = TypeVar("_T")


def parse_catalog(data: object) -> Catalog:
    """Read a decoded ``vss-catalog/1`` document; raise CatalogFileInvalid naming the place."""
    root = _object(data, "文件")
    _check_keys(root, "", _CATALOG_KEYS, _CATALOG_REQUIRED)
    if root["format"] != FORMAT:
        raise _bad("format", f"应为“{FORMAT}”，实为“{root['format']}”（不是本程序的事项目录文件）")
    version = _text(root, "version", "")
    issued_by = _text(root, "issued_by", "", default="")
    items = tuple(
        item_from_dict(entry, where=f"items[{index}]")
        for index, entry in enumerate(_array(root["items"], "items"))
    )
    _check_unique_codes(items)
    return _build("", Catalog, version=version, issued_by=issued_by, items=items)


def item_from_dict(data: object, *, where: str = "") -> ServiceItem:
    """Read one item as written by ``item_to_dict`` (or found in a catalog file).

    ``where`` prefixes the place named in errors, e.g. ``items[3]``.
    """
    obj = _object(data, where or "事项")
    _check_keys(obj, where, _ITEM_KEYS, _ITEM_REQUIRED)
    defaults = _ITEM_DEFAULTS
    values: dict[str, Any] = {k: _text(obj, k, where, default=defaults[k]) for k in _ITEM_TEXT}
    values.update(
        code=_text(obj, "code", where),
        name=_text(obj, "name", where),
        department=_text(obj, "department", where),
        item_type=_text(obj, "item_type", where, default=defaults["item_type"]),
        level=_text(obj, "level", where, default=defaults["level"]),
        case_type=_enum(obj, "case_type", where, CaseType.parse),
        legal_limit=_limit(obj["legal_limit"], _join(where, "legal_limit")),
        promised_limit=_limit(obj["promised_limit"], _join(where, "promised_limit")),
        materials=_materials(obj.get("materials", []), _join(where, "materials")),
        max_visits=_count(obj, "max_visits", where, default=defaults["max_visits"]),
        proxy_allowed=_flag(obj, "proxy_allowed", where, default=defaults["proxy_allowed"]),
        charges_fee=_flag(obj, "charges_fee", where, default=defaults["charges_fee"]),
    )
    return _build(where, ServiceItem, **values)


def _limit(data: object, where: str) -> TimeLimit:
    obj = _object(data, where)
    _check_keys(obj, where, _LIMIT_KEYS, ("amount",))
    return TimeLimit(
        amount=_count(obj, "amount", where),
        unit=_enum(obj, "unit", where, TimeUnit.parse, default=TimeUnit.WORKING_DAYS),
        note=_text(obj, "note", where, default=""),
    )


def _materials(data: object, where: str) -> tuple[Material, ...]:
    entries = _array(data, where)
    return tuple(_material(entry, f"{where}[{index}]") for index, entry in enumerate(entries))


def _material(data: object, where: str) -> Material:
    obj = _object(data, where)
    _check_keys(obj, where, _MATERIAL_KEYS, ("name",))
    return _build(
        where,
        Material,
        name=_text(obj, "name", where),
        originals=_count(obj, "originals", where, default=0),
        copies=_count(obj, "copies", where, default=0),
        required=_flag(obj, "required", where, default=True),
        issuer=_text(obj, "issuer", where, default=""),
        note=_text(obj, "note", where, default=""),
    )


def _check_unique_codes(items: Iterable[ServiceItem]) -> None:
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.code in first:
            raise _bad(
                f"items[{index}].code",
                f"本地编码“{item.code}”与 items[{first[item.code]}] 重复，本地编码应唯一",
            )
        first[item.code] = index


# ---------------------------------------------------------------- reading helpers

_MISSING: Any = object()


def _bad(where: str, reason: str) -> CatalogFileInvalid:
    return CatalogFileInvalid(where=where, reason=reason)


def _join(where: str, key: str) -> str:
    if not key:
        return where
    return f"{where}.{key}" if where else key


def _build(where: str, factory: Callable[..., _T], **values: Any) -> _T:
    """Construct a domain value, turning its own rule checks into a located file error."""
    try:
        return factory(**values)
    except InvalidInput as err:
        reason = err.params.get("reason") or err.text
        raise _bad(_join(where, err.field or ""), str(reason)) from None


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(where, "应为对象（{…}）")
    return value


def _array(value: object, where: str) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise _bad(where, "应为数组（[…]）")
    return value


def _check_keys(
    obj: Mapping[str, Any], where: str, allowed: tuple[str, ...], required: tuple[str, ...]
) -> None:
    for key in obj:
        if key not in allowed:
            raise _bad(_join(where, str(key)), _unknown_key_reason(str(key), allowed))
    for key in required:
        if key not in obj:
            raise _bad(_join(where, key), "缺少必填字段")


def _unknown_key_reason(key: str, allowed: tuple[str, ...]) -> str:
    guess = difflib.get_close_matches(key, allowed, n=1)
    if guess:
        return f"不认识的字段，是否应为“{guess[0]}”？"
    return "不认识的字段，可用字段：" + "、".join(allowed)


def _text(obj: Mapping[str, Any], key: str, where: str, default: Any = _MISSING) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str):
        raise _bad(_join(where, key), "应为文字（加英文双引号的字符串）")
    return value


def _count(obj: Mapping[str, Any], key: str, where: str, default: Any = _MISSING) -> int:
    value = obj.get(key, default)
    if not _is_count(value):
        raise _bad(_join(where, key), "应为不小于0的整数")
    return int(value)


def _flag(obj: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise _bad(_join(where, key), "应为 true 或 false")
    return value


def _enum(
    obj: Mapping[str, Any],
    key: str,
    where: str,
    parse: Callable[[str], _T],
    default: Any = _MISSING,
) -> _T:
    if key not in obj and default is not _MISSING:
        return default
    value = obj.get(key)
    if not isinstance(value, str):
        raise _bad(_join(where, key), "应为文字（加英文双引号的字符串）")
    try:
        return parse(value)
    except InvalidInput as err:
        raise _bad(_join(where, key), str(err.params.get("reason") or err.text)) from None
