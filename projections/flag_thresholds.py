"""The red flags' thresholds: data, versioned, recorded in the ledger (docs/flags.md).

A thresholds file is TOML: ``version`` (a whole number, at least 1), an
optional ``reason``, and one table per rule holding its parameters as decimal
strings (numbers travel as decimal strings, never binary floats: docs/design.md §1).
``pmm flags thresholds apply FILE --as KEY`` records the file as an
``integrity.thresholds_set`` statement; the flags read at a record time use the
latest thresholds recorded at or before it, and the packaged file when none
was, saying so in every output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from projections.errors import ThresholdsFileError
from verify.scoring.methods import decimal_of, decimal_problem

# Every rule and the parameters it reads; a file must give exactly these.
PARAMETERS: dict[str, tuple[str, ...]] = {
    "changed_after_validation": ("secretariat_high",),
    "changed_after_publication": ("secretariat_high",),
    "same_party": ("same_organisation",),
    "late_change": ("window_days",),
    "score_revision": ("min_justification_chars", "min_justification_words"),
    "key_recovered": ("severity_high",),
    "jump_history": ("factor",),
    "peer_outlier": ("z", "min_peers"),
    "benford": ("min_values", "chi2_critical", "mad_nonconformity"),
    "burst": ("count", "window_hours"),
    "deadline": ("days",),
}


@dataclass(frozen=True)
class Thresholds:
    """One version of the thresholds, and where it comes from."""

    version: int
    values: Mapping[str, Mapping[str, Decimal]]
    recorded_at: int | None = None  # the thresholds_set log index; None: packaged
    # Parameters a recorded set left out (or gave as no decimal), taken from the
    # packaged version: the ledger records any rules and parameters it is given.
    filled: tuple[str, ...] = ()
    filled_from: int | None = None

    def get(self, rule: str, parameter: str) -> Decimal:
        return self.values[rule][parameter]

    @property
    def label(self) -> str:
        """What every flags output says about the thresholds it used."""
        if self.recorded_at is None:
            return f"thresholds: packaged v{self.version}, not recorded in the ledger"
        label = f"thresholds: v{self.version}, recorded at log index {self.recorded_at}"
        if self.filled:
            label += f" (packaged v{self.filled_from} for {', '.join(self.filled)})"
        return label

    def as_body(self) -> dict[str, dict[str, str]]:
        """The ``thresholds`` field of an ``integrity.thresholds_set`` body."""
        return {
            rule: {name: str(value) for name, value in sorted(params.items())}
            for rule, params in sorted(self.values.items())
        }


def problems(version: Any, thresholds: Any) -> list[str]:
    """What is wrong with a version and a thresholds mapping, in words."""
    found = []
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        found.append(f"version must be a whole number of at least 1, not {version!r}")
    if not isinstance(thresholds, Mapping):
        return [*found, "the thresholds must be one table per rule"]
    for rule in sorted(set(PARAMETERS) - set(thresholds)):
        found.append(f"table {rule} is missing: every rule needs its thresholds")
    for rule, params in sorted(thresholds.items()):
        if rule not in PARAMETERS:
            found.append(f"table {rule} is not a rule; rules are {', '.join(PARAMETERS)}")
            continue
        if not isinstance(params, Mapping):
            found.append(f"{rule} must be a table of parameters")
            continue
        for name in PARAMETERS[rule]:
            if name not in params:
                found.append(f"{rule}.{name} is missing")
        for name, value in sorted(params.items()):
            if name not in PARAMETERS[rule]:
                found.append(f"{rule}.{name} is not a parameter of {rule}")
            elif (problem := decimal_problem(value)) is not None:
                found.append(f'{rule}.{name}: {problem} (write it as a string, "3.5")')
    return found


def from_body(
    body: Mapping[str, Any], index: int | None = None, packaged: Thresholds | None = None
) -> Thresholds:
    """Thresholds from an ``integrity.thresholds_set`` body (or a file's content).

    A parameter of ``PARAMETERS`` the body leaves out, or gives as no decimal,
    comes from ``packaged`` and is named in the label; others are ignored."""
    given = body.get("thresholds")
    given = given if isinstance(given, Mapping) else {}
    values: dict[str, dict[str, Decimal]] = {}
    filled = []
    for rule, names in PARAMETERS.items():
        params = given.get(rule)
        params = params if isinstance(params, Mapping) else {}
        values[rule] = {}
        for name in names:
            number = decimal_of(params.get(name)) if name in params else None
            if number is None and packaged is not None:
                number = packaged.get(rule, name)
                filled.append(f"{rule}.{name}")
            if number is not None:
                values[rule][name] = number
    return Thresholds(
        int(body["version"]),
        values,
        index,
        tuple(filled),
        packaged.version if packaged is not None and filled else None,
    )


def checked_file(path: str, data: dict[str, Any]) -> tuple[Thresholds, str | None]:
    """A thresholds file's table, as read from its TOML (``api.flag_defaults``
    reads it with intake's TOML reader: docs/decisions.md, decision 45), checked
    whole; and its ``reason`` if it gives one."""
    reason = data.pop("reason", None)
    version = data.pop("version", None)
    found = problems(version, data)
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        found.append("reason must be a sentence saying why these thresholds")
    if found:
        raise ThresholdsFileError(path, found)
    return from_body({"version": version, "thresholds": data}), reason
