"""The log's formats: entries as canonical JSON, checkpoints as C2SP signed notes."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station_app.crypto import Signer, signature_checker
from station_app.domain.canonical import MAX_SAFE_INTEGER, canonical_json
from station_app.domain.log import (
    Beacon,
    Checkpoint,
    LogEntry,
    MalformedEntry,
    MonoReading,
    SignedCheckpoint,
    decode_entry,
    make_origin,
    note_key_id,
    origin_station,
    parse_note,
)

PUBLIC_KEY = bytes(range(32))
ORIGIN = make_origin("330110001001", PUBLIC_KEY)
ROOT = hashlib.sha256(b"root").digest()


def entry(**changes: Any) -> LogEntry:
    values: dict[str, Any] = dict(
        origin=ORIGIN, idx=17, kind="case.moved", actor="zhangsan",
        t_wall="2025-09-30T10:15:02.123+08:00",
        t_mono=MonoReading(boot="6f1c2a", us=123456789),
        beacon=Beacon(size=40, time="2025-09-29T18:00:00.000+08:00", digest="ab" * 32),
        catalog="2025.4", salt="c2FsdHNhbHRzYWx0c2FsdA==",
        body={"case_no": "330110001001-20250930-0007", "to": "ACCEPTED"},
    )
    values.update(changes)
    return LogEntry(**values)


def fields(**changes: Any) -> dict[str, Any]:
    """The entry as a dict, with top-level fields replaced (or removed, for ...)."""
    d = entry().to_dict()
    for key, value in changes.items():
        if value is ...:
            del d[key]
        else:
            d[key] = value
    return d


# ---------------------------------------------------------------- entries

text = st.text(max_size=10)
ints = st.integers(min_value=0, max_value=MAX_SAFE_INTEGER)
json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
entries = st.builds(
    LogEntry,
    origin=text, idx=ints, kind=st.sampled_from(["case.created", "case.moved"]) | text,
    actor=text, t_wall=text, t_mono=st.builds(MonoReading, boot=text, us=ints),
    beacon=st.none() | st.builds(Beacon, size=ints, time=text, digest=text),
    catalog=st.none() | text, salt=text,
    body=st.dictionaries(text, json_values, max_size=5),
)


@given(entries)
def test_an_entry_decodes_to_itself_from_its_bytes(e: LogEntry) -> None:
    data = e.encode()
    assert decode_entry(data) == e
    assert decode_entry(data).encode() == data


def test_an_entry_is_written_as_canonical_json_with_the_documented_fields() -> None:
    data = entry(beacon=None, body={"b": 1, "a": [True, None]}).encode()
    assert data == (
        b'{"actor":"zhangsan","beacon":null,"body":{"a":[true,null],"b":1},'
        b'"catalog":"2025.4","idx":17,"kind":"case.moved",'
        b'"origin":"' + ORIGIN.encode() + b'","salt":"c2FsdHNhbHRzYWx0c2FsdA==",'
        b'"t_mono":{"boot":"6f1c2a","us":123456789},'
        b'"t_wall":"2025-09-30T10:15:02.123+08:00","v":1}'
    )


@pytest.mark.parametrize(
    "data",
    [
        json.dumps(entry().to_dict()).encode(),  # spaces after separators
        json.dumps(entry().to_dict(), separators=(",", ":")).encode(),  # keys not sorted
        json.dumps(entry().to_dict(), sort_keys=True, indent=1).encode(),
        canonical_json(entry().to_dict()) + b"\n",
        canonical_json(entry(actor="张三").to_dict()).replace("张".encode(), b"\\u5f20"),
        b"",
        b"\xff",
        b"null",
        b"[]",
        b'"entry"',
    ],
    ids=["spaces", "unsorted", "indented", "trailing newline", "escaped Chinese", "empty",
         "not UTF-8", "null", "array", "string"],
)
def test_bytes_that_are_not_a_canonical_entry_object_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedEntry):
        decode_entry(data)


@pytest.mark.parametrize("missing", sorted(entry().to_dict()))
def test_an_entry_missing_a_field_is_refused(missing: str) -> None:
    with pytest.raises(MalformedEntry):
        decode_entry(canonical_json(fields(**{missing: ...})))


def test_an_entry_with_an_extra_field_is_refused() -> None:
    with pytest.raises(MalformedEntry):
        decode_entry(canonical_json(fields(case_id="x")))


@pytest.mark.parametrize("version", [0, 2, "1", True, None])
def test_an_entry_of_another_version_is_refused(version: object) -> None:
    with pytest.raises(MalformedEntry):
        decode_entry(canonical_json(fields(v=version)))


@pytest.mark.parametrize(
    "changes",
    [
        {"idx": "17"},
        {"idx": True},
        {"idx": None},
        {"origin": 5},
        {"kind": None},
        {"actor": ["zhangsan"]},
        {"t_wall": 20250930},
        {"salt": None},
        {"catalog": 2025},
        {"body": []},
        {"body": "x"},
        {"body": None},
        {"t_mono": "6f1c2a:123"},
        {"t_mono": [1, 2]},
        {"t_mono": None},
        {"t_mono": {"boot": "b"}},
        {"t_mono": {"boot": 1, "us": 2}},
        {"t_mono": {"boot": "b", "us": "2"}},
        {"t_mono": {"boot": "b", "us": False}},
        {"t_mono": {"boot": "b", "us": 2, "ns": 2000}},
        {"beacon": "40"},
        {"beacon": {"size": 40, "time": "t"}},
        {"beacon": {"size": "40", "time": "t", "digest": "d"}},
        {"beacon": {"size": 40, "time": "t", "digest": None}},
        {"beacon": {"size": 40, "time": "t", "digest": "d", "by": "county"}},
    ],
    ids=repr,
)
def test_an_entry_with_a_field_of_the_wrong_shape_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(MalformedEntry):
        decode_entry(canonical_json(fields(**changes)))


def test_a_malformed_entry_is_a_value_error() -> None:
    assert issubclass(MalformedEntry, ValueError)


# ---------------------------------------------------------------- checkpoints

STAMP = base64.b64encode(b"\x01\x02\x03\x04" + b"\x07" * 64).decode()
NOTE = f"{ORIGIN}\n5\n{base64.b64encode(ROOT).decode()}\n\n\u2014 {ORIGIN} {STAMP}\n"


def test_a_checkpoint_body_is_origin_size_and_base64_root_on_three_lines() -> None:
    body = Checkpoint(ORIGIN, 5, ROOT).body()
    assert body == f"{ORIGIN}\n5\n{base64.b64encode(ROOT).decode()}\n".encode()


def test_a_signed_checkpoint_note_is_the_body_a_blank_line_and_one_signature_line() -> None:
    signed = SignedCheckpoint(Checkpoint(ORIGIN, 5, ROOT), ORIGIN, b"\x01\x02\x03\x04",
                              b"\x07" * 64)
    assert signed.note() == NOTE
    assert parse_note(NOTE) == signed


def test_a_real_signed_checkpoint_verifies_with_the_station_key() -> None:
    signer, _ = Signer.generate()
    origin = make_origin("330110001001", signer.public_key)
    checkpoint = Checkpoint(origin, 1, ROOT)
    key_id = note_key_id(origin, signer.public_key)
    note = SignedCheckpoint(checkpoint, origin, key_id, signer.sign(checkpoint.body())).note()
    parsed = parse_note(note)
    assert parsed.key_id == key_id
    assert signature_checker(signer.public_key)(parsed.checkpoint.body(), parsed.signature)


no_newline = st.characters(codec="utf-8", exclude_characters="\n")
key_names = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cc", "Zs", "Zl", "Zp"],
                  exclude_characters="+"),
    min_size=1, max_size=20)


@given(
    origin=st.text(no_newline, max_size=40), size=ints,
    root=st.binary(min_size=32, max_size=32), name=key_names,
    key_id=st.binary(min_size=4, max_size=4), signature=st.binary(min_size=64, max_size=64),
)
def test_parse_note_reads_back_every_note_it_could_have_written(
    origin: str, size: int, root: bytes, name: str, key_id: bytes, signature: bytes
) -> None:
    signed = SignedCheckpoint(Checkpoint(origin, size, root), name, key_id, signature)
    assert parse_note(signed.note()) == signed


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unused_bit_set(text: str) -> str:
    """The same bytes spelled with the last character's unused low bits set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    body = text.rstrip("=")
    return body[:-1] + alphabet[alphabet.index(body[-1]) ^ 1] + text[len(body):]


