"""RFC 8785 (JCS) known-answer vectors from cyberphone/json-canonicalization.

``input/X.json`` parsed with plain ``json`` and re-serialised with ``rfc8785``
must equal ``output/X.json`` (ignoring a trailing newline) and the hex bytes of
``outhex/X.txt``. These vectors test the library we build on; our own
``canonical_bytes`` refuses binary floats by design (numbers travel as decimal
strings), so for the float-bearing vectors it must raise ``FloatValueError``,
and for the others it must agree with ``rfc8785`` byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from verify.errors import FloatValueError
from verify.formats.canonical import canonical_bytes, parse_canonical

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
TESTDATA = SHARED / "vectors" / "jcs-rfc8785" / "testdata"
# The upstream snapshot holds exactly these six cases; a missing one is an error,
# not a silent pass.
EXPECTED_CASES = ("arrays", "french", "structures", "unicode", "values", "weird")
# The vectors whose input carries a binary number with a fraction or exponent.
FLOAT_CASES = frozenset({"structures", "values"})


def _testdata() -> Path:
    if not TESTDATA.is_dir():
        pytest.skip(f"JCS test vectors not found at {TESTDATA}")
    return TESTDATA


def _case_names() -> list[str]:
    if not TESTDATA.is_dir():
        return list(EXPECTED_CASES)
    return sorted(path.stem for path in (TESTDATA / "input").glob("*.json"))


def _load_input(name: str) -> Any:
    return json.loads((_testdata() / "input" / f"{name}.json").read_bytes())


def _expected_output(name: str) -> bytes:
    data = (_testdata() / "output" / f"{name}.json").read_bytes()
    return data.removesuffix(b"\n")


def _expected_hex(name: str) -> bytes:
    text = (_testdata() / "outhex" / f"{name}.txt").read_text(encoding="ascii")
    return bytes.fromhex("".join(text.split()))


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_float(item) for item in value)
    return False


def test_all_expected_cases_present() -> None:
    testdata = _testdata()
    for folder, suffix in (("input", ".json"), ("output", ".json"), ("outhex", ".txt")):
        names = sorted(path.stem for path in (testdata / folder).glob(f"*{suffix}"))
        assert names == sorted(EXPECTED_CASES), folder


@pytest.mark.parametrize("name", _case_names())
def test_output_file_and_outhex_agree(name: str) -> None:
    assert _expected_output(name) == _expected_hex(name)


@pytest.mark.parametrize("name", _case_names())
def test_rfc8785_matches_output(name: str) -> None:
    assert rfc8785.dumps(_load_input(name)) == _expected_output(name)


@pytest.mark.parametrize("name", _case_names())
def test_rfc8785_matches_outhex(name: str) -> None:
    assert rfc8785.dumps(_load_input(name)) == _expected_hex(name)


@pytest.mark.parametrize("name", _case_names())
def test_float_cases_are_the_ones_with_floats(name: str) -> None:
    assert _has_float(_load_input(name)) is (name in FLOAT_CASES)


@pytest.mark.parametrize("name", sorted(FLOAT_CASES))
def test_canonical_bytes_refuses_float_vectors(name: str) -> None:
    with pytest.raises(FloatValueError, match="binary float"):
        canonical_bytes(_load_input(name))


@pytest.mark.parametrize("name", _case_names())
def test_parse_canonical_on_expected_output(name: str) -> None:
    # The canonical output of "structures" writes 56.0 as 56, an integer, so it is
    # acceptable to us; the output of "values" still carries fractions and exponents.
    expected = _expected_output(name)
    plain = json.loads(expected)
    if _has_float(plain):
        assert name == "values"
        with pytest.raises(FloatValueError, match="decimal string"):
            parse_canonical(expected)
    else:
        assert parse_canonical(expected) == plain


@pytest.mark.parametrize("name", [n for n in EXPECTED_CASES if n not in FLOAT_CASES])
def test_canonical_bytes_agrees_with_rfc8785(name: str) -> None:
    value = _load_input(name)
    assert canonical_bytes(value) == rfc8785.dumps(value) == _expected_output(name)


@pytest.mark.parametrize("name", [n for n in EXPECTED_CASES if n not in FLOAT_CASES])
def test_parse_canonical_accepts_float_free_output(name: str) -> None:
    assert parse_canonical(_expected_output(name)) == _load_input(name)
