"""``python -m verify DIR --trust FILE [--state FILE] [--json]``: the offline verifier.

Runs ``verify.check.verifier.verify_export`` on a ``pmm export`` folder with nothing
of the ledger installed (docs/design.md §5, §8). Exit codes: 0 verified, 1
verification failed (anything wrong with the bundle's content), 2 unusable
arguments: a missing folder, an unusable trust or state file. ``--json``
prints one stable JSON object (documented in docs/verifier.md); otherwise a
short plain report.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from verify.check.findings import Finding
from verify.check.verifier import VerifyResult, verify_export
from verify.errors import InputError

RESULT_FORMAT = "pmm-verify-result/v1"
EXIT_VERIFIED, EXIT_FAILED, EXIT_INPUT = 0, 1, 2
SHOWN_FINDINGS = 20


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m verify",
        description="Verify a `pmm export` folder offline against pinned trust roots.",
        epilog="Exit status: 0 verified, 1 verification failed, 2 unusable arguments "
        "(folder, trust or state file).",
    )
    parser.add_argument("directory", metavar="DIR", type=Path, help="the export folder")
    parser.add_argument(
        "--trust",
        required=True,
        type=Path,
        metavar="FILE",
        help="the pinned trust file (trust.json: origin, log key, genesis, policy)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="checkpoints seen before; checked for consistency, updated on success",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes checking signatures (default: one per core for large logs)",
    )
    return parser


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "check": finding.check,
        "index": finding.index,
        "stream": finding.stream,
        "entry_type": finding.entry_type,
        "reason": finding.reason,
        "evidence": [{"label": e.label, "note": e.note} for e in finding.evidence],
    }


def result_json(result: VerifyResult) -> dict[str, Any]:
    """The ``--json`` object (docs/verifier.md)."""
    first = result.first_failure
    return {
        "format": RESULT_FORMAT,
        "verified": result.verified,
        "exit_code": EXIT_VERIFIED if result.verified else EXIT_FAILED,
        "bundle": result.bundle,
        "origin": result.origin,
        "checkpoint": {
            "size": result.size,
            "root": base64.b64encode(result.root).decode("ascii"),
            "cosigners": list(result.cosigners),
            "quorum": result.quorum,
        }
        if result.has_checkpoint
        else None,
        "counts": {
            "entries": result.counts.entries,
            "streams": result.counts.streams,
            "principals": result.counts.principals,
            "by_type": dict(result.counts.by_type),
        },
        "first_failure": finding_json(first) if first else None,
        "findings": [finding_json(f) for f in result.findings],
        "findings_omitted": result.findings_omitted,
        "state": {
            "file": result.state_file,
            "checkpoints_seen": result.checkpoints_seen,
            "updated": result.state_updated,
        },
        "recoveries": [
            {
                "index": r.index,
                "principal": r.principal,
                "signer": r.signer,
                "approvers": list(r.approvers),
            }
            for r in result.recoveries
        ],
        # The log keys from the pinned one to the one that signed (decision 33).
        "log_keys": list(result.log_keys),
    }


def _line(finding: Finding) -> str:
    return f"{finding.where()}: {finding.check}: {finding.reason}"


def plain_report(result: VerifyResult) -> str:
    counts = result.counts
    witnesses = (
        f"cosigned by {', '.join(result.cosigners)} (quorum {result.quorum})"
        if result.cosigners
        else f"quorum {result.quorum}"
    )
    lines = []
    if result.verified:
        lines.append(
            f"verified {result.origin}: {counts.entries} entries, {counts.streams} "
            f"streams, {counts.principals} principals"
        )
    else:
        lines.append(f"FAILED {result.origin}: {_line(result.findings[0])}")
    if result.has_checkpoint:
        root = base64.b64encode(result.root).decode("ascii")
        lines.append(f"checkpoint: size {result.size}, root {root}, {witnesses}")
    else:
        lines.append("checkpoint: none could be read")
    if result.state_file:
        verdict = "updated" if result.state_updated else "not updated"
        lines.append(
            f"state: {result.checkpoints_seen} checkpoint(s) seen before; "
            f"{result.state_file} {verdict}"
        )
    for r in result.recoveries:
        approvals = f" with the approval of {', '.join(r.approvers)}" if r.approvers else ""
        lines.append(
            f"key recovered: entry {r.index}, principal {r.principal!r}, by {r.signer}"
            f"{approvals}"
        )
    for n, key in enumerate(result.log_keys[1:], start=1):
        lines.append(f"log key handed over ({n}): {result.log_keys[n - 1]} -> {key}")
    if not result.verified:
        total = len(result.findings) + result.findings_omitted
        lines.append(f"{total} finding(s):")
        lines += [f"  {_line(f)}" for f in result.findings[:SHOWN_FINDINGS]]
        if total > SHOWN_FINDINGS:
            lines.append(f"  ... and {total - SHOWN_FINDINGS} more (--json lists more)")
        for finding in result.findings:
            if finding.evidence:
                lines.append(f"evidence of {finding.check} (both signed by the log key):")
                for evidence in finding.evidence:
                    lines.append(f"--- {evidence.label}")
                    lines.append(evidence.note.rstrip("\n"))
    return "\n".join(lines) + "\n"


def _input_error(message: str, as_json: bool) -> int:
    if as_json:
        error = {"format": RESULT_FORMAT, "verified": False, "exit_code": EXIT_INPUT}
        sys.stdout.write(json.dumps({**error, "error": message}, indent=2) + "\n")
    sys.stderr.write(f"error: {message}\n")
    return EXIT_INPUT


def run(
    directory: Path,
    trust: Path,
    state: Path | None = None,
    *,
    as_json: bool = False,
    workers: int | None = None,
    label: str | None = None,
    on_result: Callable[[VerifyResult], None] | None = None,
) -> int:
    """Verify, print the report, and return the exit code. ``label`` names the
    bundle in the report instead of ``directory`` (``pmm verify`` of a live
    ledger verifies a scratch export that is nobody's business); ``on_result``
    is given the result before it is reported (``pmm verify`` keeps it)."""
    try:
        result = verify_export(directory, trust, state, workers=workers, label=label)
    except InputError as exc:
        return _input_error(str(exc), as_json)
    except Exception as exc:  # a bug no check caught: still never "verified"
        where = f"{label or directory}: internal error, nothing verified"
        return _input_error(f"{where}: {type(exc).__name__}: {exc}", as_json)
    if on_result is not None:
        on_result(result)
    if as_json:
        sys.stdout.write(json.dumps(result_json(result), indent=2) + "\n")
    else:
        sys.stdout.write(plain_report(result))
    return EXIT_VERIFIED if result.verified else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return run(
        args.directory, args.trust, args.state, as_json=args.json, workers=args.workers
    )


if __name__ == "__main__":
    sys.exit(main())
