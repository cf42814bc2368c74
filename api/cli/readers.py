"""Who reads from the command line: ``--as KEY`` and ``--audience`` (decision 26).

The command line reads as a principal, like the HTTP API: ``--as KEY`` names a
key file (or a key name in HOME/keys) whose principal is registered, not
revoked, and holds that key now; its role and Member decide what it may see
(``projections/access.py``), and every read that shows a ``restricted`` value
is written to the access log first, under the principal (token ``cli``).
Without ``--as`` the reader is anonymous: ``public`` values only.
``--audience`` narrows what is shown (to see what an anonymous reader would,
say); it never widens it.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import fail, key_for
from ledger.application import Ledger
from projections.access import ANONYMOUS, Reader, log_restricted_read
from projections.disclosure import AUDIENCES

As = Annotated[
    str | None,
    typer.Option("--as", help="Read as this principal (key file or name in HOME/keys)."),
]
Audience = Annotated[
    str | None,
    typer.Option(
        "--audience",
        help="Show at most this level: public, wco, restricted.",
        show_default="what --as may see",
    ),
]
CLI_TOKEN = "cli"


def reader_for(ledger: Ledger, home: Path | None, as_key: str | None) -> Reader:
    """The principal whose key ``as_key`` is, checked against the registry now."""
    if as_key is None:
        return ANONYMOUS
    key = key_for(home, as_key)
    registry = ledger.registry()
    principal = registry.get(key.principal) if registry is not None else None
    if principal is None or principal.revoked:
        fail(f"--as {as_key}: {key.principal!r} is not an active principal here", 2)
    if principal.public_key != key.public_key:
        fail(f"--as {as_key}: not the current key of {key.principal!r}", 2)
    return Reader(principal.id, principal.role, principal.member, CLI_TOKEN)


def audience_of(reader: Reader, member: str, requested: str | None) -> str:
    """What to show for ``member``: the reader's audience, or less if asked."""
    allowed = reader.audience(member)
    if requested is None:
        return allowed
    if requested not in AUDIENCES:
        fail(f"--audience {requested!r}: choose one of {', '.join(AUDIENCES)}", 2)
    if AUDIENCES.index(requested) > AUDIENCES.index(allowed):
        who = f"{reader.principal!r} ({reader.role})" if reader.principal else "anonymous"
        hint = "" if reader.principal else "; read as a principal with --as KEY"
        fail(
            f"--audience {requested}: {who} may see at most {allowed!r} for {member}{hint}",
            2,
        )
    return requested


def log_cli_read(ledger: Ledger, reader: Reader, member: str, shown: list[str]) -> None:
    """The access record of a command-line read that shows restricted values."""
    command = "pmm " + shlex.join(sys.argv[1:])
    log_restricted_read(ledger.access_log, reader, command, member, shown)
