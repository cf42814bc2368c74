"""C2SP signed-note (verify/formats/note.py, verify/formats/note_keys.py) and
tlog-cosignature (verify/formats/cosignature.py): known answers, round trips and hostile
inputs."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from verify.errors import NoteError, NoteSignatureError, UnverifiedNoteError, VerifyError
from verify.formats.cosignature import (
    COSIGNATURE_TYPE,
    CosignatureSigner,
    CosignatureVerifier,
    cosignature_timestamp,
    cosigned_message,
)
from verify.formats.note import (
    ED25519_TYPE,
    MAX_SIGNATURES,
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    Signature,
    format_vkey,
    key_id,
    open_note,
    parse_note,
    parse_signature_line,
    parse_signature_lines,
    parse_vkey,
    sign_note,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VECTORS = SHARED / "vectors" / "signed-note" / "signed-note-vectors.json"
# tlog-cosignature.md's example cosignature line (the key is not published).
SPEC_COSIGNATURE_LINE = (
    "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWX"
    "EhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
)
BODY = "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def _vectors() -> dict[str, Any]:
    if not VECTORS.is_file():
        pytest.skip(f"signed-note vectors not found at {VECTORS}")
    data: dict[str, Any] = json.loads(VECTORS.read_text())
    return data


def _flip(note: str, needle: str) -> str:
    """Change one character of ``needle`` inside ``note``."""
    at = note.index(needle)
    changed = "B" if note[at] != "B" else "C"
    return note[:at] + changed + note[at + 1 :]


# ---------------------------------------------------------------- known answers


def test_c2sp_signed_note_example() -> None:
    case = _vectors()["c2sp_signed_note_example"]
    verifier = Ed25519Verifier.from_vkey(case["vkey"])
    assert f"{verifier.key_id:08x}" == case["expected_key_id_hex"]
    assert verifier.vkey() == case["vkey"]
    opened = open_note(case["signed_note"], [verifier])
    assert opened.text == case["expected_text"]
    assert opened.verifiers == (verifier,)
    # A one-byte change in the text makes the known key's signature fail.
    tampered = case["signed_note"].replace("example message", "example messagE")
    with pytest.raises(NoteSignatureError, match="does not verify"):
        open_note(tampered, [verifier])
    # The same note as UTF-8 bytes opens identically.
    assert open_note(case["signed_note"].encode(), [verifier]).text == case["expected_text"]


def test_xmod_note_example_and_private_key() -> None:
    case = _vectors()["xmod_sumdb_note_example"]
    signer = Ed25519Signer.from_skey(case["skey"])
    assert signer.skey() == case["skey"]
    assert signer.verifier().vkey() == case["vkey"]
    # Ed25519 is deterministic: re-signing reproduces the published note.
    assert sign_note(case["expected_text"], [signer]) == case["signed_note"]
    opened = open_note(case["signed_note"], [Ed25519Verifier.from_vkey(case["vkey"])])
    assert opened.text == case["expected_text"]


def test_c2sp_checkpoint_example_parses_but_no_key_verifies_it() -> None:
    case = _vectors()["c2sp_checkpoint_example_unverifiable"]
    note = parse_note(case["checkpoint"])
    assert note.text.startswith("example.com/behind-the-sofa\n20852163\n")
    assert [s.name for s in note.signatures] == ["example.com/behind-the-sofa"]
    assert note.format() == case["checkpoint"]
    stranger = Ed25519Signer.generate("example.com/behind-the-sofa").verifier()
    with pytest.raises(UnverifiedNoteError, match="no signature by a known key"):
        open_note(case["checkpoint"], [stranger])


def test_c2sp_cosignature_message_layout() -> None:
    case = _vectors()["c2sp_cosignature_signed_message_example"]
    body = case["message"].split("\n", 2)[2]
    assert cosigned_message(body, 1679315147) == case["message"].encode()


def test_spec_cosignature_line_decodes_to_76_bytes_with_its_timestamp() -> None:
    sig = parse_signature_line(SPEC_COSIGNATURE_LINE)
    assert sig.name == "witness.example.com/w1"
    assert f"{sig.key_id:08x}" == "8d66cf3f"
    assert len(sig.signature) == 72
    assert cosignature_timestamp(sig) == 1679315147
    assert sig.line() == SPEC_COSIGNATURE_LINE + "\n"


# ---------------------------------------------------------------- keys


def test_key_id_and_vkey_round_trip() -> None:
    signer = Ed25519Signer.generate("pmm.example/log")
    verifier = signer.verifier()
    parsed = parse_vkey(verifier.vkey())
    assert parsed.name == "pmm.example/log"
    assert parsed.key_type == ED25519_TYPE
    assert parsed.public_key == signer.public_key
    assert parsed.key_id == key_id("pmm.example/log", ED25519_TYPE, signer.public_key)
    assert Ed25519Verifier.from_vkey(verifier.vkey()) == verifier
    assert Ed25519Signer.from_skey(signer.skey()).public_key == signer.public_key
    # Same key, other type byte: other key ID (signed-note: no ambiguity).
    assert key_id("n", ED25519_TYPE, b"k" * 32) != key_id("n", COSIGNATURE_TYPE, b"k" * 32)


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "name",
        "name+530d903a",
        "name+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    ],
    ids=[
        "empty",
        "name-only",
        "no-key",
        "short-hex",
        "bad-base64",
        "wrong-key-id",
        "renamed-key",
        "space-in-name",
        "empty-name",
    ],
)
def test_bad_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        Ed25519Verifier.from_vkey(vkey)


def test_vkey_of_the_wrong_type_is_refused_both_ways() -> None:
    log = Ed25519Signer.generate("log.example").verifier()
    witness = CosignatureSigner.generate("witness.example").verifier()
    assert parse_vkey(witness.vkey()).key_type == COSIGNATURE_TYPE
    with pytest.raises(NoteError, match="not 0x04"):
        CosignatureVerifier.from_vkey(log.vkey())
    with pytest.raises(NoteError, match="not 0x01"):
        Ed25519Verifier.from_vkey(witness.vkey())
    with pytest.raises(NoteError, match="32 bytes"):
        Ed25519Verifier("x", b"short")
    assert format_vkey("x", 0x01, b"k" * 32).startswith("x+")


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b", "a\u2003b", "tab\tname"])
def test_bad_key_names_are_refused(name: str) -> None:
    with pytest.raises(NoteError):
        Ed25519Signer.generate(name)


def test_bad_private_keys_are_refused() -> None:
    signer = Ed25519Signer.generate("k")
    with pytest.raises(NoteError, match="PRIVATE\\+KEY"):
        Ed25519Signer.from_skey(signer.skey().removeprefix("PRIVATE+"))
    wrong_id = signer.skey().replace(f"+{signer.key_id:08x}+", "+00000000+")
    with pytest.raises(NoteError, match="does not match"):
        Ed25519Signer.from_skey(wrong_id)


# ---------------------------------------------------------------- notes


ALICE = Ed25519Signer.generate("alice.example")
BOB = Ed25519Signer.generate("bob.example")


def test_round_trip_with_several_signers_and_blank_lines_in_the_text() -> None:
    text = "first paragraph\n\nsecond paragraph\n\n"
    note = sign_note(text, [ALICE, BOB])
    parsed = parse_note(note)
    assert parsed.text == text
    assert [s.name for s in parsed.signatures] == ["alice.example", "bob.example"]
    assert parsed.format() == note
    opened = open_note(note, [BOB.verifier()])
    assert opened.text == text
    assert [s.name for s in opened.verified] == ["bob.example"]
    both = open_note(note, [ALICE.verifier(), BOB.verifier()])
    assert both.verifiers == (ALICE.verifier(), BOB.verifier())


def test_unknown_signatures_are_ignored_even_with_a_known_name_or_id() -> None:
    impostor = Ed25519Signer.generate("alice.example")  # same name, other key, other id
    note = sign_note("hello\n", [impostor, ALICE])
    assert open_note(note, [ALICE.verifier()]).verified[0].key_id == ALICE.key_id
    # A signature whose key ID matches a known key but whose name differs.
    other_name = Signature("mallory.example", ALICE.key_id, b"\x00" * 64)
    parsed = parse_note(note)
    extended = Note(parsed.text, (other_name, *parsed.signatures)).format()
    assert open_note(extended, [ALICE.verifier()]).text == "hello\n"


def test_a_known_key_whose_signature_fails_rejects_the_note() -> None:
    @dataclass(frozen=True)
    class SameNameAndId:
        """A verifier configured with the wrong public key for a known (name, id)."""

        name: str
        key_id: int
        other: Ed25519Verifier

        def verify(self, message: bytes, signature: bytes) -> bool:
            return self.other.verify(message, signature)

    note = sign_note("hello\n", [ALICE, BOB])
    wrong = SameNameAndId(ALICE.name, ALICE.key_id, Ed25519Signer.generate("x").verifier())
    with pytest.raises(NoteSignatureError, match=re.escape("alice.example")):
        open_note(note, [wrong, BOB.verifier()])


def test_a_flipped_signature_byte_rejects_the_note() -> None:
    note = sign_note("hello\n", [ALICE])
    line = parse_note(note).signatures[0]
    raw = bytearray(line.signature)
    raw[10] ^= 1
    tampered = Note("hello\n", (Signature(line.name, line.key_id, bytes(raw)),)).format()
    with pytest.raises(NoteSignatureError):
        open_note(tampered, [ALICE.verifier()])


def test_sixteen_and_more_signatures_are_accepted_up_to_the_limit() -> None:
    signers = [Ed25519Signer.generate(f"k{i}.example") for i in range(16)]
    note = sign_note("many\n", signers)
    assert len(open_note(note, [s.verifier() for s in signers]).verified) == 16
    assert len(open_note(note, [signers[7].verifier()]).verified) == 1
    one = parse_note(note).signatures[0]
    crowded = Note("many\n", (one,) * MAX_SIGNATURES).format()
    assert len(open_note(crowded, [signers[0].verifier()]).verified) == 1  # counted once
    with pytest.raises(NoteError, match="at most"):
        parse_note(Note("many\n", (one,) * (MAX_SIGNATURES + 1)).format())


def test_duplicate_known_keys_are_a_configuration_error() -> None:
    note = sign_note("hello\n", [ALICE])
    with pytest.raises(NoteError, match="share name"):
        open_note(note, [ALICE.verifier(), ALICE.verifier()])


GOOD = sign_note("hello\n", [ALICE])
GOOD_LINE = GOOD.split("\n\n", 1)[1]


@pytest.mark.parametrize(
    ("note", "match"),
    [
        ("hello\n" + GOOD_LINE, "no blank line"),
        ("hello\n\n", "non-empty"),
        ("hello\n\n" + GOOD_LINE.rstrip("\n"), "end in a newline"),
        ("hello\n\n" + GOOD_LINE.replace("\u2014 ", "- "), "em dash"),
        ("hello\n\n" + GOOD_LINE.replace("alice.example ", "alice.example"), "space"),
        ("hello\n\n" + GOOD_LINE.replace(" ", "  ", 2)[:-1] + "\n", "base64|key name"),
        ("hello\n\n" + GOOD_LINE[:-3] + "!=\n", "not valid base64"),
        ("hello\n\n" + GOOD_LINE[:-2] + "\n", "not valid base64"),
        ("hello\n\n\u2014 alice.example AAAAAA==\n", "needs a key ID"),
        ("hello\r\n\n" + GOOD_LINE, "control character"),
        ("hel\tlo\n\n" + GOOD_LINE, "control character"),
        ("hello\n\n" + GOOD_LINE + "\n", "non-empty"),
        ("hello\n\n\u2014 a+b AAAAAAA=\n", "key name"),
    ],
    ids=[
        "missing-blank-line",
        "no-signatures",
        "unterminated-signature",
        "hyphen-not-em-dash",
        "no-space-after-name",
        "double-space",
        "bad-base64-char",
        "bad-base64-padding",
        "signature-too-short",
        "carriage-return",
        "tab",
        "trailing-blank-line",
        "plus-in-name",
    ],
)
def test_malformed_notes_are_refused(note: str, match: str) -> None:
    with pytest.raises(NoteError, match=match):
        open_note(note, [ALICE.verifier()])


def test_non_canonical_base64_and_bad_utf8_are_refused() -> None:
    sig = parse_note(GOOD).signatures[0]
    encoded = base64.b64encode(sig.key_id.to_bytes(4, "big") + sig.signature).decode()
    # 68 bytes: one "=" of padding, and the last character carries 2 spare bits.
    assert encoded.endswith("=") and not encoded.endswith("==")
    sloppy = encoded[:-2] + chr(ord(encoded[-2]) + 1) + "="
    assert base64.b64decode(sloppy) == base64.b64decode(encoded)
    with pytest.raises(NoteError, match="not canonical"):
        parse_note("hello\n\n\u2014 alice.example " + sloppy + "\n")
    with pytest.raises(NoteError, match="UTF-8"):
        parse_note(b"caf\xe9\n\n" + GOOD_LINE.encode())


def test_signing_refuses_bad_text() -> None:
    with pytest.raises(NoteError, match="end in a newline"):
        sign_note("no newline", [ALICE])
    with pytest.raises(NoteError, match="control character"):
        sign_note("bell\a\n", [ALICE])
    with pytest.raises(NoteError, match="at least one signature"):
        sign_note("alone\n", [])


def test_errors_are_verify_errors() -> None:
    assert issubclass(NoteSignatureError, VerifyError)
    assert issubclass(UnverifiedNoteError, NoteError)


# ---------------------------------------------------------------- cosignatures


WITNESS = CosignatureSigner.generate("witness.example/w1")
T = 1_700_000_000


def _cosigned(body: str, signer: CosignatureSigner, timestamp: int) -> str:
    """The body signed by ALICE as if she were the log, plus a cosignature."""
    note = parse_note(sign_note(body, [ALICE]))
    cosig = Signature(signer.name, signer.key_id, signer.sign_at(body.encode(), timestamp))
    return Note(body, (*note.signatures, cosig)).format()


def test_cosignature_round_trip() -> None:
    note = _cosigned(BODY, WITNESS, T)
    opened = open_note(note, [ALICE.verifier(), WITNESS.verifier()])
    assert [s.name for s in opened.verified] == [ALICE.name, WITNESS.name]
    assert cosignature_timestamp(opened.verified[1]) == T
    assert len(opened.verified[1].signature) == 72
    assert WITNESS.key_id == key_id(WITNESS.name, 0x04, WITNESS.public_key)
    assert CosignatureVerifier.from_vkey(WITNESS.verifier().vkey()) == WITNESS.verifier()
    # The witness alone also opens it (the log key is unknown, so ignored).
    assert open_note(note, [WITNESS.verifier()]).verifiers == (WITNESS.verifier(),)


def test_cosigner_clock_and_witness_response_lines() -> None:
    signer = CosignatureSigner(WITNESS.name, WITNESS.private_key, clock=lambda: T + 5)
    response = Signature(signer.name, signer.key_id, signer.sign(BODY.encode())).line()
    (parsed,) = parse_signature_lines(response)  # tlog-witness 200 body
    assert cosignature_timestamp(parsed) == T + 5
    log_note = parse_note(sign_note(BODY, [ALICE]))
    merged = Note(BODY, (*log_note.signatures, parsed)).format()
    open_note(merged, [ALICE.verifier(), WITNESS.verifier()])


def test_cosignature_timestamp_rules() -> None:
    # A cosignature with timestamp 0 cannot be made by our signer...
    with pytest.raises(NoteError, match=re.escape("1..2**63-1")):
        WITNESS.sign_at(BODY.encode(), 0)
    with pytest.raises(NoteError, match=re.escape("1..2**63-1")):
        WITNESS.sign_at(BODY.encode(), 2**63)
    # ... so build one by hand: valid Ed25519 over "time 0".
    raw = WITNESS.private_key.sign(cosigned_message(BODY, 0))
    zero_sig = Signature(WITNESS.name, WITNESS.key_id, (0).to_bytes(8, "big") + raw)
    zero = Note(BODY, (*parse_note(sign_note(BODY, [ALICE])).signatures, zero_sig)).format()
    with pytest.raises(NoteSignatureError, match="timestamp 0"):
        open_note(zero, [ALICE.verifier(), WITNESS.verifier()])
    lenient = CosignatureVerifier(
        WITNESS.name, WITNESS.public_key, allow_zero_timestamp=True
    )
    open_note(zero, [ALICE.verifier(), lenient])
    big = 2**63
    raw = WITNESS.private_key.sign(f"cosignature/v1\ntime {big}\n{BODY}".encode())
    big_sig = Signature(WITNESS.name, WITNESS.key_id, big.to_bytes(8, "big") + raw)
    with pytest.raises(NoteSignatureError, match=re.escape("2**63-1")):
        open_note(Note(BODY, (big_sig,)).format(), [lenient])
    with pytest.raises(NoteError, match="outside"):
        cosigned_message(BODY, -1)


def test_hostile_cosignatures() -> None:
    good = _cosigned(BODY, WITNESS, T)
    # Signed at T, claims T + 1: the signed message differs.
    sig = parse_note(good).signatures[1]
    shifted = Signature(
        sig.name, sig.key_id, (T + 1).to_bytes(8, "big") + sig.signature[8:]
    )
    forged = Note(BODY, (parse_note(good).signatures[0], shifted)).format()
    with pytest.raises(NoteSignatureError, match="does not verify"):
        open_note(forged, [WITNESS.verifier()])
    # A bare 64-byte Ed25519 signature is not a timestamped one.
    bare = Signature(sig.name, sig.key_id, sig.signature[8:])
    with pytest.raises(NoteSignatureError, match="72 bytes"):
        open_note(Note(BODY, (bare,)).format(), [WITNESS.verifier()])
    # The same cosignature on another checkpoint body.
    other = BODY.replace("\n5\n", "\n6\n")
    with pytest.raises(NoteSignatureError):
        open_note(Note(other, (sig,)).format(), [WITNESS.verifier()])
    # A plain note signature (type 0x01) by the witness key has another key ID,
    # so a cosignature verifier ignores it.
    as_note_key = Ed25519Signer(WITNESS.name, WITNESS.private_key)
    with pytest.raises(UnverifiedNoteError):
        open_note(sign_note(BODY, [as_note_key]), [WITNESS.verifier()])
