"""tlog-checkpoint (verify/formats/checkpoint.py), tlog-policy
(verify/formats/policy_text.py) and tlog-proof receipts (verify/formats/receipt.py):
round trips and hostile inputs."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from verify.errors import (
    CheckpointError,
    NoteError,
    NoteSignatureError,
    PolicyError,
    ProofError,
    QuorumError,
    ReceiptError,
    UnverifiedNoteError,
)
from verify.formats.checkpoint import (
    Checkpoint,
    check_own_checkpoint,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from verify.formats.cosignature import CosignatureSigner
from verify.formats.note import Ed25519Signer, Note, Signature, parse_note, sign_note
from verify.formats.policy_text import PolicyGroup, TrustPolicy, parse_policy
from verify.formats.receipt import RECEIPT_HEADER, Receipt, parse_receipt, verify_receipt
from verify.merkle.tree import (
    EMPTY_ROOT,
    inclusion_proof,
    leaf_hash,
    memory_perfect,
    tree_root,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VECTORS = SHARED / "vectors" / "signed-note" / "signed-note-vectors.json"
SPEC_BODY = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
ORIGIN = "pmm.example/ledger"
ROOT = bytes(range(32))

# ---------------------------------------------------------------- checkpoint bodies


def test_spec_checkpoint_body_round_trips() -> None:
    checkpoint = parse_checkpoint(SPEC_BODY)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root.hex().startswith("0ac5186a")
    assert checkpoint.extensions == ()
    assert checkpoint.body() == SPEC_BODY


def test_spec_signed_checkpoint_example_parses() -> None:
    if not VECTORS.is_file():
        pytest.skip(f"signed-note vectors not found at {VECTORS}")
    case = json.loads(VECTORS.read_text())["c2sp_checkpoint_example_unverifiable"]
    assert parse_checkpoint(parse_note(case["checkpoint"]).text).body() == SPEC_BODY


def test_extension_lines_parse_and_round_trip() -> None:
    body = SPEC_BODY + "ext one\nextension two\n"
    checkpoint = parse_checkpoint(body)
    assert checkpoint.extensions == ("ext one", "extension two")
    assert checkpoint.body() == body


def test_empty_and_large_trees() -> None:
    empty = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    assert empty.body() == f"{ORIGIN}\n0\n{base64.b64encode(EMPTY_ROOT).decode()}\n"
    assert parse_checkpoint(empty.body()) == empty
    largest = Checkpoint(ORIGIN, 2**64 - 1, ROOT)
    assert parse_checkpoint(largest.body()) == largest


B64_ROOT = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (f"o\n020852163\n{B64_ROOT}\n", "leading zeros"),
        (f"o\n00\n{B64_ROOT}\n", "leading zeros"),
        (f"o\n+5\n{B64_ROOT}\n", "ASCII decimal"),
        (f"o\n-5\n{B64_ROOT}\n", "ASCII decimal"),
        (f"o\n 5\n{B64_ROOT}\n", "ASCII decimal"),
        (f"o\n1_000\n{B64_ROOT}\n", "ASCII decimal"),
        (f"o\n\u0665\n{B64_ROOT}\n", "ASCII decimal"),
        (f"o\n{2**64}\n{B64_ROOT}\n", "exceeds"),
        (f"o\n\n{B64_ROOT}\n", "line 2 is empty"),
        (f"\n5\n{B64_ROOT}\n", "line 1 is empty"),
        (f"o\n5\n{B64_ROOT}", "end in a newline"),
        ("o\n5\n", "needs origin, size and root"),
        (f"o\n5\n{B64_ROOT}\n\nnote\n", "line 4 is empty"),
        (f"o\n5\n{B64_ROOT[:-1]}\n", "not valid base64"),
        (f"o\n5\n{B64_ROOT.rstrip('=')}\n", "not valid base64"),
        (f"o\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", "31 bytes"),
        (f"o\n5\n{B64_ROOT[:-2]}9=\n", "not canonical"),
    ],
    ids=[
        "leading-zero-size",
        "double-zero",
        "plus-sign",
        "negative",
        "space",
        "underscore",
        "arabic-digit",
        "above-uint64",
        "empty-size",
        "empty-origin",
        "no-final-newline",
        "two-lines",
        "empty-extension",
        "bad-base64",
        "unpadded-base64",
        "short-root",
        "non-canonical-base64",
    ],
)
def test_malformed_checkpoints_are_refused(body: str, match: str) -> None:
    with pytest.raises(CheckpointError, match=match):
        parse_checkpoint(body)


def test_checkpoint_values_are_validated() -> None:
    with pytest.raises(CheckpointError, match="32 bytes"):
        Checkpoint(ORIGIN, 1, b"x")
    with pytest.raises(CheckpointError, match="uint64"):
        Checkpoint(ORIGIN, -1, ROOT)
    with pytest.raises(CheckpointError, match="multi-line"):
        Checkpoint("a\nb", 1, ROOT)


# ---------------------------------------------------------------- signed checkpoints

LOG = Ed25519Signer.generate(ORIGIN)
W1, W2, W3 = (CosignatureSigner.generate(f"witness{i}.example") for i in (1, 2, 3))


def test_sign_and_open_own_checkpoint() -> None:
    checkpoint = Checkpoint(ORIGIN, 5, ROOT)
    note = sign_checkpoint(checkpoint, LOG)
    opened = open_checkpoint(note, [LOG.verifier()], origin=ORIGIN)
    assert opened.checkpoint == checkpoint
    with pytest.raises(CheckpointError, match="expected"):
        open_checkpoint(note, [LOG.verifier()], origin="other.example/log")


def test_own_checkpoints_refuse_extensions_bad_origin_and_key_name() -> None:
    with pytest.raises(CheckpointError, match="extension"):
        sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT, ("ext",)), LOG)
    with pytest.raises(CheckpointError, match="key name"):
        check_own_checkpoint(Checkpoint("has space", 5, ROOT))
    with pytest.raises(CheckpointError, match="empty tree"):
        check_own_checkpoint(Checkpoint(ORIGIN, 0, ROOT))
    other = Ed25519Signer.generate("not-the-origin.example")
    with pytest.raises(CheckpointError, match="named after the origin"):
        sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT), other)


def test_foreign_checkpoint_with_extensions_opens_only_when_allowed() -> None:
    body = Checkpoint(ORIGIN, 5, ROOT, ("x-ext",)).body()
    note = sign_note(body, [LOG])
    with pytest.raises(CheckpointError, match="extension line"):
        open_checkpoint(note, [LOG.verifier()])
    opened = open_checkpoint(note, [LOG.verifier()], allow_extensions=True)
    assert opened.checkpoint.extensions == ("x-ext",)


# ---------------------------------------------------------------- policies


def _example_policy() -> str:
    """The tlog-policy spec's example, with real keys."""
    x = [CosignatureSigner.generate(f"x{i}.example").verifier().vkey() for i in (1, 2, 3)]
    y = [CosignatureSigner.generate(f"y{i}.example").verifier().vkey() for i in (1, 2, 3)]
    return (
        f"log {LOG.verifier().vkey()}\n"
        "\n"
        f"witness X1 {x[0]}\nwitness X2 {x[1]}\nwitness X3 {x[2]}\n"
        "group X-witnesses 2 X1 X2 X3\n"
        "\n"
        f"witness Y1 {y[0]}\nwitness Y2 {y[1]}\nwitness Y3 {y[2]}\n"
        "group Y-witnesses any Y1 Y2 Y3\n"
        "\n"
        "group X-and-Y all X-witnesses Y-witnesses\n"
        "quorum X-and-Y\n"
    )


