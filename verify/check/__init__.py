"""The offline verifier: walking an export, replaying every rule, the findings."""
