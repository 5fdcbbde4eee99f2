"""Canonical JSON: the exact bytes a log entry is hashed and signed as.

This is the float-free subset of RFC 8785 (JCS): object keys sorted by UTF-16 code units,
no insignificant whitespace, UTF-8 output, only the escapes JSON requires. Numbers must be
integers within ±(2**53 − 1), where JCS and every JSON parser agree on one spelling; floats
are refused outright because their text form is where implementations disagree. The test
suite checks our output against the ``rfc8785`` reference package.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1

_encode_string = json.JSONEncoder(ensure_ascii=False).encode
_encode_sorted = json.JSONEncoder(ensure_ascii=False, sort_keys=True, allow_nan=False,
                                  separators=(",", ":")).encode
# Bytes in which json's own sorted output is provably the canonical form: no character at
# or above U+E000 (lead bytes EE–F4: where code-point order and UTF-16 order part), no run
# of 16 digits (so every integer is within ±(2**53 − 1)) and few enough brackets that the
# nesting is one canonical_json can write too.
_NOT_PLAIN = re.compile(rb"[\xee-\xff]|[0-9]{16}")
_PLAIN_BRACKETS = 400


class NotCanonical(ValueError):
    """The value cannot be written as canonical JSON, or bytes are not in canonical form."""


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` (dicts, lists, str, int, bool, None) as canonical JSON bytes."""
    parts: list[str] = []
    try:
        _write(value, parts)
    except RecursionError:  # nesting deeper than the interpreter's stack
        raise NotCanonical("value is nested too deeply") from None
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate cannot be UTF-8
        raise NotCanonical("string is not valid Unicode") from exc


def parse_canonical(data: bytes) -> Any:
    """Decode bytes that must already be canonical; anything else raises NotCanonical."""
    try:
        value = json.loads(data.decode("utf-8"), parse_float=_refuse_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotCanonical(f"not JSON: {exc}") from exc
    except RecursionError:  # adversarial input such as b"[" * 100_000
        raise NotCanonical("JSON is nested too deeply") from None
    if _is_plain(data) and _sorted_bytes(value) == data:
        return value  # the C encoder's answer, the same as canonical_json's, 3× faster
    if canonical_json(value) != data:
        raise NotCanonical("JSON is not in canonical form")
    return value


def _is_plain(data: bytes) -> bool:
    return data.count(b"[") + data.count(b"{") <= _PLAIN_BRACKETS and not _NOT_PLAIN.search(data)


def _sorted_bytes(value: Any) -> bytes | None:
    try:
        return _encode_sorted(value).encode("utf-8")
    except (ValueError, UnicodeEncodeError):  # NaN or Infinity, a lone surrogate
        return None


def _refuse_float(text: str) -> float:
    raise NotCanonical(f"floats are not allowed: {text}")


def _write(value: Any, parts: list[str]) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_encode_string(value))
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise NotCanonical(f"integer out of the safe range: {value}")
        parts.append(str(int(value)))
    elif isinstance(value, Mapping):
        _write_object(value, parts)
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        _write_array(value, parts)
    else:
        raise NotCanonical(f"type not allowed in canonical JSON: {type(value).__name__}")


def _write_array(value: Sequence[Any], parts: list[str]) -> None:
    parts.append("[")
    for i, item in enumerate(value):
        if i:
            parts.append(",")
        _write(item, parts)
    parts.append("]")


def _write_object(value: Mapping[Any, Any], parts: list[str]) -> None:
    for key in value:
        if not isinstance(key, str):
            raise NotCanonical(f"object keys must be strings, got {type(key).__name__}")
    parts.append("{")
    # JCS orders keys by their UTF-16 code units, which differs from code-point order only
    # for characters outside the Basic Multilingual Plane.
    for i, key in enumerate(sorted(value, key=_utf16_key)):
        if i:
            parts.append(",")
        parts.append(_encode_string(key))
        parts.append(":")
        _write(value[key], parts)
    parts.append("}")


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")