def test_spec_example_policy_and_quorum() -> None:
    policy = parse_policy(_example_policy())
    assert len(policy.logs) == 1 and len(policy.witnesses) == 6
    assert [g.threshold for g in policy.groups] == [2, 1, 2]
    assert policy.satisfied_by({"X1", "X3", "Y2"})
    assert not policy.satisfied_by({"X1", "Y2"})
    assert not policy.satisfied_by({"X1", "X2", "X3"})
    assert not policy.satisfied_by({"X-witnesses", "Y-witnesses"})  # groups are not signers
    assert parse_policy(policy.format()) == policy
    assert parse_policy(policy.format().encode()) == policy


def test_policy_syntax_comments_tabs_urls_and_none() -> None:
    w1 = W1.verifier().vkey()
    text = (
        "# a comment\n"
        "   # an indented comment\n"
        " \t \n"
        f"\tlog {LOG.verifier().vkey()}   https://log.example/\n"
        f"witness  w1\t{w1} https://w1.example/prefix \n"
        "quorum none\n"
    )
    policy = parse_policy(text)
    assert policy.logs[0].url == "https://log.example/"
    assert policy.witnesses[0].url == "https://w1.example/prefix"
    assert policy.quorum == "none"
    assert policy.satisfied_by(set())
    assert parse_policy(policy.format()) == policy
    single = parse_policy(f"witness w1 {w1}\nquorum w1\n")
    assert single.satisfied_by({"w1"}) and not single.satisfied_by({"w2"})


