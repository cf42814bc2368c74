"""The checks of an entry that need nothing but its bytes, run in worker processes.

Most of a verifier's work on one entry depends on the entry alone: reading it
(strict JSON, RFC 8785 canonical form, the entry's fields), checking its
statement's shape (``verify.statement.check_statement``), and the Ed25519
check of its signature. Only who had to sign, and what the rules allow,
depend on the entries before it (``verify.replay``). So for a large log the
main process sends each entry bundle to a worker (``verify.signatures``) with
the keys the registry has named so far, and the worker returns, per entry,
a ``Precheck``:

* ``value`` and ``span``: the parsed entry and where its statement's bytes lie,
  when the entry and its statement are well formed; otherwise None, and the
  replay reads the entry itself, so every refusal is the one it has always
  given, word for word;
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

from dataclasses import dataclass
from typing import Any

from verify.errors import BadSignatureError
from verify.statement import (
    Entry,
    check_statement,
    entry_of,
    read_entry,
    statement_span,
    verify_signature,
)


@dataclass(frozen=True)
class Precheck:
    """What a worker found about one entry (see the module docstring)."""

    value: dict[str, Any] | None = None
    span: tuple[int, int] = (0, 0)
    key: bytes | None = None
    failure: str | None = None


NOT_READ = Precheck()  # left to the replay: unreadable, malformed, or empty


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
        return NOT_READ
    try:
        value = read_entry(raw)
        span = statement_span(raw, value)
        entry = entry_of(raw, value, span)
        check_statement(entry.signed.statement)
    except Exception:  # noqa: BLE001 - the replay reads it again and names the problem
        return NOT_READ
    key = keys.get(str(entry.signed.statement["key_id"]))
    if key is None:
        return Precheck(value, span)
    try:
        verify_signature(entry.signed, key)
    except BadSignatureError as exc:
        return Precheck(value, span, key, str(exc))
    except Exception:  # noqa: BLE001 - e.g. an unusable key: the replay checks it
        return Precheck(value, span)
    return Precheck(value, span, key)


def precheck_bundle(job: BundleJob) -> list[Precheck]:
    """``precheck`` of each entry of one bundle (run in a worker process)."""
    return [precheck(raw, job.keys) for raw in job.entries]


def entry_from(raw: bytes, found: Precheck) -> Entry | None:
    """The ``Entry`` a worker read, or None when it left ``raw`` to the replay."""
    if found.value is None:
        return None
    return entry_of(raw, found.value, found.span)
