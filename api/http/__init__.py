"""``pmm serve``: the ledger over HTTP (docs/design.md §6, docs/http.md)."""

from __future__ import annotations

from api.http.app import create_app

__all__ = ["create_app"]