W1V, W2V = W1.verifier().vkey(), W2.verifier().vkey()
LOGV = LOG.verifier().vkey()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "no quorum"),
        ("quorum none\nquorum none\n", "second quorum"),
        ("quorum w1\n", "not defined"),
        (f"quorum w1\nwitness w1 {W1V}\n", "not defined"),
        (f"group g any w1\nwitness w1 {W1V}\nquorum g\n", "not defined before"),
        (f"witness w1 {W1V}\nwitness w1 {W2V}\nquorum w1\n", "defined twice"),
        (f"witness none {W1V}\nquorum none\n", "reserved"),
        (f"witness w1 {W1V}\ngroup g any w1 none\nquorum g\n", "not defined"),
        (f"witness w1 {W1V}\ngroup g 0 w1\nquorum g\n", "threshold"),
        (f"witness w1 {W1V}\ngroup g 2 w1\nquorum g\n", "threshold"),
        (f"witness w1 {W1V}\ngroup g 01 w1\nquorum g\n", "threshold"),
        (f"witness w1 {W1V}\ngroup g some w1\nquorum g\n", "threshold"),
        (f"witness w1 {W1V}\ngroup g any w1 w1\nquorum g\n", "member twice"),
        (f"witness w1 {W1V}\ngroup g any\nquorum w1\n", "not valid"),
        (f"witness w1 {W1V}\nwitness w2 {W1V}\nquorum w1\n", "witness public key"),
        (f"log {LOGV}\nlog {LOGV}\nquorum none\n", "log public key"),
        (f"witness w1 {LOGV}\nquorum w1\n", "not 0x04"),
        (f"log {W1V}\nquorum none\n", "not 0x01"),
        (f"log {LOGV[:-2]}xx\nquorum none\n", "verifier key"),
        ("monitor x\nquorum none\n", "'monitor' line"),
        ("quorum\n", "'quorum' line"),
        ("log\nquorum none\n", "'log' line"),
        (f"witness w1 {W1V} url extra\nquorum w1\n", "'witness' line"),
        ("quorum none\x0b\n", "control character"),
        ("quorum none", "newline"),
    ],
    ids=[
        "empty",
        "two-quorums",
        "undefined-quorum",
        "quorum-before-witness",
        "group-forward-reference",
        "duplicate-name",
        "none-as-name",
        "none-as-member",
        "k-zero",
        "k-above-n",
        "k-leading-zero",
        "k-word",
        "duplicate-member",
        "no-members",
        "duplicate-witness-key",
        "duplicate-log-key",
        "witness-with-log-key-type",
        "log-with-cosigner-key-type",
        "corrupt-vkey",
        "unknown-keyword",
        "quorum-without-name",
        "log-without-key",
        "too-many-items",
        "control-character",
        "no-final-newline",
    ],
)
def test_malformed_policies_are_refused(text: str, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        parse_policy(text)


def test_policy_errors_name_the_line() -> None:
    with pytest.raises(PolicyError, match="policy line 3"):
        parse_policy(f"# comment\nwitness w1 {W1V}\ngroup g 5 w1\nquorum g\n")


def test_policy_objects_are_validated_too() -> None:
    with pytest.raises(PolicyError, match="not defined"):
        TrustPolicy((), (), (PolicyGroup("g", "any", ("w",)),), "g")


# ---------------------------------------------------------------- policy on checkpoints

POLICY = parse_policy(
    f"log {LOG.verifier().vkey()}\n"
    f"witness w1 {W1.verifier().vkey()}\n"
    f"witness w2 {W2.verifier().vkey()}\n"
    f"witness w3 {W3.verifier().vkey()}\n"
    "group two 2 w1 w2 w3\n"
    "quorum two\n"
)


def _cosign(note: str, *witnesses: CosignatureSigner, at: int = 1_700_000_000) -> str:
    """Append cosignature lines as a log does with tlog-witness responses."""
    parsed = parse_note(note)
    body = parsed.text.encode()
    extra = (Signature(w.name, w.key_id, w.sign_at(body, at)) for w in witnesses)
    return Note(parsed.text, (*parsed.signatures, *extra)).format()


def test_policy_accepts_a_log_signed_quorum_cosigned_checkpoint() -> None:
    note = _cosign(sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT), LOG), W1, W3)
    verified = POLICY.verify_checkpoint(note, origin=ORIGIN)
    assert verified.checkpoint.size == 5
    assert verified.log == LOG.verifier()
    assert verified.cosigners == {"w1", "w3"}
    assert verified.timestamps == (("w1", 1_700_000_000), ("w3", 1_700_000_000))


