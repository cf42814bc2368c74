"""Files people write, turned into signed statements (docs/design.md §6)."""
