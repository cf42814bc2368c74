"""RFC 6962 Merkle trees: hashes, proofs, the frontier."""
