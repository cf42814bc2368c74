"""Formats and offline checks of the PMM assessment ledger.

This package defines, in one place, the bytes that are signed and hashed
(docs/design.md §3-4). It imports nothing of the ledger: only the standard library,
``cryptography`` and ``rfc8785``, so an auditor can run it on an export alone.
"""
