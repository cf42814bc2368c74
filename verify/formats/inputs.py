"""Reading one input file of the verifier: the trust file, the verifier's state.

What is wrong with such a file means nothing could be verified: an
``InputError`` naming the file, and the verifier exits 2 (docs/design.md §8).
"""

from __future__ import annotations

from pathlib import Path

from verify.errors import InputError


def read_input(path: Path, what: str, limit: int | None = None) -> bytes:
    """The bytes of ``path``; ``InputError`` if missing, unreadable or over ``limit``."""
    try:
        with path.open("rb") as handle:
            data = handle.read() if limit is None else handle.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise InputError(f"{path}: {what} is larger than {limit} bytes")
        return data
    except FileNotFoundError:
        raise InputError(f"{path}: {what} is missing") from None
    except IsADirectoryError:
        raise InputError(f"{path}: {what} is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: {what} is unreadable: {exc.strerror}") from None
