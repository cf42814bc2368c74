"""``pmm witness``: run a C2SP tlog-witness as its own process, with its own
key and state file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import fail, out
from api.witness_server import make_server
from ledger.errors import ConfigurationError
from ledger.keys import KeyPair
from ledger.witness import Witness
from verify.errors import VerifyError
from verify.formats.cosignature import CosignatureSigner

witness_app = typer.Typer(
    help="A witness that cosigns consistent checkpoints.", no_args_is_help=True
)


def _signer(key: Path) -> CosignatureSigner:
    try:
        pair = KeyPair.load(key)
        return CosignatureSigner(pair.principal, pair.private_key)
    except (ConfigurationError, VerifyError) as exc:
        fail(str(exc), 2)


@witness_app.command("keygen")
def keygen(name: str, out_file: Annotated[Path, typer.Option("--out")]) -> None:
    """Make the witness key NAME; print its cosigner verifier key (type 0x04)."""
    pair = KeyPair.generate(name)
    try:
        pair.save(out_file)
    except ConfigurationError as exc:
        fail(str(exc), 2)
    out.print(_signer(out_file).verifier().vkey(), highlight=False, soft_wrap=True)


@witness_app.command("serve")
def serve(
    key: Annotated[Path, typer.Option(help="The witness's key file.")],
    state: Annotated[Path, typer.Option(help="The witness's state file (JSON).")],
    log: Annotated[list[str], typer.Option(help="Verifier key of a log to witness.")],
    listen: Annotated[str, typer.Option(help="HOST:PORT")] = "127.0.0.1:7380",
) -> None:
    """Serve POST /add-checkpoint (C2SP tlog-witness) until interrupted."""
    shown, _, port = listen.rpartition(":")
    shown = shown or "127.0.0.1"
    host = shown.strip("[]")  # an IPv6 address is written [::1]:7380
    try:
        witness = Witness(_signer(key), log, state)
        server, sock = make_server(witness, host, int(port))
    except (VerifyError, ValueError, OSError) as exc:
        fail(f"cannot start the witness: {exc}", 2)
    out.print(
        f"witness {witness.signer.name} on http://{shown}:{sock.getsockname()[1]}",
        highlight=False,
    )
    sys.stdout.flush()
    with sock:
        server.run(sockets=[sock])  # until SIGINT or SIGTERM
