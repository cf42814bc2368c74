"""Dependencies point down only: api → projections, intake → ledger → verify
(docs/design.md §6); projections and intake do not import each other.

Two checks. At run time, importing ``verify`` in a fresh interpreter loads
nothing of the ledger and none of the heavy libraries, so an auditor can run
it on an export alone. Statically, the import statements of every source file
(parsed with ``ast``, including imports inside functions) respect the layers,
and the domain model imports only the standard library, the domain part of
``eventsourcing``, ``ledger.errors`` and itself.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("verify", "ledger", "intake", "projections", "api")
VERIFY_MODULES = (
    "verify",
    "verify.formats.canonical",
    "verify.formats.statement",
    "verify.formats.schema",
    "verify.rules.policy",
)
# docs/design.md §6, plus our own upper layers and the database driver.
FORBIDDEN_IN_VERIFY = (
    "ledger",
    "intake",
    "projections",
    "api",
    "eventsourcing",
    "sqlalchemy",
    "fastapi",
    "pandas",
    "pydantic",
    "starlette",
    "psycopg",
)
# What ``verify`` may use besides the standard library.
VERIFY_THIRD_PARTY = ("cryptography", "rfc8785")
DOMAIN_ALLOWED = (
    "eventsourcing.domain",
    "eventsourcing.utils",
    "ledger.errors",
    # The rules, defined once and replayed by the verifier (docs/decisions.md,
    # decision 14): pure standard library, which the test below proves.
    "verify.rules.workflow",
    "verify.rules.workflow_rules",
    "verify.rules.framework",
    "verify.rules.registry",
    "verify.rules.seals",
    "verify.rules.integrity",
    # What each statement type does to that state (decision 44).
    "verify.rules.transitions",
)
# Allowed as themselves only, not their submodules (verify.rules.signer needs
# cryptography, so the domain may not import it).
DOMAIN_EXACT = ("verify.rules",)
PURE_RULES = (*DOMAIN_ALLOWED[3:], *DOMAIN_EXACT)


# -- run time -------------------------------------------------------------------------


def _fresh_import(modules: tuple[str, ...]) -> tuple[str, list[str]]:
    """Import ``modules`` in a new interpreter; return verify's file and sys.modules."""
    code = (
        "import json, sys\n"
        + "".join(f"import {name}\n" for name in modules)
        + "print(json.dumps({'file': verify.__file__, 'modules': sorted(sys.modules)}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return str(report["file"]), [str(name) for name in report["modules"]]


def _baseline_modules() -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {str(name) for name in json.loads(result.stdout)}


def test_importing_verify_loads_nothing_of_the_ledger() -> None:
    verify_file, modules = _fresh_import(VERIFY_MODULES)
    assert Path(verify_file).resolve() == ROOT / "verify" / "__init__.py"
    top_level = {name.split(".")[0] for name in modules}
    assert set(VERIFY_MODULES) <= set(modules)
    loaded = sorted(top_level & set(FORBIDDEN_IN_VERIFY))
    assert loaded == [], f"importing verify loaded {loaded}"


def test_the_rules_the_domain_imports_load_only_the_standard_library() -> None:
    """The domain stays pure although it calls the verifier's rules."""
    _, modules = _fresh_import(PURE_RULES)
    new = {name.split(".")[0] for name in set(modules) - _baseline_modules()}
    extra = sorted(n for n in new if n not in sys.stdlib_module_names and n != "verify")
    assert extra == [], f"importing the domain's rules loaded {extra}"
    ours = sorted(m for m in modules if m.startswith("verify."))
    assert "verify.formats.statement" not in ours and "verify.rules.signer" not in ours, (
        ours
    )


def test_verify_uses_only_stdlib_cryptography_and_rfc8785_at_run_time() -> None:
    _, modules = _fresh_import(VERIFY_MODULES)
    new = {name.split(".")[0] for name in set(modules) - _baseline_modules()}
    extra = sorted(
        name
        for name in new
        if name not in sys.stdlib_module_names
        and name not in ("verify", *VERIFY_THIRD_PARTY)
        and not name.startswith("_")  # compiled helpers such as _cffi_backend
    )
    assert extra == [], f"importing verify loaded third-party modules {extra}"


# -- static imports ----------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool = False) -> list[str]:
    """Absolute names of the modules ``source`` imports, as written.

    ``from a import b`` yields both ``a`` and ``a.b`` joined as ``a:b`` so a rule
    can accept either the module or the submodule; relative imports are resolved
    against ``module``; ``importlib.import_module("x")`` with a literal counts.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.extend(f"{target}:{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (
                    isinstance(node.func, ast.Attribute)
                    and node.func.attr == "import_module"
                )
            )
        ):
            found.append(node.args[0].value)
    return found


def _candidates(name: str) -> list[str]:
    """``a.b:c`` may mean module ``a.b`` or submodule ``a.b.c``; ``a.b`` is itself."""
    if ":" in name:
        module, item = name.split(":", 1)
        return [module, f"{module}.{item}"]
    return [name]


def _top(name: str) -> str:
    return name.split(":")[0].split(".")[0]


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _sources(package: str) -> Iterator[tuple[Path, str, list[str]]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        module = _module_name(path)
        source = path.read_text(encoding="utf-8")
        yield path, module, imports_of(source, module, path.name == "__init__.py")


def _violations(package: str, refused_tops: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name.replace(':', ' -> ')}"
        for path, _, names in _sources(package)
        for name in names
        if _top(name) in refused_tops
    ]


def test_packages_have_sources() -> None:
    # Guard against the checks below passing vacuously.
    assert len(list(_sources("verify"))) >= 5
    assert len(list(_sources("ledger"))) >= 5
    assert len(list(_sources("intake"))) >= 4
    assert len(list(_sources("projections"))) >= 5
    assert any(path.parent.name == "domain" for path, _, _ in _sources("ledger"))


def test_verify_imports_nothing_of_ours_but_verify() -> None:
    assert _violations("verify", ("ledger", "intake", "projections", "api")) == []


def test_verify_imports_only_stdlib_cryptography_and_rfc8785() -> None:
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path, _, names in _sources("verify")
        for name in names
        if _top(name) not in ("__future__", "verify", *VERIFY_THIRD_PARTY)
        and _top(name) not in sys.stdlib_module_names
    ]
    assert bad == []


def test_ledger_imports_no_intake_projections_or_api() -> None:
    assert _violations("ledger", ("intake", "projections", "api")) == []


def test_projections_import_no_intake_or_api() -> None:
    assert _violations("projections", ("intake", "api")) == []


def test_intake_imports_no_projections_or_api() -> None:
    assert _violations("intake", ("projections", "api")) == []


def _domain_allows(name: str) -> bool:
    top = _top(name)
    if top == "__future__" or (top in sys.stdlib_module_names and top not in OURS):
        return True
    if ":" in name and name.split(":")[0] in DOMAIN_EXACT:
        module, item = name.split(":", 1)
        submodule = ROOT.joinpath(*module.split("."), f"{item}.py").exists()
        # ``from verify.rules import Refusal`` is the package; ``import signer`` is not.
        return not submodule or f"{module}.{item}" in DOMAIN_ALLOWED
    return any(
        candidate in DOMAIN_ALLOWED
        or candidate in DOMAIN_EXACT
        or any(_within(candidate, allowed) for allowed in DOMAIN_ALLOWED)
        or _within(candidate, "ledger.domain")
        for candidate in _candidates(name)
    )


def test_domain_imports_only_stdlib_eventsourcing_domain_and_itself() -> None:
    domain = ROOT / "ledger" / "domain"
    bad = [
        f"{path.relative_to(ROOT)} imports {name.replace(':', ' -> ')}"
        for path, _, names in _sources("ledger")
        if domain in path.parents
        for name in names
        if not _domain_allows(name)
    ]
    assert bad == []


def _import_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports, under ``TYPE_CHECKING`` and
    inside functions too (``ast.walk`` sees every import statement)."""
    sources = {module: names for _, module, names in _sources(package)}
    return {
        module: {
            candidate
            for name in names
            for candidate in _candidates(name)
            if candidate in sources and candidate != module
        }
        for module, names in sources.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, as one path that comes back to its first module."""
    found: list[list[str]] = []
    done: set[str] = set()

    def walk(module: str, path: list[str]) -> None:
        for imported in sorted(graph[module]):
            if imported in path:
                found.append([*path[path.index(imported) :], imported])
            elif imported not in done:
                walk(imported, [*path, imported])
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            walk(module, [module])
    return found


def test_the_ledger_has_no_import_cycle() -> None:
    """A statement goes one way, ``Ledger.record`` -> pipeline -> use cases ->
    aggregates: nothing below ``ledger.application`` imports it back, not even
    for type hints (docs/decisions.md decision 40)."""
    graph = _import_graph("ledger")
    assert "ledger.use_cases" in graph["ledger.pipeline"]  # not vacuous
    assert "ledger.application" not in graph["ledger.use_cases"]
    assert "ledger.use_cases" not in graph["ledger.application"]
    assert _cycles(graph) == []


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


# -- the checker itself ------------------------------------------------------------------


def test_imports_of_reads_every_form() -> None:
    source = (
        "import os, json as j\n"
        "import eventsourcing.application\n"
        "from ledger.domain import events\n"
        "from . import sibling\n"
        "from ..errors import DomainRuleError\n"
        "def late():\n"
        "    import pandas\n"
        "    importlib.import_module('fastapi')\n"
        "    __import__('sqlalchemy')\n"
    )
    assert sorted(imports_of(source, "ledger.domain.assessment")) == sorted(
        [
            "os",
            "json",
            "eventsourcing.application",
            "ledger.domain:events",
            "ledger.domain:sibling",
            "ledger.errors:DomainRuleError",
            "pandas",
            "fastapi",
            "sqlalchemy",
        ]
    )
    assert imports_of("from . import x", "ledger.domain", is_package=True) == [
        "ledger.domain:x"
    ]


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("dataclasses:dataclass", True),
        ("__future__:annotations", True),
        ("eventsourcing.domain:BaseAggregate", True),
        ("eventsourcing:domain", True),
        ("eventsourcing.utils:register_topic", True),
        ("ledger.errors:ConflictError", True),
        ("ledger:errors", True),
        ("ledger.domain.events:ValueSubmitted", True),
        ("ledger.domain:events", True),
        ("eventsourcing.application:Application", False),
        ("eventsourcing.persistence", False),
        ("eventsourcing:application", False),
        ("ledger.application:Ledger", False),
        ("ledger:persistence", False),
        ("ledger.errorsx", False),
        ("verify.formats.statement:SignedStatement", False),
        ("verify.rules:Refusal", True),
        ("verify.rules.workflow:Workflow", True),
        ("verify.rules.signer:signer_of", False),
        ("verify.rules:signer", False),
        ("sqlalchemy", False),
        ("pydantic:BaseModel", False),
    ],
)
def test_domain_rule(name: str, allowed: bool) -> None:
    assert _domain_allows(name) is allowed
