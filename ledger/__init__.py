"""The PMM assessment ledger: signed statements recorded as event-sourced entries."""
