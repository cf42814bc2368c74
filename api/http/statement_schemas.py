"""OpenAPI schemas for every statement type, made from ``verify.formats.schema``.

``STATEMENT_TYPES`` is the one table of what each type carries (its stream
kind, the roles that may sign it, its body fields), so the schemas are derived
from it rather than written again: a type added there appears in
``/openapi.json`` and ``/docs`` without an edit here. A field's own rules
(decimal strings, codes, score tables...) are checked by its validator in
``verify/formats/fields.py`` and named in docs/statements.md; the schema says which
fields exist, which are required and which may be null.
"""

from __future__ import annotations

from typing import Any

from verify.formats.schema import STATEMENT_TYPES
from verify.formats.statement import STATEMENT_FIELDS, STATEMENT_FORMAT


def _name(statement_type: str) -> str:
    return "Statement_" + statement_type.replace(".", "_")


def statement_schemas() -> dict[str, dict[str, Any]]:
    """``components.schemas`` entries: one statement object per type."""
    found: dict[str, dict[str, Any]] = {}
    for name, kind in STATEMENT_TYPES.items():
        body = {
            "type": "object",
            "required": sorted(f for f, spec in kind.fields.items() if not spec.optional),
            "properties": {
                f: ({} if spec.nullable else {"not": {"type": "null"}})
                for f, spec in sorted(kind.fields.items())
            },
            "additionalProperties": False,
        }
        found[_name(name)] = {
            "title": name,
            "description": (
                f"`{name}`: written to the {kind.stream} stream"
                + (" (creates it)" if kind.creates else "")
                + f"; signed by {' or '.join(kind.roles)}. Fields: docs/statements.md."
            ),
            "type": "object",
            "required": list(STATEMENT_FIELDS),
            "properties": {
                "type": {"const": name},
                "format": {"const": STATEMENT_FORMAT},
                "body": body,
                "stream": {"type": "string"},
                "origin": {"type": "string"},
                "principal": {"type": "string"},
                "key_id": {"type": "string"},
                "nonce": {"type": "string"},
                "issued_at": {"type": "string", "description": "RFC 3339 UTC"},
                "expected_version": {"type": "integer", "minimum": 0},
            },
            "additionalProperties": False,
        }
    return found


def signed_statement_schema() -> dict[str, Any]:
    """The request body of ``POST /statements``: one of the statement types."""
    return {
        "type": "object",
        "required": ["signature", "statement"],
        "properties": {
            "signature": {"type": "string", "description": "base64 Ed25519 signature"},
            "statement": {
                "oneOf": [
                    {"$ref": f"#/components/schemas/{_name(n)}"} for n in STATEMENT_TYPES
                ]
            },
        },
        "additionalProperties": False,
        "description": "RFC 8785 canonical JSON bytes, exactly as `pmm sign` prints them",
    }
