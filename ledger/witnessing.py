"""The ledger's side of witnessing: send each new checkpoint to the witnesses
of the tlog-policy, attach the cosignatures they return, and say whether the
quorum is met (DESIGN.md §4; FORMATS.md §2.4, §2.6).

A witness that is down, slow or refuses leaves the checkpoint without its
cosignature: the checkpoint is then reported as below quorum, never hidden
or held back. A 409 answer tells the size the witness last cosigned; the
client retries once from that size with the matching consistency proof.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from verify.errors import VerifyError
from verify.note import Note, parse_note, parse_signature_lines
from verify.policy_text import TrustPolicy

TIMEOUT_SECONDS = 5.0
# What a witness's refusal means for the operator (docs/backup.md).
ROLLED_BACK = (
    "the log was rolled back (restored from an older backup?); the witness will "
    "never cosign it again"
)
FORKED = (
    "this log does not extend what the witness cosigned: it forked (restored from "
    "an older backup, then written to?)"
)


@dataclass(frozen=True)
class Witnessed:
    note: str  # the checkpoint with the log signature and every cosignature
    cosigners: frozenset[str]
    quorum_met: bool
    refusals: tuple[str, ...]


class WitnessClient:
    def __init__(self, policy: TrustPolicy, proof: Callable[[int, int], list[bytes]]):
        self.policy = policy
        self.proof = proof  # consistency proof (old, new) from the sequencer
        self.cosigned: dict[str, int] = {}  # witness name -> size it last cosigned

    def witness(self, note: str) -> Witnessed:
        parsed = parse_note(note)
        size = int(parsed.text.split("\n")[1])
        signatures = list(parsed.signatures)
        names: set[str] = set()
        refusals: list[str] = []
        for witness in self.policy.witnesses:
            if witness.url is None:
                continue
            try:
                line = self._ask(witness.name, witness.url, parsed.text, note, size)
                cosignature = parse_signature_lines(line)[0]
                verifier = witness.verifier
                if cosignature.key_id != verifier.key_id or not verifier.verify(
                    parsed.text.encode(), cosignature.signature
                ):
                    raise VerifyError("its cosignature does not verify under its key")
            except (OSError, VerifyError, ValueError) as exc:
                refusals.append(f"{witness.name}: {exc}")
                continue
            self.cosigned[witness.name] = size
            signatures.append(cosignature)
            names.add(witness.name)
        full = Note(parsed.text, tuple(signatures)).format()
        return Witnessed(
            full, frozenset(names), self.policy.satisfied_by(names), tuple(refusals)
        )

    def _ask(self, name: str, url: str, body: str, note: str, size: int) -> str:
        old = self.cosigned.get(name, 0)
        for _ in range(2):
            proof = self.proof(old, size) if 0 < old < size else []
            request = (
                f"old {old}\n"
                + "".join(base64.b64encode(h).decode() + "\n" for h in proof)
                + "\n"
                + note
            )
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(
                        url.rstrip("/") + "/add-checkpoint", request.encode(), method="POST"
                    ),
                    timeout=TIMEOUT_SECONDS,
                ) as response:
                    return str(response.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                answer = exc.read().decode("utf-8", "replace").strip()
                if exc.code == 422 and "consistency proof" in answer:
                    raise ValueError(f"HTTP 422: {answer}: {FORKED}") from None
                if exc.code != 409 or not answer.isdigit():
                    raise ValueError(f"HTTP {exc.code}: {answer}") from None
                seen = int(answer)
                if seen > size:
                    raise ValueError(
                        f"it cosigned a checkpoint of size {seen}, larger than this "
                        f"log's {size}: {ROLLED_BACK}"
                    ) from None
                if seen == old:  # it was sent its own size, and still refuses
                    raise ValueError(
                        f"it cosigned another tree of size {seen}: {FORKED}"
                    ) from None
                old = seen
        raise ValueError(f"witness keeps answering 409 (last size {old})")
