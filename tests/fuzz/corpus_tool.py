"""The fuzz corpus: every input that ever failed, replayed by test_fuzz_corpus.py.

``tests/fuzz/corpus/<target>/<name>.bin`` holds one input of a target of
``tests/fuzz/targets.py`` as raw bytes (``.json`` for the JSON-spec targets);
each must give the expected clean refusal or round trip. When a property
fails, hypothesis prints the falsifying input, e.g. ``data=b'a = [[[...'``;
land it in the corpus with::

    python -m tests.fuzz.corpus_tool add framework deep-arrays "b'a = [[[...'"

which writes the file and runs the target on it (it fails until the bug is
fixed), then commit the file with the fix.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def inputs() -> list[tuple[str, Path]]:
    """(target, file) of every corpus input, in a stable order."""
    return [
        (folder.name, path)
        for folder in sorted(CORPUS.iterdir())
        if folder.is_dir()
        for path in sorted(folder.iterdir())
        if path.suffix in (".bin", ".json")
    ]


def add(target: str, name: str, data: bytes) -> Path:
    """Write ``data`` as input ``name`` of ``target``; returns the file."""
    from tests.fuzz.targets import TARGETS

    if target not in TARGETS:
        raise SystemExit(f"unknown target {target!r}; known: {', '.join(sorted(TARGETS))}")
    if NAME.fullmatch(name) is None:
        raise SystemExit(f"name {name!r}: lowercase letters, digits and '-'")
    suffix = ".json" if target == "proof" else ".bin"
    path = CORPUS / target / f"{name}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] != "add":
        print(__doc__)
        return 2
    _, target, name, literal = argv
    data = ast.literal_eval(literal)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path = add(target, name, data)
    print(f"wrote {path} ({len(data)} bytes); replaying it:")
    from tests.fuzz.targets import run

    run(target, data)
    print("it passes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
