"""The pure domain (docs/design.md §1, §3): aggregates import only
``eventsourcing.domain``, the standard library and ``ledger.errors``."""
