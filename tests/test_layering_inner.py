"""Layers inside the packages: verify's folders point down, and the read side
reads the log through its own reader (docs/design.md §6)."""

from __future__ import annotations

from tests.test_layering import ROOT, _sources, _top


def _verify_part(module: str) -> str:
    """``verify.formats.note`` -> ``formats``; ``verify.errors`` -> ``errors``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


# Inside verify (docs/design.md §6): the offline verifier (``check``) sits on top and
# nothing else in verify imports it; the formats and the Merkle code are below the
# rules; the Merkle code needs nothing but itself and the errors.
VERIFY_REFUSED = {
    "formats": ("check", "rules"),
    "merkle": ("check", "rules", "scoring", "formats"),
    "rules": ("check",),
    "scoring": ("check",),
    "errors": ("check", "rules", "scoring", "formats", "merkle"),
}


def test_verify_inner_folders_point_down() -> None:
    bad = [
        f"{path.relative_to(ROOT)} imports {name.replace(':', ' -> ')}"
        for path, module, names in _sources("verify")
        for name in names
        if _top(name) == "verify"
        and _verify_part(name.split(":")[0]) in VERIFY_REFUSED.get(_verify_part(module), ())
    ]
    assert bad == []
    parts = {_verify_part(module) for _, module, _ in _sources("verify")}
    assert set(VERIFY_REFUSED) <= parts, "a verify folder the rule names is gone"


def test_the_read_side_reads_the_log_through_its_reader() -> None:
    """projections/log_reader.py is the one place the read side touches the
    ledger's log store (docs/decisions.md decision 46)."""
    bad = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ("projections", "api")
        for path, _, _ in _sources(package)
        if path.name != "log_reader.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "sequencer.store" in line
    ]
    assert bad == []