def test_policy_refuses_missing_quorum_missing_log_and_bad_cosignature() -> None:
    signed = sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT), LOG)
    with pytest.raises(QuorumError, match="cosigned by w2: does not meet quorum 'two'"):
        POLICY.verify_checkpoint(_cosign(signed, W2))
    # Witnesses alone, no log signature.
    body = Checkpoint(ORIGIN, 5, ROOT).body()
    only_witnesses = sign_note(body, [W1, W2])
    with pytest.raises(QuorumError, match="not signed by a log"):
        POLICY.verify_checkpoint(only_witnesses)
    # Signed by the policy's log key, but the origin is another log's.
    other_origin = sign_note(Checkpoint("other.example/log", 5, ROOT).body(), [LOG])
    with pytest.raises(QuorumError, match="not signed by a log"):
        POLICY.verify_checkpoint(_cosign(other_origin, W1, W2))
    # A cosignature made for another tree size, pasted on this checkpoint.
    other = _cosign(sign_checkpoint(Checkpoint(ORIGIN, 6, ROOT), LOG), W1, W2)
    pasted = Note(parse_note(signed).text, parse_note(other).signatures).format()
    with pytest.raises(NoteSignatureError):
        POLICY.verify_checkpoint(pasted)
    stranger = Ed25519Signer.generate(ORIGIN)
    with pytest.raises(UnverifiedNoteError):
        POLICY.verify_checkpoint(sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT), stranger))


# ---------------------------------------------------------------- receipts

ENTRIES = [f"entry {i}".encode() for i in range(13)]
PERFECT = memory_perfect([leaf_hash(e) for e in ENTRIES])
TREE = Checkpoint(ORIGIN, len(ENTRIES), tree_root(len(ENTRIES), PERFECT))
SIGNED = _cosign(sign_checkpoint(TREE, LOG), W1, W2, W3)


def _receipt(index: int, extra: bytes | None = None) -> Receipt:
    path = tuple(inclusion_proof(index, TREE.size, PERFECT))
    return Receipt(index, path, SIGNED, extra)


def test_receipt_round_trip_and_verification() -> None:
    for index in range(TREE.size):
        receipt = _receipt(index)
        text = receipt.format()
        assert text.startswith(f"{RECEIPT_HEADER}\nindex {index}\n")
        assert text.endswith("\n\n" + SIGNED)
        assert parse_receipt(text) == receipt
        verified = verify_receipt(text, leaf_hash(ENTRIES[index]), POLICY, origin=ORIGIN)
        assert verified.checkpoint.cosigners == {"w1", "w2", "w3"}
        assert verified.receipt == receipt


def test_receipt_with_extra_data_in_the_spec_layout() -> None:
    receipt = _receipt(7, extra=b"age-v1.2.1-darwin-arm64.tar.gz")
    lines = receipt.format().split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    assert (
        lines[1] == "extra " + base64.b64encode(b"age-v1.2.1-darwin-arm64.tar.gz").decode()
    )
    assert lines[2] == "index 7"
    assert all(
        len(base64.b64decode(line)) == 32 for line in lines[3 : 3 + len(receipt.path)]
    )
    assert lines[3 + len(receipt.path)] == ""
    assert parse_receipt(receipt.format().encode()) == receipt
    verify_receipt(receipt, leaf_hash(ENTRIES[7]), POLICY)


