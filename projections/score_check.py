"""Check the scores view against the signed log (docs/decisions.md 39).

The score index (decision 37) is derived data: anyone who can write to the
database could edit a stored version, and every read served from the index
would show the edited score. ``check_view`` recomputes, in memory, every
version, publication and value level the view should hold at its watermark,
by running the projection's own indexer over the log's entries from the
first, and compares them with the stored rows, one by one. The log's entries
are themselves checked against the signed checkpoints by ``pmm verify``; this
closes the remaining gap between the log and what the read side shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from projections.log_reader import LogReader
from projections.score_board import TracingBoard
from projections.score_index import INDEX_COLUMNS, Changes, Indexer
from verify.formats.entry import parse_entry

CHUNK = 5000  # entries read per query
SHOWN = 20  # differences listed in full; the counts cover all of them

Version = tuple[Any, ...]  # INDEX_COLUMNS, in order


@dataclass(frozen=True)
class ViewCheck:
    """What the check compared, and every difference it found."""

    watermark: int
    versions: int
    publications: int
    levels: int
    differences: tuple[str, ...]
    count: int  # differences found, of which the first SHOWN are listed

    @property
    def matches(self) -> bool:
        return self.count == 0


@dataclass(frozen=True)
class Stored:
    watermark: int
    versions: set[Version]
    publications: set[tuple[Any, ...]]
    levels: set[tuple[Any, ...]]


def read_stored(view: Any) -> Stored:
    """The view's rows and watermark, read in one snapshot."""
    with view.datastore.transaction(commit=False) as raw:
        cur = view.cursor(raw)
        view.dialect.snapshot(cur)
        row = cur.execute("SELECT log_size FROM {p}pmm_scores_position WHERE id = 1").one()
        versions = cur.execute(
            f"SELECT {', '.join(INDEX_COLUMNS)} FROM {{p}}pmm_score_index"
        ).all()
        publications = cur.execute(
            "SELECT stream, nth, log_index, cut_at FROM {p}pmm_score_publications"
        ).all()
        levels = cur.execute("SELECT stream, entry, level FROM {p}pmm_score_levels").all()
    return Stored(
        int(row[0]) if row else 0,
        {tuple(v) for v in versions},
        {tuple(p) for p in publications},
        {tuple(v) for v in levels},
    )


def expected(log: LogReader, size: int) -> Changes:
    """Every row the view should hold after the first ``size`` entries: the
    projection's indexer over the whole prefix, as one batch."""
    board, indexer = TracingBoard(), Indexer()
    for start in range(0, size, CHUNK):
        for index, raw in log.entries(start, min(size, start + CHUNK)):
            entry = parse_entry(raw)
            board.apply(index, entry)
            indexer.after(board, index, entry)
    return indexer.take()


def check_view(log: LogReader, view: Any) -> ViewCheck:
    """Compare the stored view with one recomputed from the log."""
    stored = read_stored(view)
    changes = expected(log, stored.watermark)
    versions = {tuple(line) for line in changes.opened}
    publications = set(changes.published)
    levels = {(s, e, level) for (s, e), level in changes.levels.items()}
    found: list[str] = []
    found += _diff("score version", stored.versions, versions, INDEX_COLUMNS)
    found += _diff("publication", stored.publications, publications, _PUBLICATION)
    found += _diff("value level", stored.levels, levels, ("stream", "entry", "level"))
    return ViewCheck(
        stored.watermark,
        len(versions),
        len(publications),
        len(levels),
        tuple(found[:SHOWN]),
        len(found),
    )


_PUBLICATION = ("stream", "nth", "log_index", "cut_at")


def _diff(
    what: str, stored: set[Version], wanted: set[Version], columns: Iterable[str]
) -> list[str]:
    names = list(columns)

    def show(row: Version) -> str:
        return ", ".join(f"{n}={v!r}" for n, v in zip(names, row, strict=True))

    extra = sorted(stored - wanted, key=repr)
    missing = sorted(wanted - stored, key=repr)
    return [f"{what} the log gives, not stored: {show(r)}" for r in missing] + [
        f"{what} stored, not given by the log: {show(r)}" for r in extra
    ]
