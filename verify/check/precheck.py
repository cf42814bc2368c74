"""The checks of an entry that need nothing but its bytes, run in worker processes.

Most of a verifier's work on one entry depends on the entry alone: reading it
(strict JSON, RFC 8785 canonical form, the entry's fields), checking its
statement's shape (``verify.formats.statement.check_statement``), and the Ed25519
check of its signature. Only who had to sign, and what the rules allow,
depend on the entries before it (``verify.check.replay``). So for a large log the
main process sends each entry bundle to a worker (``verify.check.signatures``) with
the keys the registry has named so far, and the worker returns, per entry,
a ``Precheck``:

* where its statement's bytes lie, when the entry and its statement are well
  formed; otherwise None, and the replay reads the entry itself, so every
  refusal is the one it has always given, word for word;
* ``key`` and ``failure``: the public key the signature was checked under (the
  key the statement's ``key_id`` names among those sent) and why it did not
  verify, if it did not. The replay uses that outcome only when ``key`` is the
  very key it finds the signer must have used at that position; for any other
  key (one registered while the bundle was in flight, a key id shared by two
  keys) it checks the signature itself. Every signature is checked, under the
  key the replay decides.

``precheck`` is a pure function of the entry's bytes and the keys sent, so
where it runs changes nothing in what is found (docs/decisions.md, decision 36).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
from dataclasses import dataclass

from verify.errors import BadSignatureError
from verify.formats.entry import Entry, entry_of, read_entry, statement_span
from verify.formats.statement import check_statement, key_id, verify_signature

# What a worker found about one entry (see the module docstring): None when it
# left the entry to the replay, else (start, end, key, failure): the statement's
# span in the entry, the key its signature was checked under (None: not
# checked) and why it did not verify (None: it did, or was not checked). A
# plain tuple: it crosses back from the workers for every entry, and a tuple
# costs the replay's process a fraction of what an object costs to unpickle.
Precheck = tuple[int, int, bytes | None, str | None] | None
# The replay's process reads a prechecked entry again with the standard
# library's C reader alone: the worker proved it canonical, so this gives the
# very value the strict reader gives (``verify.formats.canonical._fast_canonical``).
_PLAIN = json.JSONDecoder()
MAX_SENT_KEYS = 4096  # registry keys sent with each bundle to the workers


@dataclass(frozen=True)
class BundleJob:
    """One entry bundle for a worker: its entries and the keys known so far
    (key id -> raw Ed25519 public key)."""

    entries: list[bytes]
    keys: dict[str, bytes]


def precheck(raw: bytes, keys: dict[str, bytes]) -> Precheck:
    """Read ``raw`` as the replay would, and check its signature under the key
    its key id names in ``keys``, if any."""
    if not raw:
        return None
    try:
        value = read_entry(raw)
        span = statement_span(raw, value)
        entry = entry_of(raw, value, span)
        check_statement(entry.signed.statement)
    except Exception:  # the replay reads it again and names the problem
        return None
    key = keys.get(str(entry.signed.statement["key_id"]))
    if key is None:
        return (*span, None, None)
    try:
        verify_signature(entry.signed, key)
    except BadSignatureError as exc:
        return (*span, key, str(exc))
    except Exception:  # e.g. an unusable key: the replay checks the signature
        return (*span, None, None)
    return (*span, key, None)


def precheck_bundle(job: BundleJob) -> list[Precheck]:
    """``precheck`` of each entry of one bundle (run in a worker process)."""
    return [precheck(raw, job.keys) for raw in job.entries]


def entry_from(raw: bytes, found: Precheck) -> Entry | None:
    """The ``Entry`` a worker read, or None when it left ``raw`` to the replay."""
    if found is None:
        return None
    value = _PLAIN.raw_decode(raw.decode("utf-8"))[0]  # canonical: nothing around it
    return entry_of(raw, value, (found[0], found[1]))


def signature_outcome(found: Precheck, key: bytes) -> tuple[bool, str | None]:
    """(checked, failure): whether a worker checked the signature under ``key``
    (the signer's, as the replay found it), and why it failed if it did."""
    if found is None or found[2] is None or found[2] != key:
        return False, None
    return True, found[3]


class KnownKeys:
    """The keys the registry has named so far, by key id, for the workers: the
    first ``MAX_SENT_KEYS`` (a signature under any other is checked once the
    replay names its key). A new dict whenever one is added: one sent to a
    worker is never changed."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}
        self.seen = 0  # how many of the registry's keys were looked at

    def sent(self, owners: dict[str, str]) -> dict[str, bytes]:
        """The keys to send, given the registry's ``owners`` (base64 key ->
        principal, in the order they were registered)."""
        if len(owners) == self.seen or len(self.keys) >= MAX_SENT_KEYS:
            return self.keys
        keys = dict(self.keys)
        added = itertools.islice(reversed(owners), len(owners) - self.seen)
        for encoded in reversed(list(added)):
            try:
                raw = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                continue
            if len(keys) < MAX_SENT_KEYS:
                keys.setdefault(key_id(raw), raw)
        self.keys, self.seen = keys, len(owners)
        return self.keys
