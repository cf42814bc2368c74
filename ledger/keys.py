"""Key files and statement building on the signer's side.

A key file is JSON readable by its owner only (mode 0600) holding the
principal id and the Ed25519 seed. Statements are built here with a fresh
nonce and issue time, then signed with ``verify.formats.statement.sign`` (the bytes
are defined there, not here).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.errors import ConfigurationError
from ledger.files import private_folder
from verify.formats.statement import (
    STATEMENT_FORMAT,
    SignedStatement,
    approval_input,
    format_timestamp,
    key_id,
    sign,
)

KEY_FORMAT = "pmm-key/v1"


@dataclass(frozen=True)
class KeyPair:
    """A principal's signing key."""

    principal: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, principal: str) -> KeyPair:
        return cls(principal, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, principal: str, seed: bytes) -> KeyPair:
        return cls(principal, Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes_raw()

    @property
    def public_key(self) -> str:
        """Base64 of the raw 32-byte public key, as statements carry it."""
        return base64.b64encode(self.public_bytes).decode("ascii")

    @property
    def key_id(self) -> str:
        return key_id(self.public_bytes)

    def statement(
        self,
        origin: str,
        stream: str,
        statement_type: str,
        body: dict[str, Any],
        expected_version: int,
        issued_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A statement by this key's principal, ready to sign."""
        return {
            "body": body,
            "expected_version": expected_version,
            "format": STATEMENT_FORMAT,
            "issued_at": format_timestamp(issued_at or datetime.now(UTC)),
            "key_id": self.key_id,
            "nonce": secrets.token_urlsafe(16),
            "origin": origin,
            "principal": self.principal,
            "stream": stream,
            "type": statement_type,
        }

    def sign(self, statement: dict[str, Any]) -> SignedStatement:
        return sign(statement, self.private_key)

    def approve(self, statement: dict[str, Any]) -> dict[str, str]:
        """This admin's approval of ``statement`` (docs/statements.md, approvals)."""
        signature = self.private_key.sign(approval_input(statement))
        return {
            "key_id": self.key_id,
            "principal": self.principal,
            "signature": base64.b64encode(signature).decode("ascii"),
        }

    def save(self, path: Path) -> None:
        """Write the key file, readable by its owner only; never overwrite."""
        data = {
            "format": KEY_FORMAT,
            "key_id": self.key_id,
            "principal": self.principal,
            "private_key": base64.b64encode(self.private_key.private_bytes_raw()).decode(
                "ascii"
            ),
            "public_key": self.public_key,
        }
        private_folder(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ConfigurationError(
                f"{path} exists; refusing to overwrite a key"
            ) from None
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")

    @classmethod
    def load(cls, path: Path) -> KeyPair:
        try:
            data = json.loads(path.read_text())
            seed = base64.b64decode(data["private_key"], validate=True)
            pair = cls.from_seed(str(data["principal"]), seed)
        except FileNotFoundError:
            raise ConfigurationError(f"key file {path} does not exist") from None
        except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ConfigurationError(f"{path} is not a PMM key file: {exc}") from None
        if data.get("public_key") not in (None, pair.public_key):
            raise ConfigurationError(f"{path}: public_key does not match private_key")
        return pair


def with_approvals(statement: dict[str, Any], approvers: list[KeyPair]) -> dict[str, Any]:
    """``statement`` with ``body.approvals`` by each of ``approvers`` (the other
    admins a registry change needs, docs/decisions.md decision 15)."""
    body = {**statement["body"], "approvals": []}
    draft = {**statement, "body": body}
    body["approvals"] = [key.approve(draft) for key in approvers]
    return draft