def test_hostile_receipts() -> None:
    receipt = _receipt(5)
    leaf = leaf_hash(ENTRIES[5])
    short = Receipt(5, receipt.path[:-1], SIGNED)
    with pytest.raises(ProofError, match="must have 4 hashes, got 3"):
        verify_receipt(short.format(), leaf, POLICY)
    with pytest.raises(ProofError, match="gives root"):
        verify_receipt(receipt, leaf_hash(b"not the entry"), POLICY)
    with pytest.raises(ProofError, match="gives root"):
        verify_receipt(Receipt(4, receipt.path, SIGNED), leaf, POLICY)
    with pytest.raises(ProofError, match="not below tree size"):
        verify_receipt(Receipt(TREE.size, receipt.path, SIGNED), leaf, POLICY)
    tampered = SIGNED.replace(f"\n{TREE.size}\n", f"\n{TREE.size + 1}\n")
    with pytest.raises(NoteSignatureError):
        verify_receipt(Receipt(5, receipt.path, tampered), leaf, POLICY)
    one_witness = _cosign(sign_checkpoint(TREE, LOG), W3)
    with pytest.raises(QuorumError):
        verify_receipt(Receipt(5, receipt.path, one_witness), leaf, POLICY)
    with pytest.raises(CheckpointError, match="expected"):
        verify_receipt(receipt, leaf, POLICY, origin="other.example/log")


GOOD_RECEIPT = _receipt(5).format()
PATH0 = base64.b64encode(_receipt(5).path[0]).decode()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (GOOD_RECEIPT.replace("tlog-proof@v1", "tlog-proof@v2"), "does not start"),
        (GOOD_RECEIPT.replace("index 5", "index 05"), "leading zeros"),
        (GOOD_RECEIPT.replace("index 5", "index five"), "ASCII decimal"),
        (GOOD_RECEIPT.replace("index 5\n", ""), "no 'index"),
        (GOOD_RECEIPT.replace("index 5", "index  5"), "ASCII decimal"),
        (GOOD_RECEIPT.replace("index 5", "extra \nindex 5"), "extra data is empty"),
        (GOOD_RECEIPT.replace("index 5", "extra !!\nindex 5"), "not valid base64"),
        (GOOD_RECEIPT.replace(PATH0, PATH0[:-4]), "not valid base64|bytes"),
        (GOOD_RECEIPT.replace(PATH0, base64.b64encode(b"x" * 31).decode()), "31 bytes"),
        (GOOD_RECEIPT.replace(PATH0 + "\n", PATH0 + "\n\n"), "checkpoint"),
        (GOOD_RECEIPT.split("\n\n", 1)[0], "no empty line"),
        (GOOD_RECEIPT.split("\n\n", 1)[0] + "\n\n" + SPEC_BODY, "blank line|signature"),
        (GOOD_RECEIPT.replace("\n\n", "\n\n" + "x\n", 1), "size"),
        (b"\xff" + GOOD_RECEIPT.encode(), "UTF-8"),
    ],
    ids=[
        "wrong-header",
        "leading-zero-index",
        "word-index",
        "missing-index",
        "double-space-index",
        "empty-extra",
        "bad-extra",
        "bad-path-base64",
        "short-path-hash",
        "blank-line-inside-path",
        "no-checkpoint",
        "unsigned-checkpoint",
        "garbage-before-checkpoint",
        "not-utf8",
    ],
)
def test_malformed_receipts_are_refused(text: str | bytes, match: str) -> None:
    with pytest.raises(ReceiptError, match=match):
        parse_receipt(text)


def test_receipt_limits() -> None:
    too_long = Receipt(5, (ROOT,) * 65, SIGNED).format()
    with pytest.raises(ReceiptError, match="more than 64"):
        parse_receipt(too_long)
    with pytest.raises(ReceiptError, match="non-empty"):
        Receipt(5, (), SIGNED, extra=b"").format()


def test_receipt_errors_keep_note_errors_apart() -> None:
    assert not issubclass(ReceiptError, NoteError)
