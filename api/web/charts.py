"""Charts as server-rendered SVG: pure functions from plain values to markup.

No third-party charting and no script: each function takes frozen values and
returns SVG text (a ``markupsafe.Markup``, so Jinja2 embeds it as is) in which
every piece of text — a Member's code, a KPI name, a label — is escaped here.
They know nothing of requests, readers or the ledger, so the audit report can
draw the same charts (docs/pages.md). Each chart carries ``<title>`` and
``<desc>`` and ``role="img"``, and every mark its own ``<title>``; shape and
text, never colour alone, tell a correction from a submission.

Coordinates are floats, but only coordinates: the numbers printed on a chart
are the decimal strings the values travel as (docs/design.md §1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 624, 28, 196
# Presentation attributes as well as the stylesheet's classes (charts.css, which
# wins on the pages): WeasyPrint draws inline SVG in the audit report's PDF
# without the document's stylesheet, and would fill a bare path black.
ACCENT, MUTED = "#0b5cad", "#5b6575"
VALUE_LOOK = f'fill="none" stroke="{ACCENT}" stroke-width="2"'
POINT_LOOK = f'fill="#fff" stroke="{ACCENT}" stroke-width="2"'
CORRECTION_LOOK = f'fill="{ACCENT}" stroke="{ACCENT}" stroke-width="2"'
MARK_LOOK = f'stroke="{MUTED}" stroke-dasharray="4 3"'
MARK_LETTERS = {"validated": "V", "published": "P", "reopened": "R", "queried": "Q"}


@dataclass(frozen=True)
class Bar:
    label: str
    count: int


@dataclass(frozen=True)
class Point:
    """A value recorded at ``index`` (a log index); ``value`` None: not a number."""

    index: int
    value: Decimal | None
    text: str  # the value as recorded, e.g. "12" or "3 / 4"
    correction: bool = False


@dataclass(frozen=True)
class Mark:
    index: int
    kind: str  # validated | published | reopened | queried
    note: str = ""


@dataclass(frozen=True)
class Peer:
    member: str
    value: Decimal
    text: str


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _n(number: float) -> str:
    return f"{number:.1f}"


def _frame(ident: str, title: str, desc: str, body: Iterable[str], label: str) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {_e(label)}" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{_e(ident)}-title {_e(ident)}-desc">'
        f'<title id="{_e(ident)}-title">{_e(title)}</title>'
        f'<desc id="{_e(ident)}-desc">{_e(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", cls: str = "") -> str:
    extra = f' class="{cls}"' if cls else ""
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{extra}>{_e(text)}</text>'


def _scale(low: float, high: float, out_low: float, out_high: float) -> _Linear:
    return _Linear(low, high, out_low, out_high)


@dataclass(frozen=True)
class _Linear:
    low: float
    high: float
    out_low: float
    out_high: float

    def __call__(self, value: float) -> float:
        span = self.high - self.low
        if span == 0:
            return (self.out_low + self.out_high) / 2
        return self.out_low + (value - self.low) / span * (self.out_high - self.out_low)


def bar_chart(ident: str, title: str, bars: Sequence[Bar], unit: str = "entries") -> Markup:
    """One bar per label (entries per day): its count on hover and in ``desc``."""
    total = sum(b.count for b in bars)
    desc = f"{len(bars)} bars, {total} {unit} in all" + "".join(
        f"; {b.label}: {b.count}" for b in bars
    )
    top = max((b.count for b in bars), default=0)
    y = _scale(0, top or 1, BOTTOM, TOP)
    step = (RIGHT - LEFT) / max(len(bars), 1)
    body = [
        f'<line class="axis" x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}"/>',
        _text(LEFT - 6, TOP + 4, str(top), "end"),
        _text(LEFT - 6, BOTTOM, "0", "end"),
    ]
    for i, bar in enumerate(bars):
        x, height = LEFT + i * step, BOTTOM - y(bar.count)
        body.append(
            f'<rect class="bar" x="{_n(x + step * 0.1)}" y="{_n(y(bar.count))}" '
            f'width="{_n(step * 0.8)}" height="{_n(height)}">'
            f"<title>{_e(bar.label)}: {bar.count} {_e(unit)}</title></rect>"
        )
    if bars:
        body.append(_text(LEFT, BOTTOM + 18, bars[0].label))
        body.append(_text(RIGHT, BOTTOM + 18, bars[-1].label, "end"))
    else:
        body.append(_text(WIDTH / 2, HEIGHT / 2, f"no {unit} yet", "middle"))
    return _frame(ident, title, desc, body, "bars")


def history_chart(
    ident: str,
    title: str,
    points: Sequence[Point],
    marks: Sequence[Mark],
    end: int,
    withheld: int = 0,
    start: int | None = None,
    until: str = "now",
) -> Markup:
    """A value across record time (log indexes up to ``end``, the log size): a
    step line through the values as they were recorded, corrections as
    diamonds, validations, queries, publications and reopenings as lettered
    lines. Withheld values are counted in the text, never drawn. ``start`` (the
    first log index on the axis) lets charts drawn side by side share one axis."""
    drawn = [p for p in points if p.value is not None]
    words = [f"{len(drawn)} values drawn"]
    if len(points) > len(drawn):
        words.append(f"{len(points) - len(drawn)} not numbers (listed in the table)")
    words.append(f"{withheld} withheld by disclosure")
    words += [f"{m.kind} at log index {m.index}" for m in marks]
    desc = "; ".join(words)
    indexes = [p.index for p in points] + [m.index for m in marks]
    first = min(indexes, default=0) if start is None else start
    x = _scale(first, max(end, 1), LEFT, RIGHT)
    numbers = [float(p.value) for p in drawn if p.value is not None]
    low, high = min(numbers, default=0.0), max(numbers, default=1.0)
    pad = (high - low) * 0.1 or 1.0
    y = _scale(low - pad, high + pad, BOTTOM, TOP)
    body = [f'<line class="axis" x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}"/>']
    for mark in marks:
        letter = MARK_LETTERS.get(mark.kind, "?")
        note = f"{mark.kind} at log index {mark.index}" + (
            f": {mark.note}" if mark.note else ""
        )
        body.append(
            f'<g class="mark {_e(mark.kind)}"><title>{_e(note)}</title>'
            f'<line {MARK_LOOK} x1="{_n(x(mark.index))}" y1="{TOP}" '
            f'x2="{_n(x(mark.index))}" y2="{BOTTOM}"/>'
            f"{_text(x(mark.index), TOP - 8, letter, 'middle')}</g>"
        )
    if drawn:
        path = [f"M{_n(x(drawn[0].index))},{_n(y(float(drawn[0].value or 0)))}"]
        for p in drawn[1:]:
            path.append(f"H{_n(x(p.index))}V{_n(y(float(p.value or 0)))}")
        path.append(f"H{_n(x(end))}")
        # fill="none" also as an attribute: a renderer without the stylesheet
        # (WeasyPrint, for the audit report's PDF) fills a bare path black.
        body.append(f'<path class="value" {VALUE_LOOK} d="{"".join(path)}"/>')
        texts = sorted(drawn, key=lambda p: p.value or 0)
        body.append(
            _text(LEFT - 6, y(float(texts[-1].value or 0)) + 4, texts[-1].text, "end")
        )
        if texts[0].text != texts[-1].text:
            body.append(
                _text(LEFT - 6, y(float(texts[0].value or 0)) + 4, texts[0].text, "end")
            )
    for p in drawn:
        px, py = x(p.index), y(float(p.value or 0))
        what = "correction" if p.correction else "submission"
        tip = f"<title>log index {p.index}: {_e(p.text)} ({what})</title>"
        if p.correction:
            diamond = f"M{_n(px)},{_n(py - 6)}l6,6l-6,6l-6,-6z"
            shape = f'<path class="point correction" {CORRECTION_LOOK} d="{diamond}">'
            body.append(f"{shape}{tip}</path>")
        else:
            body.append(
                f'<circle class="point" {POINT_LOOK} cx="{_n(px)}" cy="{_n(py)}" '
                f'r="4.5">{tip}</circle>'
            )
    if not drawn:
        body.append(_text(WIDTH / 2, HEIGHT / 2, "no value to draw", "middle"))
    body.append(_text(LEFT, BOTTOM + 18, f"log index {first}"))
    body.append(_text(RIGHT, BOTTOM + 18, f"{until} (log size {end})", "end"))
    if withheld:
        body.append(_text(RIGHT, HEIGHT - 6, f"withheld ({withheld})", "end", "withheld"))
    return _frame(ident, title, desc, body, "history")


def distribution_chart(
    ident: str,
    title: str,
    peers: Sequence[Peer],
    own: Peer | None,
    withheld: int,
    direction: str = "none",
) -> Markup:
    """Peers' values for one KPI and year as dots on one axis, the Member's own
    as a triangle; peers the reader may not see are counted, never drawn."""
    values = [float(p.value) for p in peers] + ([float(own.value)] if own else [])
    low, high = min(values, default=0.0), max(values, default=1.0)
    x = _scale(low, high, LEFT + 8, RIGHT - 8)
    middle = (TOP + BOTTOM) / 2
    desc = f"{len(peers)} peers shown, {withheld} withheld by disclosure" + "".join(
        f"; {p.member}: {p.text}" for p in peers
    )
    if own is not None:
        desc += f"; this Member ({own.member}): {own.text}"
    body = [
        f'<line class="axis" x1="{LEFT}" y1="{_n(middle)}" x2="{RIGHT}" y2="{_n(middle)}"/>'
    ]
    stacked: dict[str, int] = {}
    for peer in sorted(peers, key=lambda p: (p.value, p.member)):
        level = stacked.get(peer.text, 0)
        stacked[peer.text] = level + 1
        cy = middle - 10 - level * 11
        body.append(
            f'<circle class="peer" cx="{_n(x(float(peer.value)))}" cy="{_n(cy)}" r="4.5">'
            f"<title>{_e(peer.member)}: {_e(peer.text)}</title></circle>"
        )
    if own is not None:
        ox = x(float(own.value))
        body.append(
            f'<path class="own" d="M{_n(ox)},{_n(middle + 6)}l7,12h-14z">'
            f"<title>{_e(own.member)} (this Member): {_e(own.text)}</title></path>"
        )
        body.append(_text(ox, middle + 34, f"{own.member} {own.text}", "middle"))
    texts = sorted([*peers, *([own] if own else [])], key=lambda p: p.value)
    if texts:
        body.append(_text(LEFT, BOTTOM + 18, texts[0].text))
        body.append(_text(RIGHT, BOTTOM + 18, texts[-1].text, "end"))
    else:
        body.append(_text(WIDTH / 2, middle - 12, "no value to compare", "middle"))
    better = {
        "higher_is_better": "higher is better →",
        "lower_is_better": "← lower is better",
    }
    if direction in better:
        body.append(_text(WIDTH / 2, BOTTOM + 18, better[direction], "middle", "direction"))
    body.append(_text(RIGHT, HEIGHT - 6, f"withheld ({withheld})", "end", "withheld"))
    return _frame(ident, title, desc, body, "distribution")