@pytest.mark.parametrize(
    "note",
    [
        "",
        NOTE.replace("\n\n", "\n"),  # no blank line before the signatures
        NOTE[:-1],  # no final newline
        NOTE + "\n",
        NOTE + f"\u2014 other {STAMP}\n",  # a second signature
        NOTE.replace("\n5\n", "\n5\nextension line\n"),
        NOTE.replace(f"{ORIGIN}\n5\n", "5\n"),  # origin line missing
        NOTE.replace("\u2014 ", "- "),  # ASCII hyphen instead of the em dash
        NOTE.replace("\u2014 ", "\u2014"),
        NOTE.replace(f" {STAMP}", ""),  # no signature
        NOTE.replace(f" {STAMP}", " "),
        NOTE.replace(STAMP, "!!!!" + STAMP[4:]),  # not base64
        NOTE.replace(STAMP, STAMP.rstrip("=")),  # padding missing
        NOTE.replace(STAMP, _b64(b"\x01\x02\x03\x04" + b"\x07" * 63)),  # short signature
        NOTE.replace(STAMP, _b64(b"\x01\x02\x03\x04" + b"\x07" * 65)),  # long signature
        NOTE.replace(_b64(ROOT), _b64(ROOT[:31])),  # short root
        NOTE.replace(_b64(ROOT), _b64(ROOT + b"\x00")),
        NOTE.replace(_b64(ROOT), "%" + _b64(ROOT)[1:]),
        NOTE.replace(_b64(ROOT), _unused_bit_set(_b64(ROOT))),
        NOTE.replace("\n5\n", "\n-1\n"),
        NOTE.replace("\n5\n", "\n+5\n"),
        NOTE.replace("\n5\n", "\n05\n"),
        NOTE.replace("\n5\n", "\n 5\n"),
        NOTE.replace("\n5\n", "\n5.0\n"),
        NOTE.replace("\n5\n", "\nfive\n"),
        NOTE.replace("\n5\n", "\n\u0665\n"),  # an Arabic-Indic five
    ],
    ids=["empty", "no blank line", "no final newline", "trailing blank line",
         "two signatures", "extra body line", "no origin", "hyphen", "no space after dash",
         "no stamp", "empty stamp", "bad base64 stamp", "unpadded stamp", "short signature",
         "long signature", "short root", "long root", "bad base64 root",
         "non-canonical base64 root", "negative size",
         "plus sign", "leading zero", "leading space", "decimal size", "word size",
         "non-ASCII digit"],
)
def test_notes_that_are_not_one_signed_checkpoint_are_refused(note: str) -> None:
    """Including another spelling of the same bytes: one note has one text."""
    with pytest.raises(MalformedEntry):
        parse_note(note)


