"""``pmm principal``: the registry — who may sign, with which key, in which role.

Registering, revoking and recovering a principal need the threshold of admins
the genesis names (docs/decisions.md, decision 15): the admin who runs the
command (``--as``) and the approvals of others — ``--approve KEY`` for a key
at hand, or ``--approval FILE`` made elsewhere with ``pmm approve`` from the
``--draft`` this command prints. A key rotation is signed by the principal
itself, with its current key: nobody else can move it to a key they hold.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli.common import As, Home, Json, fail, key_for, opened_ledger, out
from api.cli.statements import Approval, Approve, record, sign_draft
from ledger.application import Ledger
from ledger.keys import KeyPair

principal_app = typer.Typer(
    help="Register, rotate, recover and revoke principals.", no_args_is_help=True
)
Draft = Annotated[
    bool,
    typer.Option(
        "--draft",
        help="Print the draft (with its expected version) for `pmm approve`; record none.",
    ),
]
PublicKey = Annotated[str, typer.Option(help="Key file or base64 public key.")]
Reason = Annotated[str, typer.Option(help="Why, for the record.")]


def _public_key(value: str) -> str:
    path = Path(value)
    return KeyPair.load(path).public_key if path.exists() else value


def _registry_change(
    home: Path | None,
    as_key: str,
    kind: str,
    body: dict[str, Any],
    as_json: bool,
    approve: list[str] | None = None,
    approval: list[Path] | None = None,
    draft_only: bool = False,
) -> None:
    with opened_ledger(home) as ledger:
        registry_change(
            ledger, home, as_key, kind, body, as_json, approve, approval, draft_only
        )


def registry_change(
    ledger: Ledger,
    home: Path | None,
    as_key: str,
    kind: str,
    body: dict[str, Any],
    as_json: bool,
    approve: list[str] | None,
    approval: list[Path] | None,
    draft_only: bool,
) -> None:
    """Print the draft of a registry change for ``pmm approve``, or sign it with
    the approvals and record it."""
    draft = {
        "type": kind,
        "stream": "registry",
        "body": body,
        "expected_version": ledger.stream_version("registry"),
    }
    if draft_only:
        sys.stdout.write(json.dumps(draft, indent=2, sort_keys=True) + "\n")
        return
    key = key_for(home, as_key)
    signed = sign_draft(ledger, home, key, draft, Path("<command line>"), approve, approval)
    record(ledger, signed, as_json)


@principal_app.command("add")
def add(
    principal: str,
    as_key: As,
    role: Annotated[
        str, typer.Option(help="admin|secretariat|ncp|peer_reviewer|integrity_officer")
    ],
    public_key: PublicKey,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    member: Annotated[str | None, typer.Option(help="ISO alpha-3, NCPs only.")] = None,
    approve: Approve = None,
    approval: Approval = None,
    draft: Draft = False,
    home: Home = None,
    as_json: Json = False,
) -> None:
    """Register PRINCIPAL with a role (and Member, for an NCP): the admins' threshold."""
    body = {
        "member": member,
        "name": name or principal,
        "principal": principal,
        "public_key": _public_key(public_key),
        "role": role,
    }
    _registry_change(
        home, as_key, "principal.registered", body, as_json, approve, approval, draft
    )


@principal_app.command(
    "rotate",
    help="Replace PRINCIPAL's key, signed with its current key (--as); the old key signs "
    "nothing from now on. A lost key is replaced by `pmm principal recover`.",
)
def rotate(
    principal: str,
    as_key: As,
    public_key: PublicKey,
    reason: Reason,
    home: Home = None,
    as_json: Json = False,
) -> None:
    body = {"principal": principal, "public_key": _public_key(public_key), "reason": reason}
    _registry_change(home, as_key, "principal.key_rotated", body, as_json)


@principal_app.command(
    "recover",
    help="Give PRINCIPAL a new key when it lost its own: the admins' threshold. Every "
    "recovery is reported by the verifier.",
)
def recover(
    principal: str,
    as_key: As,
    public_key: PublicKey,
    reason: Reason,
    approve: Approve = None,
    approval: Approval = None,
    draft: Draft = False,
    home: Home = None,
    as_json: Json = False,
) -> None:
    body = {"principal": principal, "public_key": _public_key(public_key), "reason": reason}
    _registry_change(
        home, as_key, "principal.key_recovered", body, as_json, approve, approval, draft
    )


@principal_app.command(
    "revoke",
    help="Revoke PRINCIPAL: none of its keys sign anything from now on. The admins' "
    "threshold.",
)
def revoke(
    principal: str,
    as_key: As,
    reason: Reason,
    approve: Approve = None,
    approval: Approval = None,
    draft: Draft = False,
    home: Home = None,
    as_json: Json = False,
) -> None:
    body = {"principal": principal, "reason": reason}
    _registry_change(
        home, as_key, "principal.revoked", body, as_json, approve, approval, draft
    )


@principal_app.command("list")
def list_principals(home: Home = None, as_json: Json = False) -> None:
    """List registered principals."""
    with opened_ledger(home) as ledger:
        registry = ledger.registry()
    if registry is None:
        fail("the ledger has no registry yet", 2)
    rows = [
        {**dataclasses.asdict(p), "revoked": p.revoked}
        for p in registry.principals.values()
    ]
    if as_json:
        out.print_json(json.dumps({"threshold": registry.threshold, "principals": rows}))
        return
    table = Table("principal", "role", "member", "status", "name")
    for row in rows:
        status = "revoked" if row["revoked"] else "active"
        if row["recovered_at"]:
            status += f", recovered {len(row['recovered_at'])}x"
        table.add_row(row["id"], row["role"], row["member"] or "", status, row["name"])
    out.print(table)
    out.print(f"{registry.threshold} admin(s) must agree to change the registry")
