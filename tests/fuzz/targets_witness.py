"""The witness's add-checkpoint request and an export's access log as fuzz
targets.

``ledger.witness.Witness.add_checkpoint`` reads what any client POSTs to
``/add-checkpoint`` (C2SP tlog-witness): ``old <size>``, proof lines, a blank
line, the checkpoint note. It must answer every request with one of the
statuses tlog-witness names, never raise, and leave its state as it was
when it refuses (docs/decisions.md 18). An export's ``access-log.jsonl``
(verify/formats/bundle.py, verify/formats/access_chain.py) is the bundle's content: whatever
it holds, the chain check returns a result (a break, a finding), never raises.
"""

from __future__ import annotations

from pathlib import Path

from ledger.witness import Witness
from tests.fuzz.strategies_log import LOG, WITNESS
from tests.fuzz.targets_files import in_folder, short
from verify.formats.access_chain import check_chain
from verify.formats.bundle import Bundle

STATUSES = {200, 400, 403, 404, 409, 422}
MAX_ANSWER = 1_000  # characters: a refusal quotes the request only in short


def _answer(folder: Path, data: bytes) -> tuple[int, str, bool]:
    state = folder / "witness" / "state.json"
    witness = Witness(WITNESS, [LOG.verifier().vkey()], state)
    answer = witness.add_checkpoint(data)
    return answer.status, answer.body, state.exists()


def witness(data: bytes) -> bool:
    """True when the witness cosigns (200); a refusal writes no state."""
    found: tuple[int, str, bool] = in_folder({}, lambda folder: _answer(folder, data))
    status, body, saved = found
    assert status in STATUSES, (status, body[:200])
    assert len(body) <= MAX_ANSWER, (status, body[:200])
    assert saved == (status == 200), (status, body[:200])
    return status == 200


def access_log(data: bytes) -> bool:
    """True when the access log's chain holds, and then it holds every line."""
    result = in_folder(
        {"access-log.jsonl": data},
        lambda folder: check_chain(Bundle(folder).access_log() or []),
    )
    if not result.ok:
        short(ValueError(result.problem))
        return False
    assert result.size == data.count(b"\n"), (result.size, data[:200])
    return True