def test_the_key_id_is_the_first_four_bytes_of_the_c2sp_key_hash() -> None:
    expected = hashlib.sha256(ORIGIN.encode() + b"\x0a" + b"\x01" + PUBLIC_KEY).digest()[:4]
    assert note_key_id(ORIGIN, PUBLIC_KEY) == expected
    assert len(expected) == 4


def test_the_key_id_and_signature_match_the_go_sumdb_note_example() -> None:
    # golang.org/x/mod/sumdb/note: the PeterNeumann key pair and its published signed note.
    seed = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
    public = base64.b64decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")[1:]
    text = (b"If you think cryptography is the answer to your problem,\n"
            b"then you don't know what your problem is.\n")
    signer = Signer(seed)
    assert signer.public_key == public
    assert note_key_id("PeterNeumann", public).hex() == "c74f20a3"
    stamp = base64.b64encode(note_key_id("PeterNeumann", public) + signer.sign(text)).decode()
    assert stamp == ("x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngot"
                     "pRZb6KE6RyyBwJnAM=")


# ---------------------------------------------------------------- origins


def test_the_origin_names_the_station_and_a_short_id_of_its_key() -> None:
    expected = f"vss/330110001001/{hashlib.sha256(PUBLIC_KEY).hexdigest()[:8]}"
    assert ORIGIN == expected
    assert make_origin("330110001001", bytes(32)) != ORIGIN
    assert origin_station(ORIGIN) == "330110001001"


@pytest.mark.parametrize("origin", ["", "vss", "vss/330110001001", "log/330110001001/ab12cd34",
                                    "vss/3301/ab/cd", "example.com/log"])
def test_an_origin_not_of_the_station_form_names_no_station(origin: str) -> None:
    assert origin_station(origin) == ""
