"""kill -9 a writer, reopen the ledger, check it: one round at a time.

A round starts one writer process (tests/faults/crash_child.py) of a kind:

* ``cli``: a short loop of ``pmm submit DRAFT --as sec --json``, in one process;
* ``http``: ``pmm serve``, to which this process posts signed statements
  (``POST /statements``; two clients at once when the kill is random);
* ``import``: ``pmm import databank`` of a few Members of the shared World Bank
  file, resumed by the next import round after a kill, until it completes.

The writer dies by ``SIGKILL`` at a random moment (``random``), or at a crash
point armed in the child (crash_child.POINTS). Then ``check_ledger`` reopens
the ledger and holds it to every acknowledgement the run has seen
(tests/faults/crash_checks.py); the write in flight at a deterministic point
must be there after the restart exactly when its commit preceded the point,
and an import's batch is there whole or not at all.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.home import init_ledger, key_path, new_origin, read_config, resolve_key
from ledger.keys import KeyPair, with_approvals
from ledger.persistence import DATABASE_URL_VAR, HOME_VAR, Settings
from tests.faults.crash_checks import Ack, LogState, check_ledger, in_flight, pmm_verify
from tests.faults.crash_child import POINTS as CHILD_POINTS
from tests.faults.crash_child import SECRETARIAT
from tests.faults.crash_http import free_port, post_until_dead, wait_served
from tests.faults.crash_zygote import TIMEOUT, Writer, Zygote

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORK = ROOT / "api" / "frameworks" / "doing-business.toml"
CSV_FILE = (
    ROOT.parent / "shared" / "data" / "worldbank-doing-business" / "EASE_OF_DOING_BSNS.csv"
)
KINDS = ("cli", "http", "import", "pair")
POINTS = ("random", *CHILD_POINTS)
# Whether the write in flight must be in the log after the restart.
COMMITTED = {"mid_save": False} | {p: True for p in CHILD_POINTS if p != "mid_save"}
RANDOM_WINDOW = {
    "cli": 3.0,
    "http": 2.0,
    "import": 5.0,
    "pair": 3.0,
}  # seconds after "ready"
MEMBERS = ("KEN,ZAF", "AFG,BRA", "IND,FRA", "CHL,JPN")


@dataclass
class Figures:
    """What a run did and found (the long run prints these)."""

    rounds: int = 0
    kills: Counter[str] = field(default_factory=Counter)  # "kind point" -> kills
    finished_first: int = 0  # writers that finished before the kill came
    acknowledged: int = 0
    entries: int = 0
    receipts_rechecked: int = 0
    in_flight_present: int = 0  # unacknowledged writes found committed after restart
    in_flight_absent: int = 0
    imports_completed: int = 0
    verify_runs: int = 0
    data_lost: int = 0
    problems: list[str] = field(default_factory=list)


def prepare(settings: Settings) -> None:
    """A new ledger, a Secretariat principal ``sec`` and the Doing Business framework."""
    from api.cli.framework import apply_framework
    from intake.framework_file import load_framework

    ledger = init_ledger(settings, new_origin())
    try:
        sec = KeyPair.generate(SECRETARIAT)
        sec.save(key_path(settings, SECRETARIAT))
        admin, other = resolve_key(settings, "admin"), resolve_key(settings, "admin-2")
        body = dict(member=None, name="Secretariat", principal=SECRETARIAT,
                    public_key=sec.public_key, role="secretariat")  # fmt: skip
        version = ledger.stream_version("registry")
        statement = admin.statement(ledger.origin, "registry", "principal.registered",
                                    body, version)  # fmt: skip
        ledger.record(admin.sign(with_approvals(statement, [other])))
        apply_framework(ledger, sec, load_framework(FRAMEWORK))
    finally:
        ledger.close()


class CrashRun:
    """Rounds against one ledger; every check sees every acknowledgement so far."""

    def __init__(
        self, settings: Settings, scratch: Path, seed: int = 0, zygote: Zygote | None = None
    ) -> None:
        self.settings, self.scratch, self.rng = settings, scratch, random.Random(seed)
        self.acks: list[Ack] = []
        self.figures = Figures()
        self.import_cycle = 0
        prepare(settings)
        self.state: LogState = check_ledger(settings, [])
        self.origin = read_config(settings).origin
        self.own_zygote = zygote is None  # else the caller's, shared by many runs
        self.zygote = zygote or Zygote(self.env())

    def close(self) -> None:
        if self.own_zygote:
            self.zygote.close()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in (HOME_VAR, DATABASE_URL_VAR)}
        if self.settings.database_url:
            env[DATABASE_URL_VAR] = self.settings.database_url
        return env | {"PYTHONPATH": str(ROOT)}

    # -- one round -------------------------------------------------------------

    def round(self, kind: str, point: str, *, verify: bool = False) -> None:
        """One writer of ``kind`` killed at ``point``, then the checks. A ``pair``
        is a CLI writer with a second, unarmed one beside it, which goes on
        writing (and integrating) after the first is killed."""
        n = self.figures.rounds = self.figures.rounds + 1
        at, acks_file = self.rng.randint(1, 3), self.scratch / f"acks-{n}.jsonl"
        writes = at + 2 if point != "random" else 200
        opts: dict[str, object] = {"--acks": acks_file, "--at": at, "--tag": f"r{n}",
                                   "--writes": writes}  # fmt: skip
        if point != "random":
            opts["--point"] = point
        if kind == "http":
            opts["--port"] = free_port()
        elif kind == "import":
            members = MEMBERS[self.import_cycle % len(MEMBERS)]
            batch = self.rng.choice([25, 60])
            opts |= {"--csv": CSV_FILE, "--cycle": f"I{self.import_cycle}",
                     "--members": members, "--batch": batch}  # fmt: skip
        child = self._start("cli" if kind == "pair" else kind, opts)
        other_acks = self.scratch / f"acks-{n}-other.jsonl"
        other = None
        if kind == "pair":
            other = self._start("cli", {"--acks": other_acks, "--tag": f"r{n}o",
                                        "--writes": 8, "--new-streams": 1})  # fmt: skip
        posted: list[str] = []
        base = f"http://127.0.0.1:{opts.get('--port')}"
        try:
            self._wait_ready(child, acks_file)
            timer = threading.Timer(self.rng.uniform(0, RANDOM_WINDOW[kind]), child.kill)
            if kind == "http":
                wait_served(child, base)
            if point == "random":
                timer.start()
            if kind == "http":
                posted = self._post(base, n, at + 2 if point != "random" else 0)
                child.kill()
            child.wait(TIMEOUT)
            timer.cancel()
        finally:
            child.kill()
            code = child.wait(TIMEOUT)
            other_code = other.wait(TIMEOUT) if other is not None else 0
        if other_code or (other is not None and self._read_acks(other_acks)[0]):
            log = other.log.read_text()[-1500:] if other is not None else ""
            self.figures.problems.append(f"round {n}: the unarmed writer exited "
                                         f"{other_code} in the middle: {log}")  # fmt: skip
        self._after(kind, point, code, acks_file, posted, verify)

    def _start(self, kind: str, opts: dict[str, object]) -> Writer:
        argv = [kind, "--home", str(self.settings.home), "--scratch", str(self.scratch)]
        argv += [str(item) for pair in opts.items() for item in pair]
        log = self.scratch / f"child-{self.figures.rounds}-{kind}-{len(argv)}.log"
        return self.zygote.start(argv, log, self.env())

    def _wait_ready(self, child: Writer, acks_file: Path) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not (acks_file.exists() and b'"ready"' in acks_file.read_bytes()):
            if child.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the writer never started (exit {child.returncode})")
            time.sleep(0.05)

    def _after(
        self,
        kind: str,
        point: str,
        code: int,
        acks_file: Path,
        posted: list[str],
        verify: bool,
    ) -> None:
        figures, killed = self.figures, code == -signal.SIGKILL
        if killed:
            figures.kills[f"{kind} {point}"] += 1
        elif code == 0 and kind != "http":
            figures.finished_first += 1
        else:
            figures.problems.append(f"round {figures.rounds}: {kind} writer exited {code}")
        pending, done = self._read_acks(acks_file)
        pending += posted
        if verify:  # the crashed ledger as it is, before anything integrates it
            self.verify()
        state = check_ledger(self.settings, self.acks, deep=verify)
        figures.receipts_rechecked += state.receipts_checked
        figures.entries, figures.data_lost = state.size, state.lost
        present, absent = in_flight(state, pending)
        figures.in_flight_present += present
        figures.in_flight_absent += absent
        where = f"round {figures.rounds} ({kind} {point})"
        wrong = absent if COMMITTED.get(point) else present
        if killed and point in COMMITTED and pending and wrong:
            state_of = "absent" if absent else "present"
            figures.problems.append(
                f"{where}: the write in flight is {state_of} after restart"
            )
        if kind == "import" and present and absent:
            figures.problems.append(f"{where}: a batch is in the log in part")
        if done is not None:
            figures.imports_completed += 1
            self.import_cycle += 1
            self._check_import(done, state, where)
        figures.problems += [f"{where}: {p}" for p in state.problems]
        self.state = state

    def _read_acks(self, acks_file: Path) -> tuple[list[str], Any]:
        """The acks (added to the run's), the writes still in flight, the import's
        final report if it finished."""
        pending: list[str] = []
        done = None
        for line in acks_file.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by the kill acknowledges nothing
            if "attempt" in record:
                pending = list(record["attempt"])
            elif "ack" in record:
                pending = []
                self._ack(record["ack"])
            elif "done" in record:
                done = record["done"]
            elif "error" in record:
                self.figures.problems.append(f"{acks_file.name}: {record['error']}")
        return pending, done

    def _ack(self, found: dict[str, Any], entry: bytes | None = None) -> None:
        self.acks.append(
            Ack(
                found["stream"],
                int(found["stream_version"]),
                int(found["log_index"]),
                int(found["tree_size"]),
                found["entry_sha256"],
                found.get("receipt"),
                entry,
            )
        )
        self.figures.acknowledged += 1

    def _check_import(self, report: dict[str, Any], state: LogState, where: str) -> None:
        """A completed import (possibly resumed after kills): each of its values
        once, as many as its report says are recorded, none refused."""
        problems = self.figures.problems
        if report["exit_code"] or report["values"]["refused"]:
            problems.append(f"{where}: the import refused values: {report['values']}")
        for stream, counts in report["streams"].items():
            recorded = counts.get("submitted", 0) + counts.get("unchanged", 0)
            if state.versions.get(stream, 0) != recorded + 1:  # + assessment.opened
                problems.append(
                    f"{where}: {stream} holds {state.versions.get(stream)} "
                    f"entries, the import recorded {recorded} values"
                )

    def _post(self, base: str, n: int, limit: int) -> list[str]:
        """Post until the server dies: ``limit`` writes from one client, or (0)
        two clients at once; the signatures of the posts left unanswered."""
        lanes = [range(limit)] if limit else [range(0, 400, 2), range(1, 400, 2)]
        key = resolve_key(self.settings, SECRETARIAT)
        version = self.state.versions.get("framework", 0)
        found = post_until_dead(base, key, self.origin, f"r{n}", lanes, version)
        for body, entry in found.acks:
            self._ack(body, entry)
        self.figures.problems += found.problems
        return found.unanswered

    def verify(self) -> None:
        """``pmm verify`` on the live ledger must exit 0."""
        self.figures.verify_runs += 1
        self.figures.problems += pmm_verify(self.settings)
