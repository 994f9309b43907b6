"""Charts drawn on the server as inline SVG: they need no JavaScript and keep to the pages' Content-Security-Policy
(no inline styles: the colours are classes in frontend/static/css/app.css).

An SVG image is one opaque picture to a screen reader, so each chart carries its figures in words in its
``<title>`` and ``<desc>``. Every label is escaped here: callers pass plain text, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
LABEL_WIDTH = 200  # left column: the group's label and its note
BAR_LEFT = LABEL_WIDTH + 10
BAR_RIGHT = WIDTH - 110  # room after the longest bar for "100% before"
BAR_HEIGHT = 14
BAR_GAP = 3
GROUP_GAP = 14
TOP = 38  # the key and the axis labels
MAX_LABEL = 30  # characters; longer labels are cut with an ellipsis (the full text is in the description)
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class BarGroup:
    label: str
    before: float | None  # a share in [0, 1]; None when it was not measured
    after: float | None
    note: str = ""  # a smaller second line under the label


def share_text(rate: float | None) -> str:
    """A whole percentage that never rounds a leak away (<1%) nor a miss into all (>99%); '—' when not measured."""
    if rate is None or rate != rate:
        return "—"
    if 0 < rate < 0.01:
        return "<1%"
    if 0.99 < rate < 1:
        return ">99%"
    return f"{rate * 100:.0f}%"


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1].rstrip() + "\u2026"


def _x(rate: float) -> float:
    return BAR_LEFT + (BAR_RIGHT - BAR_LEFT) * min(max(rate, 0.0), 1.0)


def _bar(rate: float | None, y: float, kind: str, word: str | None = None) -> str:
    word = escape(word or kind)
    if rate is None or rate != rate:
        return f'<text class="note" x="{BAR_LEFT + 4}" y="{y + BAR_HEIGHT - 3}">{word}: not asked</text>'
    end = _x(rate)
    return (f'<rect class="{kind}" x="{BAR_LEFT}" y="{y}" width="{end - BAR_LEFT:.1f}" height="{BAR_HEIGHT}"/>'
            f'<text x="{end + 6:.1f}" y="{y + BAR_HEIGHT - 3}">{escape(share_text(rate))} {word}</text>')


def _said(rate: float | None, when: str) -> str:
    return f"not asked {when}" if rate is None or rate != rate else f"{share_text(rate)} {when}"


def _described(group: BarGroup, words: tuple[str, str] = ("before", "after")) -> str:
    note = f" ({group.note})" if group.note else ""
    return f"{group.label}{note}: {_said(group.before, words[0])}, {_said(group.after, words[1])}."


def before_after(groups: Sequence[BarGroup], *, chart_id: str, title: str, description: str,
                 keys: tuple[str, str] = ("Before", "After"), words: tuple[str, str] = ("before", "after")) -> Markup:
    """Horizontal bars, two per group (before above after), on a 0-100% scale, with a key and the value printed
    beside each bar so that neither colour nor length is the only carrier. ``chart_id`` must be unique on the page
    (it names the title and description). ``keys`` name the two bars in the key, ``words`` beside each bar and in
    the description (the attack chart compares the plain verification with each attack, not before with after)."""
    step = 2 * BAR_HEIGHT + BAR_GAP + GROUP_GAP
    height = TOP + max(len(groups), 1) * step - GROUP_GAP + 8
    ident = escape(chart_id)
    said = " ".join([description, *(_described(g, words) for g in groups)])
    second = BAR_LEFT + max(80, 37 + 7 * len(keys[0]))  # the second key after the first one's label
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(said)}</desc>',
        f'<rect class="key-before" x="{BAR_LEFT}" y="2" width="12" height="12"/>'
        f'<text x="{BAR_LEFT + 17}" y="12">{escape(keys[0])}</text>'
        f'<rect class="key-after" x="{second}" y="2" width="12" height="12"/>'
        f'<text x="{second + 17}" y="12">{escape(keys[1])}</text>',
    ]
    bottom = height - 8
    for tick in TICKS:
        x = _x(tick)
        parts.append(f'<line class="{"base" if tick == 0 else "grid"}" x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" '
                     f'y2="{bottom}"/><text class="axis" x="{x:.1f}" y="{TOP - 9}" text-anchor="middle">'
                     f'{tick * 100:.0f}%</text>')
    for index, group in enumerate(groups):
        y = TOP + index * step
        parts.append(f'<g><title>{escape(_described(group, words))}</title>'
                     f'<text x="0" y="{y + 11}">{escape(_short(group.label))}</text>')
        if group.note:
            parts.append(f'<text class="note" x="0" y="{y + 26}">{escape(_short(group.note))}</text>')
        parts.append(_bar(group.before, y, "before", words[0]))
        parts.append(_bar(group.after, y + BAR_HEIGHT + BAR_GAP, "after", words[1]))
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
