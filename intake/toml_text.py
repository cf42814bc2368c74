"""Reading the TOML files people write: framework files and red-flag thresholds.

``tomllib`` refuses malformed TOML with ``TOMLDecodeError``, but not every
hostile file that way: an integer of more than 4,300 digits raises a plain
``ValueError`` (Python's integer conversion limit) and arrays or inline
tables nested some thousand deep a ``RecursionError``. ``read_toml`` turns
each into a message a person can act on, and refuses tables nested deeper
than any of these files needs (``MAX_DEPTH``), so what checks them after
never recurses deep either (docs/decisions.md 17: hostile input is refused
cheaply).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from intake.errors import TomlTextError
from verify.scoring.methods import MAX_DECIMAL_DIGITS

# A framework file's deepest value is a KPI's scoring table's list of cuts:
# kpis.<code>.scoring.cuts[i], four levels below the top.
MAX_DEPTH = 16


def _depth(value: Any) -> int:
    """How deeply ``value``'s tables and arrays nest (iteratively)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict | list):
            deepest = max(deepest, depth + 1)
            if depth + 1 <= MAX_DEPTH:
                stack.extend((child, depth + 1) for child in children)
    return deepest


def read_toml(path: Path, parse_float: Callable[[str], Any] = float) -> dict[str, Any]:
    """The table of the TOML file ``path``; ``OSError`` if it cannot be read,
    ``TomlTextError`` if its text is not TOML this ledger reads."""
    try:
        data = tomllib.loads(path.read_text("utf-8"), parse_float=parse_float)
    except UnicodeDecodeError as exc:
        raise TomlTextError(f"not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise TomlTextError(str(exc)) from None
    except ValueError:  # int(): more digits than Python converts
        raise TomlTextError(
            "a number of more than 4300 digits; write numbers as they are meant"
        ) from None
    except RecursionError:
        raise TomlTextError(
            f"arrays or tables nested too deeply (at most {MAX_DEPTH} levels)"
        ) from None
    if _depth(data) > MAX_DEPTH:
        raise TomlTextError(f"arrays or tables nested more than {MAX_DEPTH} levels deep")
    return data


def decimal_strings(value: Any) -> Any:
    """TOML numbers (read exactly, as Decimal) become canonical decimal strings."""
    if isinstance(value, dict):
        return {k: decimal_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decimal_strings(v) for v in value]
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        number = Decimal(value)
        if number.is_finite() and _spelled_length(number) > 2 * MAX_DECIMAL_DIGITS:
            # 1e999999999 would be a billion digits spelled out: left in its
            # short form, it is refused as "not a decimal string" (decision 17).
            return str(number)
        text = format(number, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return value


def _spelled_length(number: Decimal) -> int:
    """How many digits ``format(number, "f")`` would write, without writing them."""
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    return max(number.adjusted(), 0) + 1 + max(-exponent, 0)
