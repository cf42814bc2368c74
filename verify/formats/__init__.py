"""The bytes that are signed and hashed: statements, entries, notes, checkpoints,
receipts, the export."""
