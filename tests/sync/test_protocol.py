"""The sync wire formats (sync/protocol.py): every message round-trips, and every malformed,
altered or misdirected one is refused.

These are pure functions over bytes, so the tests build messages with real keys (Ed25519,
HPKE ML-KEM-768 + X25519) and never touch a network or a database.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station_app.crypto import Signer, signature_checker
from station_app.crypto.kem import SUITE_ID, KemKey, seal_to
from station_app.domain.canonical import canonical_json
from station_app.domain.log import (
    Checkpoint,
    LogEntry,
    MonoReading,
    SignedCheckpoint,
    derived_salt,
    make_origin,
    note_key_id,
)
from station_app.errors import CryptoFailure
from sync.codec import compress, decompress
from sync.protocol import (
    CERT_PURPOSE,
    DICT_BYTES,
    DICT_LEAVES,
    KEYSET_PURPOSE,
    MAX_ENTRY_BYTES,
    MAX_HEADER_BYTES,
    MAX_PROOF_LINES,
    PACKAGE_LEAVES,
    PACKAGE_RAW_BYTES,
    PUBLICATION_PURPOSE,
    RELAY_PURPOSE,
    CheckpointRequest,
    CountyKeys,
    PackageHeader,
    PackageLimits,
    ProtocolError,
    Receipt,
    b64,
    cosign,
    cosigner_key_id,
    dictionary_count,
    enrollment_mac_key,
    frame_entries,
    key_id,
    keyset_doc,
    mac,
    mac_ok,
    normalize_code,
    open_doc,
    open_keyset,
    pack_entries,
    package_bytes,
    parse_checkpoint_note,
    parse_checkpoint_request,
    parse_package,
    parse_receipt,
    sha256_hex,
    sign_doc,
    split_packages,
    unb64,
    unframe_entries,
    unpack_entries,
)

STATION = Signer(bytes(range(32)))
COSIGNER = Signer(bytes(range(32, 64)))
ROOT_KEY = Signer(bytes(range(64, 96)))
OTHER = Signer(bytes(range(96, 128)))
COUNTY_KEM = KemKey(bytes(range(96)))
ORIGIN = make_origin("330199101201", STATION.public_key)
COUNTY = "county/330199"
SEPT_29 = 1_759_107_600  # 2025-09-29 09:00 +08:00


def signed_checkpoint(size: int = 300, root: bytes = b"\x11" * 32) -> SignedCheckpoint:
    checkpoint = Checkpoint(ORIGIN, size, root)
    return SignedCheckpoint(checkpoint, ORIGIN, note_key_id(ORIGIN, STATION.public_key),
                            STATION.sign(checkpoint.body()))


def receipt(size: int = 300) -> Receipt:
    return cosign(signed_checkpoint(size), county=COUNTY, public_key=COSIGNER.public_key,
                  sign=COSIGNER.sign, timestamp=SEPT_29)


def header(**changes: Any) -> PackageHeader:
    values: dict[str, Any] = dict(
        origin=ORIGIN, kid=key_id(COUNTY_KEM.public_key), suite=SUITE_ID, start=120, end=256,
        checkpoint=sha256_hex(signed_checkpoint().note().encode()), size=300,
        proof=(b"\x01" * 32, b"\x02" * 32))
    values.update(changes)
    return PackageHeader(**values)


SALT_KEY = bytes(range(200, 232))


def sealed_package(entries: list[bytes], **changes: Any) -> bytes:
    head = header(end=120 + len(entries), **changes)
    plain = pack_entries(entries, origin=ORIGIN, start=120, salt_key=SALT_KEY)
    return package_bytes(head, seal_to(COUNTY_KEM.public_key, compress(plain), head.info()))


def open_package(data: bytes) -> tuple[PackageHeader, list[bytes]]:
    """What the county does with a package body, minus the database."""
    head, ciphertext = parse_package(data)
    plain = decompress(COUNTY_KEM.open(ciphertext, head.info()), limit=PACKAGE_RAW_BYTES * 2)
    return head, unpack_entries(plain, origin=ORIGIN, start=head.start)


def flip(data: bytes, at: int, mask: int) -> bytes:
    return data[:at] + bytes([data[at] ^ mask]) + data[at + 1:]


# ------------------------------------------------------------------------- base64


def test_base64_must_be_canonical_so_one_value_has_one_spelling():
    assert unb64(b64(b"\x00" * 76)) == b"\x00" * 76
    # "AA==" and "AB==" decode to the same byte; only the first is its encoding.
    with pytest.raises(ProtocolError, match="canonical"):
        unb64("AB==")
    with pytest.raises(ProtocolError, match="expected 32 bytes"):
        unb64(b64(b"\x00" * 31), size=32)
    for bad in ("not base64!", 42, None):
        with pytest.raises(ProtocolError):
            unb64(bad)


# ----------------------------------------------------------------------- receipts


def test_a_receipt_is_the_station_note_plus_one_county_cosignature_line():
    r = receipt()
    note = r.note()
    assert note.startswith(signed_checkpoint().note())
    assert note.count("\n\u2014 ") == 2 and note.endswith("\n")
    again = parse_receipt(note)
    assert again == r and again.note() == note and again.digest() == sha256_hex(note.encode())
    assert again.size == 300 and again.timestamp == SEPT_29 and again.county == COUNTY
    assert again.key_id == cosigner_key_id(COUNTY, COSIGNER.public_key)


def test_a_receipt_verifies_only_with_the_cosigner_that_made_it():
    r = receipt()
    assert r.verify(COSIGNER.public_key, signature_checker(COSIGNER.public_key))
    assert not r.verify(OTHER.public_key, signature_checker(OTHER.public_key))
    later = Receipt(r.signed, r.county, r.key_id, r.timestamp + 1, r.signature)
    assert not later.verify(COSIGNER.public_key, signature_checker(COSIGNER.public_key))
    renamed = Receipt(r.signed, "county/330200", r.key_id, r.timestamp, r.signature)
    assert not renamed.verify(COSIGNER.public_key, signature_checker(COSIGNER.public_key))


@pytest.mark.parametrize("text", [
    signed_checkpoint().note(),  # no cosignature
    receipt().note().rstrip("\n"),  # cut short
    receipt().note() + "\n",  # trailing garbage
    receipt().note().replace("\u2014 county/330199 ", "\u2014 county/330199"),
    receipt().note()[:-20] + "\n",  # short stamp
    receipt().note() + receipt().note().splitlines()[-1] + "\n",  # two cosignatures
    "",
])
def test_malformed_receipts_are_refused(text: str):
    with pytest.raises(ProtocolError):
        parse_receipt(text)


def receipt_accepted(text: str, original: Receipt) -> bool:
    """What a station accepts: a well-formed receipt for its own note, signed by its county."""
    try:
        r = parse_receipt(text)
    except ProtocolError:
        return False
    return (r.signed.note() == original.signed.note()
            and r.verify(COSIGNER.public_key, signature_checker(COSIGNER.public_key)))


@settings(max_examples=300)
@given(st.data())
def test_a_receipt_with_any_byte_changed_is_refused(data: st.DataObject):
    r = receipt()
    raw = r.note().encode()
    at = data.draw(st.integers(0, len(raw) - 1), label="at")
    changed = flip(raw, at, data.draw(st.integers(1, 255), label="mask"))
    try:
        text = changed.decode()
    except UnicodeDecodeError:
        return  # not even text: it can never be parsed as a receipt
    assert not receipt_accepted(text, r) or text == r.note()


def test_every_single_bit_flip_in_a_receipt_is_refused():
    r = receipt()
    raw = r.note().encode()
    for at in range(len(raw)):
        for bit in range(8):
            try:
                text = flip(raw, at, 1 << bit).decode()
            except UnicodeDecodeError:
                continue
            assert not receipt_accepted(text, r), (at, bit)


# ---------------------------------------------------------------- checkpoint notes


def test_a_checkpoint_note_must_be_in_its_one_canonical_form():
    note = signed_checkpoint().note()
    assert parse_checkpoint_note(note) == signed_checkpoint()
    root_line = note.splitlines()[2]
    assert root_line.endswith("=")
    malleable = root_line[:-2] + chr(ord(root_line[-2]) ^ 0x01) + "="  # unused low bits
    with pytest.raises(ProtocolError):
        parse_checkpoint_note(note.replace(root_line, malleable))


# ------------------------------------------------------------ add-checkpoint bodies


def test_an_add_checkpoint_body_round_trips():
    proof = (b"\x01" * 32, b"\x02" * 32, b"\x03" * 32)
    request = CheckpointRequest(120, proof, signed_checkpoint().note())
    body = request.encode()
    assert body.startswith(b"old 120\n") and b"\n\n" + signed_checkpoint().note().encode() in body
    again = parse_checkpoint_request(body)
    assert again == request and again.signed == signed_checkpoint()


def test_a_first_add_checkpoint_has_no_proof_lines():
    request = CheckpointRequest(0, (), signed_checkpoint().note())
    assert request.encode().startswith(b"old 0\n\n")
    assert parse_checkpoint_request(request.encode()) == request


def _body(head: str, note: str | None = None) -> bytes:
    return (head + "\n\n" + (note if note is not None else signed_checkpoint().note())).encode()


@pytest.mark.parametrize("body", [
    _body("old 01"),
    _body("old -1"),
    _body("old 1.5"),
    _body("new 5"),
    _body("old 5\n" + b64(b"\x01" * 31)),  # a proof hash of the wrong length
    _body("old 5\nnot-base64"),
    _body("old 5\n" + "\n".join([b64(b"\x01" * 32)] * (MAX_PROOF_LINES + 1))),
    _body("old 5", "not a note\n"),
    ("old 5\n" + signed_checkpoint().note()).encode(),  # no blank line
    b"old 5\n\n\xff\xfe",
    b"",
])
def test_malformed_add_checkpoint_bodies_are_refused(body: bytes):
    with pytest.raises(ProtocolError):
        parse_checkpoint_request(body)


def test_sixty_three_proof_lines_are_allowed():
    request = CheckpointRequest(5, (b"\x07" * 32,) * MAX_PROOF_LINES, signed_checkpoint().note())
    assert len(parse_checkpoint_request(request.encode()).proof) == MAX_PROOF_LINES


# -------------------------------------------------------------------------- packages


def test_a_package_is_magic_length_header_and_ciphertext():
    head = header()
    data = package_bytes(head, b"ciphertext")
    assert data[:4] == b"VSP1" and struct.unpack(">I", data[4:8])[0] == len(head.encode())
    assert data[8:8 + len(head.encode())] == canonical_json(head.to_dict())
    assert parse_package(data) == (head, b"ciphertext")
    assert head.info() == b"vss-sync/v1 package\n" + head.encode()


def test_entries_sealed_in_a_package_open_only_with_their_own_header():
    entries = [b'{"idx":%d}' % i for i in range(120, 136)]
    data = sealed_package(entries)
    head, opened = open_package(data)
    assert opened == entries and (head.start, head.end) == (120, 136)
    # The same ciphertext under another header (other range, other log) does not open.
    _, ciphertext = parse_package(data)
    for moved in (header(start=121, end=137), header(end=136, origin="vss/330199101202/0"),
                  header(end=136, kid="another-kid")):
        with pytest.raises(CryptoFailure):
            COUNTY_KEM.open(ciphertext, moved.info())
    with pytest.raises(CryptoFailure):
        KemKey(bytes(range(1, 97))).open(ciphertext, head.info())


def _raw_package(fields: dict[str, Any], ciphertext: bytes = b"x") -> bytes:
    head = canonical_json(fields)
    return b"VSP1" + struct.pack(">I", len(head)) + head + ciphertext


def _fields(**changes: Any) -> dict[str, Any]:
    d = header().to_dict()
    for key, value in changes.items():
        if value is ...:
            del d[key]
        else:
            d[key] = value
    return d


@pytest.mark.parametrize("data", [
    b"", b"VSP1", b"VSP2" + package_bytes(header(), b"x")[4:],
    b"VSP1" + struct.pack(">I", 10_000) + b"{}",  # header longer than the body
    b"VSP1" + struct.pack(">I", MAX_HEADER_BYTES + 1) + b" " * (MAX_HEADER_BYTES + 2),
    b"VSP1" + struct.pack(">I", 2) + b"[]x",
    _raw_package(_fields(v=2)),
    _raw_package(_fields(codec=...)),
    _raw_package(_fields(extra=1)),
    _raw_package(_fields(start=256)),  # start == end
    _raw_package(_fields(end=301)),  # beyond the checkpoint
    _raw_package(_fields(start=0, end=PACKAGE_LEAVES + 1)),
    _raw_package(_fields(start=-1)),
    _raw_package(_fields(dict=121)),  # a dictionary reaching before entry 0
    _raw_package(_fields(dict=...)),
    _raw_package(_fields(start=True)),
    _raw_package(_fields(origin=5)),
    _raw_package(_fields(proof=[b64(b"\x01" * 31)])),
    _raw_package(_fields(proof="AAAA")),
    _raw_package(_fields(proof=[b64(b"\x01" * 32)] * (MAX_PROOF_LINES + 1))),
    b"VSP1" + struct.pack(">I", 3) + b'{ }x',  # JSON, but not canonical
])
def test_malformed_packages_are_refused(data: bytes):
    with pytest.raises(ProtocolError):
        parse_package(data)


def package_refused(data: bytes) -> bool:
    try:
        open_package(data)
    except (ProtocolError, CryptoFailure):
        return True
    return False


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_package_with_any_byte_changed_is_refused(data: st.DataObject):
    package = sealed_package([b'{"idx":120,"kind":"case.created"}', b'{"idx":121}'])
    at = data.draw(st.integers(0, len(package) - 1), label="at")
    assert package_refused(flip(package, at, data.draw(st.integers(1, 255), label="mask")))


def test_every_single_bit_flip_in_a_package_header_is_refused():
    package = sealed_package([b'{"idx":120}', b'{"idx":121}'])
    head_end = 8 + struct.unpack(">I", package[4:8])[0]
    for at in range(head_end + 64):  # magic, length, header and the start of the ciphertext
        for bit in range(8):
            assert package_refused(flip(package, at, 1 << bit)), (at, bit)


def test_a_package_cut_anywhere_is_refused():
    package = sealed_package([b"entry-%d" % i for i in range(120, 130)])
    assert not package_refused(package)
    for cut in range(0, len(package), 37):
        assert package_refused(package[:cut])


# ---------------------------------------------------------------------------- frames


@given(st.lists(st.binary(max_size=300), max_size=30))
def test_entry_frames_round_trip(entries: list[bytes]):
    framed = frame_entries(entries)
    assert len(framed) == sum(4 + len(e) for e in entries)
    assert unframe_entries(framed) == entries


@pytest.mark.parametrize("data", [
    b"\x00\x00\x00",  # a length cut short
    struct.pack(">I", 5) + b"abcd",  # the entry cut short
    struct.pack(">I", MAX_ENTRY_BYTES + 1) + b"x" * (MAX_ENTRY_BYTES + 1),
    frame_entries([b"ok"]) + b"\x00",
])
def test_broken_frames_are_refused(data: bytes):
    with pytest.raises(ProtocolError):
        unframe_entries(data)


def test_a_plaintext_that_expands_past_its_bound_is_refused():
    bomb = compress(b"\x00" * (PACKAGE_RAW_BYTES * 4))
    assert len(bomb) < 2_000
    with pytest.raises(ProtocolError, match="size limit"):
        decompress(bomb, limit=PACKAGE_RAW_BYTES)
    with pytest.raises(ProtocolError):
        decompress(b"not zstd", limit=100)


# -------------------------------------------------------------------- split_packages


entry_sizes = st.lists(st.integers(0, PACKAGE_RAW_BYTES + 1000), max_size=700)
small_sizes = st.lists(st.integers(0, 3000), min_size=1, max_size=900)


@settings(max_examples=200)
@given(entry_sizes | small_sizes, st.integers(0, 10**9))
def test_packages_cover_the_range_exactly_within_the_limits(sizes: list[int], start: int):
    ranges = split_packages(sizes, start)
    if not sizes:
        assert ranges == []
        return
    assert ranges[0][0] == start and ranges[-1][1] == start + len(sizes)
    for (_, end), (first, _) in zip(ranges, ranges[1:], strict=False):
        assert end == first  # contiguous: no gap, no overlap
    for first, end in ranges:
        count, total = end - first, sum(sizes[first - start:end - start])
        assert 0 < count <= PACKAGE_LEAVES
        assert total <= PACKAGE_RAW_BYTES or count == 1  # only an oversized entry stands alone


@given(small_sizes, st.integers(0, 1000))
def test_each_package_but_the_last_is_full(sizes: list[int], start: int):
    """Greedy: a package ends only because the next entry would break a limit."""
    ranges = split_packages(sizes, start)
    for first, end in ranges[:-1]:
        taken = sizes[first - start:end - start + 1]
        assert len(taken) > PACKAGE_LEAVES or sum(taken) > PACKAGE_RAW_BYTES


def test_a_month_of_entries_makes_two_packages():
    """≈ 4,300 entries of ≈ 1 KB: two requests to the county, whatever the link."""
    assert split_packages([1000] * 4322, 40) == [(40, 4136), (4136, 4362)]


def test_a_sender_may_cut_smaller_packages():
    assert split_packages([600] * 600, 0, PackageLimits(leaves=256, raw_bytes=10**6)) == [
        (0, 256), (256, 512), (512, 600)]


# ---------------------------------------------------------- plaintext: salts and dictionary


def log_entry(idx: int, salt: str, body: dict[str, Any] | None = None) -> bytes:
    return LogEntry(origin=ORIGIN, idx=idx, kind="case.moved", actor="clerk-li",
                    t_wall="2025-09-29T09:00:00.000+08:00",
                    t_mono=MonoReading(boot="b1", us=idx), beacon=None, catalog="2025.4",
                    salt=salt, body=body or {"note": '"salt":"x","t_mono":'}).encode()


def test_derived_salts_do_not_travel_and_come_back_byte_for_byte():
    derived = [log_entry(i, derived_salt(SALT_KEY, ORIGIN, i)) for i in range(120, 125)]
    random_salt = log_entry(125, b64(b"\x07" * 16))  # an entry from before derived salts
    entries = [*derived, random_salt]
    plain = pack_entries(entries, origin=ORIGIN, start=120, salt_key=SALT_KEY)
    assert unpack_entries(plain, origin=ORIGIN, start=120) == entries
    assert len(plain) == 32 + sum(4 + len(e) for e in entries) - 5 * len(
        b'"salt":"' + derived_salt(SALT_KEY, ORIGIN, 120).encode() + b'",')
    for i in range(120, 125):
        assert derived_salt(SALT_KEY, ORIGIN, i).encode() not in plain


@given(st.lists(st.booleans(), max_size=20), st.integers(0, 10**6))
def test_entries_round_trip_whatever_mix_of_salts(derived: list[bool], start: int):
    entries = [log_entry(start + i, derived_salt(SALT_KEY, ORIGIN, start + i) if d
                         else b64(bytes([i]) * 16)) for i, d in enumerate(derived)]
    plain = pack_entries(entries, origin=ORIGIN, start=start, salt_key=SALT_KEY)
    assert unpack_entries(plain, origin=ORIGIN, start=start) == entries


def test_entries_unpacked_at_another_index_or_origin_do_not_come_back_the_same():
    entries = [log_entry(120, derived_salt(SALT_KEY, ORIGIN, 120))]
    plain = pack_entries(entries, origin=ORIGIN, start=120, salt_key=SALT_KEY)
    assert unpack_entries(plain, origin=ORIGIN, start=121) != entries
    assert unpack_entries(plain, origin="vss/other", start=120) != entries


def test_the_dictionary_is_the_newest_entries_that_fit():
    assert dictionary_count([]) == 0
    assert dictionary_count([100] * 5) == 5
    assert dictionary_count([100] * 5000) == DICT_LEAVES
    assert dictionary_count([DICT_BYTES, 10, 10]) == 2  # the old big one does not fit


def test_a_plaintext_needs_its_dictionary():
    before = frame_entries([log_entry(i, b64(bytes(16))) for i in range(10)])
    plain = pack_entries([log_entry(10, b64(bytes(16)))], origin=ORIGIN, start=10,
                         salt_key=SALT_KEY)
    packed = compress(plain, before)
    assert len(packed) < len(compress(plain))
    assert decompress(packed, limit=10**6, dictionary=before) == plain
    for wrong in (b"", b"x" * len(before)):
        with pytest.raises(ProtocolError):
            decompress(packed, limit=10**6, dictionary=wrong)


# ------------------------------------------------------------------- signed documents

PURPOSES = (KEYSET_PURPOSE, CERT_PURPOSE, PUBLICATION_PURPOSE, RELAY_PURPOSE)
DOC = {"format": "vss-publication/1", "county": COUNTY, "collection": "catalog",
       "version": 3, "content": {"items": ["婚姻登记证明", "低保申请"]}}
KEYS = {key_id(COSIGNER.public_key): signature_checker(COSIGNER.public_key)}


def signed(purpose: str = PUBLICATION_PURPOSE, doc: dict[str, Any] | None = None,
           signer: Signer = COSIGNER) -> dict[str, Any]:
    return sign_doc(doc or DOC, purpose=purpose, kid=key_id(signer.public_key), sign=signer.sign)


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_signed_document_opens_for_its_purpose(purpose: str):
    document = signed(purpose)
    assert set(document) == {"doc", "sig"} and document["sig"]["alg"] == "ed25519"
    assert open_doc(document, purpose=purpose, keys=KEYS) == DOC


@pytest.mark.parametrize(("made_for", "read_as"),
                         [(a, b) for a in PURPOSES for b in PURPOSES if a != b])
def test_a_signature_for_one_purpose_never_passes_as_another(made_for: str, read_as: str):
    with pytest.raises(ProtocolError, match="bad signature"):
        open_doc(signed(made_for), purpose=read_as, keys=KEYS)


def _altered(change: str) -> Any:
    document = signed()
    if change == "doc":
        document["doc"] = {**DOC, "version": 4}
    elif change == "kid":
        document["sig"]["kid"] = key_id(OTHER.public_key)
    elif change == "alg":
        document["sig"]["alg"] = "ecdsa"
    elif change == "value":
        document["sig"]["value"] = b64(b"\x00" * 64)
    elif change == "short":
        document["sig"]["value"] = b64(b"\x00" * 63)
    elif change == "extra":
        document["note"] = "x"
    elif change == "signer":
        document = signed(signer=OTHER)
        document["sig"]["kid"] = key_id(COSIGNER.public_key)
    elif change == "float":
        document["doc"] = {**DOC, "version": 3.0}
    else:
        document = change
    return document


@pytest.mark.parametrize("change", ["doc", "kid", "alg", "value", "short", "extra", "signer",
                                    "float", "[]"])
def test_altered_or_foreign_signed_documents_are_refused(change: str):
    with pytest.raises(ProtocolError):
        open_doc(_altered(change), purpose=PUBLICATION_PURPOSE, keys=KEYS)


def test_a_document_that_is_not_canonical_json_cannot_be_signed():
    with pytest.raises(ProtocolError, match="canonical"):
        signed(doc={"version": 1.5})


# ---------------------------------------------------------------------- the key set


def county_keys(**changes: Any) -> CountyKeys:
    values: dict[str, Any] = dict(
        county=COUNTY, version=3, root=ROOT_KEY.public_key,
        cosigners={key_id(COSIGNER.public_key): COSIGNER.public_key},
        kems={key_id(COUNTY_KEM.public_key): COUNTY_KEM.public_key, "old": b"\x05" * 1216},
        retired_kems=("older",))
    values.update(changes)
    return CountyKeys(**values)


def keyset(keys: CountyKeys, signer: Signer = ROOT_KEY, **doc_changes: Any) -> dict[str, Any]:
    doc = {**keyset_doc(keys, issued="2025-09-29T09:00:00+08:00", suite=SUITE_ID),
           **doc_changes}
    return sign_doc(doc, purpose=KEYSET_PURPOSE, kid=key_id(signer.public_key), sign=signer.sign)


def test_a_key_set_signed_by_the_pinned_root_opens():
    keys = county_keys()
    opened = open_keyset(keyset(keys), ROOT_KEY.public_key, signature_checker)
    assert opened == keys
    assert opened.current_kem == (key_id(COUNTY_KEM.public_key), COUNTY_KEM.public_key)


@pytest.mark.parametrize("signed_keyset", [
    keyset(county_keys(), signer=OTHER),  # signed by another root
    keyset(county_keys(), root=b64(OTHER.public_key)),  # names another root
    keyset(county_keys(), format="vss-county-keys/2"),
    keyset(county_keys(kems={})),
    keyset(county_keys(cosigners={})),
    keyset(county_keys(), cosigners=[{"kid": "a", "public": b64(b"\x01" * 31)}]),
    keyset(county_keys(), retired_kems="older"),
    keyset(county_keys(), version=-1),
    sign_doc({"format": "vss-county-keys/1"}, purpose=KEYSET_PURPOSE,
             kid=key_id(ROOT_KEY.public_key), sign=ROOT_KEY.sign),
    sign_doc(keyset_doc(county_keys(), issued="x", suite=SUITE_ID), purpose=PUBLICATION_PURPOSE,
             kid=key_id(ROOT_KEY.public_key), sign=ROOT_KEY.sign),
])
def test_key_sets_not_signed_by_the_pinned_root_or_malformed_are_refused(
        signed_keyset: dict[str, Any]):
    with pytest.raises(ProtocolError):
        open_keyset(signed_keyset, ROOT_KEY.public_key, signature_checker)


# ------------------------------------------------------------------------ enrollment


def test_the_enrollment_code_keys_a_mac_however_it_is_typed():
    code = "ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4567"
    assert normalize_code("abcd efgh-ijkl mnop qrst-uvwx yz23 4567") == code.replace("-", "")
    key = enrollment_mac_key(code)
    assert key == enrollment_mac_key(code.lower().replace("-", " "))
    assert key == hashlib.sha256(b"vss-enroll/v1\n" + code.replace("-", "").encode()).digest()
    request = {"station": "330199101201", "origin": ORIGIN}
    tag = mac(key, request)
    assert mac_ok(key, request, tag)
    assert not mac_ok(key, {**request, "station": "330199101202"}, tag)
    assert not mac_ok(enrollment_mac_key("ABCD"), request, tag)
    assert not mac_ok(key, request, None)
