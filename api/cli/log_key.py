"""``pmm log-key``: hand the log's checkpoint key over to a new one.

docs/decisions.md 33, docs/key-compromise.md. ``rotate`` makes the new key
(HOME/keys/log-N.key, or reuses one made by an earlier ``--draft`` that the
log never had), has the current log key sign the hand-over of the log at its
size now, and records ``log.key_rotated`` with the admins' threshold: the
admin who runs it (``--as``) and the approvals of others (``--approve KEY``,
or ``--approval FILE`` from ``pmm approve`` of the ``--draft`` this prints).
Nothing else may be written between the draft and the record: the hand-over
names the log's size. ``show`` prints the chain of log keys.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from api.cli.common import As, Home, Json, opened_ledger, out
from api.cli.principal import Draft, Reason, registry_change
from api.cli.statements import Approval, Approve
from ledger.application import Ledger
from ledger.keys import KeyPair
from ledger.log_keys import (
    LOG_KEY,
    handover_body,
    load_log_keys,
    log_key_changes,
    next_key_path,
    vkey_of,
)

log_key_app = typer.Typer(
    help="The log's checkpoint key: show it, hand it over to a new one.",
    no_args_is_help=True,
)


def _new_key(ledger: Ledger) -> tuple[KeyPair, Path | None]:
    """A log-N.key the log never had (an earlier draft's), else a new one; with
    the path of a file this run made."""
    keys_dir = ledger.settings.home / "keys"
    changes = log_key_changes(ledger)
    used = {ledger.log_vkey()} | {c.old_key for c in changes} | {c.new_key for c in changes}
    _, later = load_log_keys(keys_dir)
    for key in later:
        if vkey_of(ledger.origin, key) not in used:
            return key, None
    key = KeyPair.generate(LOG_KEY)
    path = next_key_path(keys_dir)
    key.save(path)
    return key, path


@log_key_app.command(
    "rotate",
    help="Hand the log over to a new key: signed by the current log key, approved by the "
    "admins' threshold. Later checkpoints are signed by the new key.",
)
def rotate(
    as_key: As,
    reason: Reason,
    approve: Approve = None,
    approval: Approval = None,
    draft: Draft = False,
    home: Home = None,
    as_json: Json = False,
) -> None:
    with opened_ledger(home) as ledger:
        new, made = _new_key(ledger)
        ledger.log_keys.add(new)
        if made is not None:
            sys.stderr.write(f"new log key {vkey_of(ledger.origin, new)} in {made}\n")
        current = KeyPair(LOG_KEY, ledger.sequencer.signer.private_key)
        body = handover_body(ledger, current, new, reason)
        registry_change(
            ledger, home, as_key, "log.key_rotated", body, as_json, approve, approval, draft
        )


@log_key_app.command("show")
def show(home: Home = None, as_json: Json = False) -> None:
    """The log key that signs now, and every hand-over before it."""
    with opened_ledger(home) as ledger:
        changes = log_key_changes(ledger)
        chain = [
            {"at": c.body["size"], "old_key": c.old_key, "new_key": c.new_key}
            for c in changes
        ]
        current = ledger.log_vkey()
    if as_json:
        sys.stdout.write(json.dumps({"current": current, "hand_overs": chain}) + "\n")
        return
    out.print(f"log key: {current}", highlight=False, soft_wrap=True)
    for change in chain:
        out.print(
            f"handed over at entry {change['at']}: {change['old_key']} -> "
            f"{change['new_key']}",
            highlight=False,
            soft_wrap=True,
        )
