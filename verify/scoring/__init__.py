"""Scoring: methods as data, and the scoreboard the verifier and the read side share."""
