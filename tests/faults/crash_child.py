"""A writer to be killed: the real ``pmm`` commands, run in this process, with at
most one crash point armed. crash_harness.py starts one per
round, forked by crash_zygote.py (or ``python -m tests.faults.crash_child``).

A crash point wraps a real function of the ledger, here and in no production
code, so that the ``--at``-th save of this process ends in ``SIGKILL`` at:

* ``mid_save``: the events are inserted, their transaction not yet committed;
* ``after_commit``: the events are committed, the sequencer has not run;
* ``mid_integration``: leaves and subtree hashes inserted, no checkpoint, no commit;
* ``after_integration``: the log holds the entry, the writer has not returned;
* ``after_record``: ``Ledger.record_batch`` returned; no receipt, no answer yet.

Without ``--point`` the parent kills at a random moment instead. Every line this
process appends to the ``--acks`` file is fsynced before it goes on: ``ready``,
``attempt`` (what it is about to write), ``ack`` (a receipt the writer returned
to its caller: the CLI's stdout, or ``record_batch``'s return for an import),
``done`` (an import's final report) and ``error``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

POINTS = (
    "mid_save",
    "after_commit",
    "mid_integration",
    "after_integration",
    "after_record",
)
SECRETARIAT = "sec"  # the key name the harness registers in the home folder
OUTCOME = "DB.START"  # an expected outcome of api/frameworks/doing-business.toml


class Acks:
    """The acknowledgement file: one JSON object a line, each fsynced."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def write(self, **record: Any) -> None:
        os.write(self.fd, (json.dumps(record) + "\n").encode())
        os.fsync(self.fd)


def draft_for(tag: str, n: int) -> tuple[dict[str, Any], str]:
    """Write ``n`` of a round: a KPI on the (long) framework stream, or a new
    assessment stream; and its mark, which names it in the log."""
    if n % 2 == 0:
        code = f"CR.{tag}.{n}"
        body = {
            "applies_from": 2015,
            "code": code,
            "direction": "none",
            "disclosure": "public",
            "name": f"Crash test KPI {code}",
            "outcome": OUTCOME,
            "scoring_method": {"best": "100", "method": "linear", "worst": "0"},
            "unit": "hours",
            "value_kind": "number",
        }
        return {"body": body, "stream": "framework", "type": "kpi.defined"}, code
    cycle = f"{tag}x{n}"
    body = {"cycle": cycle, "member": "KEN", "reference_year": 2022}
    draft = {"body": body, "stream": f"assessment/KEN/{cycle}", "type": "assessment.opened"}
    return draft, cycle


def mark_of(entry_type: str, body: dict[str, Any]) -> str | None:
    """The mark ``draft_for`` gave an entry (None for any other entry)."""
    if entry_type == "kpi.defined":
        return str(body.get("code"))
    return str(body.get("cycle")) if entry_type == "assessment.opened" else None


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str, at: int) -> None:
    """Wrap the real functions so that save number ``at`` dies at ``point``."""
    from eventsourcing.postgres import PostgresApplicationRecorder
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    from ledger.application import Ledger
    from ledger.log_store import Cursor
    from ledger.sequencer import Sequencer

    saves = [0]

    def wrap(
        owner: Any, name: str, here: str, when: Callable[..., bool] | None = None
    ) -> None:
        original = getattr(owner, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if here == "after_commit":  # Ledger.save: count every save
                saves[0] += 1
            result = original(*args, **kwargs)
            if point == here and saves[0] == at and (when is None or when(*args)):
                _die()
            return result

        setattr(owner, name, wrapped)

    wrap(Ledger, "save", "after_commit")
    # Inside save's transaction, after the INSERT (SQLite; PostgreSQL).
    wrap(SQLiteApplicationRecorder, "_insert_events", "mid_save")
    wrap(PostgresApplicationRecorder, "_fetch_ids_after_insert_events", "mid_save")
    wrap(Cursor, "executemany", "mid_integration", lambda _, sql, *__: "log_nodes" in sql)
    wrap(Sequencer, "integrate", "after_integration")
    wrap(Ledger, "record_batch", "after_record")


def _pmm(*args: str) -> tuple[int, str]:
    """Run one ``pmm`` command in this process: (exit code, stdout)."""
    from api.cli import app

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = app(list(args), standalone_mode=False)
    return int(code or 0), buffer.getvalue()


def cli_loop(ns: argparse.Namespace, acks: Acks) -> None:
    """``pmm submit DRAFT --as sec --json``, ``--writes`` times."""
    for i in range(ns.writes):
        n = 2 * i + 1 if ns.new_streams else i  # odd writes open new streams only
        draft, mark = draft_for(ns.tag, n)
        path = Path(ns.scratch) / f"draft-{ns.tag}-{n}.json"
        path.write_text(json.dumps(draft))
        acks.write(attempt=[mark])
        code, stdout = _pmm(
            "submit", str(path), "--as", SECRETARIAT, "--home", ns.home, "--json"
        )
        if code:
            acks.write(error=f"pmm submit exited {code}: {stdout}")
            return
        acks.write(ack=json.loads(stdout))


def import_run(ns: argparse.Namespace, acks: Acks) -> None:
    """``pmm import databank``; every batch it records is acknowledged."""
    from ledger.application import Ledger

    original = Ledger.record_batch

    def acknowledged(self: Ledger, statements: Any) -> Any:
        statements = list(statements)
        acks.write(attempt=[s.signature for s in statements])
        recorded = original(self, statements)
        if not recorded:
            return recorded
        last = recorded[-1]
        receipt = self.receipt(last.log_index, last.tree_size)
        for n, one in enumerate(recorded):
            acks.write(
                ack={**one.__dict__, "receipt": receipt if n == len(recorded) - 1 else None}
            )
        return recorded

    Ledger.record_batch = acknowledged  # type: ignore[method-assign]
    code, stdout = _pmm(
        "import",
        "databank",
        ns.csv,
        "--as",
        SECRETARIAT,
        "--cycle",
        ns.cycle,
        "--year",
        "2019",
        "--members",
        ns.members,
        "--batch-size",
        str(ns.batch),
        "--home",
        ns.home,
        "--json",
    )
    if code:
        acks.write(error=f"pmm import exited {code}: {stdout}")
        return
    acks.write(done=json.loads(stdout))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["cli", "http", "import"])
    parser.add_argument("--home", required=True)
    parser.add_argument("--acks", required=True)
    parser.add_argument("--point", choices=POINTS)
    parser.add_argument("--at", type=int, default=1)
    parser.add_argument("--tag", default="r0")
    parser.add_argument("--writes", type=int, default=4)
    parser.add_argument("--new-streams", type=int, default=0, help="1: no framework KPIs")
    parser.add_argument("--scratch", default=".")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--csv", default="")
    parser.add_argument("--cycle", default="I0")
    parser.add_argument("--members", default="KEN")
    parser.add_argument("--batch", type=int, default=50)
    ns = parser.parse_args(argv)
    import api.cli  # noqa: F401  (imported before "ready": the slow part)

    if ns.point:
        arm(ns.point, ns.at)
    acks = Acks(ns.acks)
    acks.write(ready=os.getpid())
    if ns.kind == "cli":
        cli_loop(ns, acks)
    elif ns.kind == "import":
        import_run(ns, acks)
    else:
        _pmm("serve", "--home", ns.home, "--port", str(ns.port))


if __name__ == "__main__":
    main()
