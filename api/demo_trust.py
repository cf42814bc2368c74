"""The last steps of ``pmm demo``: an integrity officer's restricted read, sealed
into the log, and a key the admins recover (docs/decisions.md, 15 and 16)."""

from __future__ import annotations

from api import demo_data
from api.demo_kit import OFFICER, YEAR, Demo
from ledger.home import key_path
from ledger.keys import KeyPair
from ledger.persistence import Settings
from projections.access import Reader, log_restricted_read
from projections.exports import history_frame, restricted_names


def officer_reads(demo: Demo) -> None:
    """The integrity officer reads Kenya's value history, restricted values
    included; the read is in the access log, and the next write seals it."""
    member = demo_data.MEMBERS[0].code
    frame = history_frame(demo.ledger, member, YEAR, "restricted")
    reader = Reader(OFFICER, "integrity_officer", None, "demo")
    command = f"pmm history --member {member} --year {YEAR} --as {OFFICER}"
    log_restricted_read(
        demo.ledger.access_log, reader, command, member, restricted_names(frame)
    )


def recover_a_key(demo: Demo, settings: Settings) -> None:
    """Mauritius's NCP lost its key: two admins give it a new one. The old key
    signs nothing after; the verifier reports the recovery."""
    ncp = f"ncp-{demo_data.MEMBERS[2].code.lower()}"
    fresh = KeyPair.generate(ncp)
    body = {
        "principal": ncp,
        "public_key": fresh.public_key,
        "reason": "The NCP's laptop was stolen; identity confirmed by the WCO "
        "regional office.",
    }
    demo.one("admin", "registry", "principal.key_recovered", body, approvers=("admin-2",))
    path = key_path(settings, ncp)
    path.unlink()
    fresh.save(path)
    demo.keys[ncp] = fresh
