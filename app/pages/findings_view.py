"""A finished discovery in an officer's words: which details the model reveals, how often, to which kinds of
question, with a few example answers, and the candidate leaks the officer may include in the removal.

Rates and verdicts come from the redacted report stored with the job; the example prompts and answers come
from the encrypted full report (personal data: officer pages only, never logs or audit details).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.core.logging import get_logger
from app.jobs import service as jobs_service
from app.pages.charts import share_text
from app.pages.wording import (FAMILY_LABELS, attribute_label, coverage_lines, decoding_label, family_label,
                               family_short_label)

log = get_logger(__name__)

MAX_EXAMPLES = 3
# A leak rate at or above this is shown as high (red); above 0 and below it, low (amber); 0 is green. Any leak is
# removed alike: the tone only tells the officer at a glance where the model gives the detail away most.
HIGH_LEAK_RATE = 0.25


@dataclass(frozen=True)
class Example:
    family: str
    decoding: str
    prompt: str
    completion: str


@dataclass(frozen=True)
class FamilyRate:
    family: str
    label: str
    rate: float
    asked: int


@dataclass(frozen=True)
class AttributeFinding:
    key: str
    label: str
    submitted: bool
    revealed: bool
    rate: float  # share of the answers about this detail that reproduced it (candidates: that produced one)
    asked: int
    families: list[FamilyRate]  # only the kinds of question that got it out
    examples: list[Example]


@dataclass(frozen=True)
class GridCell:
    rate: float
    asked: int
    tone: str  # "none" | "low" | "high" (css class leak-<tone>)

    @property
    def shown(self) -> str:
        return share_text(self.rate)


@dataclass(frozen=True)
class GridRow:
    key: str
    label: str
    cells: list[GridCell | None]  # one per grid family; None where this detail was never asked that way
    overall: GridCell | None


@dataclass(frozen=True)
class Grid:
    """The findings at a glance: detail x kind of question, the share of answers that reproduced the detail."""
    families: list[tuple[str, str]]  # (family, short label), columns in the wording's order
    rows: list[GridRow]
    high_from: float = HIGH_LEAK_RATE


@dataclass(frozen=True)
class FindingsView:
    job_id: str
    finished_at: datetime | None
    model_label: str
    weights_sha256: str
    asked: int
    attributes: list[AttributeFinding]  # what the subject submitted, plus anything confirmed
    candidates: list[AttributeFinding]  # details of other kinds the model produced about the subject
    membership_mean: float | None
    examples_available: bool
    coverage: list[str] = ()  # how discovery looked, in an officer's words
    grid: Grid | None = None
    reused_on: str | None = None  # the current version's label, where these findings were made on an earlier one

    @property
    def revealed(self) -> list[AttributeFinding]:
        return [a for a in self.attributes if a.revealed]

    @property
    def nothing_found(self) -> bool:
        return not self.revealed


def _order(key: str) -> tuple[int, str]:
    from app.jobs.attributes import ATTRIBUTES

    keys = list(ATTRIBUTES)
    return (keys.index(key) if key in keys else len(keys), key)


def rate_table(report: dict[str, Any], verdict: str = "confirmed") -> dict[str, dict[str, tuple[float, int]]]:
    """attribute -> family -> (share of answers with ``verdict``, answers), counted from the findings
    (present in full and redacted reports alike), falling back to the report's own ``rates``."""
    counts: dict[str, dict[str, list[int]]] = {}
    for finding in report.get("findings") or []:
        cell = counts.setdefault(finding.get("attribute"), {}).setdefault(finding.get("family"), [0, 0])
        cell[0] += finding.get("verdict") == verdict
        cell[1] += 1
    if counts:
        return {a: {f: (hit / n if n else 0.0, n) for f, (hit, n) in fams.items()} for a, fams in counts.items()}
    return {a: {f: (float(r.get(verdict, 0.0)), int(r.get("n", 0))) for f, r in fams.items()}
            for a, fams in (report.get("rates") or {}).items()}


def _attribute(key: str, table: dict[str, dict[str, tuple[float, int]]], *, submitted: bool, revealed: bool,
               examples: list[Example]) -> AttributeFinding:
    families = table.get(key, {})
    asked = sum(n for _, n in families.values())
    hits = sum(rate * n for rate, n in families.values())
    shown = [FamilyRate(family=f, label=family_label(f), rate=rate, asked=n)
             for f, (rate, n) in families.items() if rate > 0]
    return AttributeFinding(key=key, label=attribute_label(key), submitted=submitted, revealed=revealed,
                            rate=hits / asked if asked else 0.0, asked=asked,
                            families=sorted(shown, key=lambda r: -r.rate), examples=examples)


def _tone(rate: float) -> str:
    return "none" if rate <= 0 else "low" if rate < HIGH_LEAK_RATE else "high"


def _cell(rate: float, asked: int) -> GridCell | None:
    return GridCell(rate=rate, asked=asked, tone=_tone(rate)) if asked else None


def _family_order(family: str) -> tuple[int, str]:
    keys = list(FAMILY_LABELS)
    return (keys.index(family) if family in keys else len(keys), family)


def grid(table: dict[str, dict[str, tuple[float, int]]], attributes: list[AttributeFinding]) -> Grid:
    """Rows: ``attributes``; columns: every kind of question any of them was asked with. A detail the probe never
    asked a kind of question about gets an empty cell (not asked is not 0%: nothing was measured there)."""
    families = sorted({f for a in attributes for f in table.get(a.key, {})}, key=_family_order)
    rows = []
    for a in attributes:
        asked = table.get(a.key, {})
        cells = [_cell(*asked[f]) if f in asked else None for f in families]
        rows.append(GridRow(key=a.key, label=a.label, cells=cells, overall=_cell(a.rate, a.asked)))
    return Grid(families=[(f, family_short_label(f)) for f in families], rows=rows)


def _examples(full: dict[str, Any] | None, key: str, verdict: str) -> list[Example]:
    """Up to MAX_EXAMPLES distinct answers, greedy ones (what the model says by default) first."""
    if not full:
        return []
    chosen = [f for f in full.get("findings") or [] if f.get("attribute") == key and f.get("verdict") == verdict]
    chosen.sort(key=lambda f: f.get("decoding") != "greedy")
    seen: set[tuple[str, str]] = set()
    out: list[Example] = []
    for f in chosen:
        pair = (str(f.get("prompt", "")), str(f.get("completion", "")).strip())
        if pair in seen:
            continue
        seen.add(pair)
        out.append(Example(family=family_label(str(f.get("family", ""))),
                           decoding=decoding_label(str(f.get("decoding", ""))), prompt=pair[0], completion=pair[1]))
        if len(out) == MAX_EXAMPLES:
            break
    return out


def _full_report(findings: jobs_service.Findings) -> dict[str, Any] | None:
    try:
        return jobs_service.decrypt_report(findings.link)
    except Exception:  # a rotated or shredded key: the numbers still stand, only the examples are lost
        log.warning("findings.report_unreadable", job_id=findings.job.id)
        return None


def build(findings: jobs_service.Findings) -> FindingsView:
    report = findings.report
    full = _full_report(findings)
    confirmed_table = rate_table(report, "confirmed")
    candidate_table = rate_table(report, "candidate")
    confirmed = set(findings.confirmed)
    submitted = [k for k in report.get("submitted") or []]
    keys = sorted(set(submitted) | confirmed, key=_order)
    attributes = [_attribute(k, confirmed_table, submitted=k in submitted, revealed=k in confirmed,
                             examples=_examples(full, k, "confirmed")) for k in keys]
    candidates = [_attribute(k, candidate_table, submitted=k in submitted, revealed=False,
                             examples=_examples(full, k, "candidate"))
                  for k in sorted(findings.candidates, key=_order)]
    membership = report.get("membership") or {}
    job = findings.job
    return FindingsView(job_id=job.id, finished_at=job.finished_at, model_label=job.base_version.label,
                        weights_sha256=job.base_version.weights_sha256, asked=len(report.get("findings") or []),
                        attributes=attributes, candidates=candidates, membership_mean=membership.get("mean"),
                        examples_available=full is not None, coverage=coverage_lines(report.get("coverage") or {}),
                        grid=grid(confirmed_table, attributes),
                        reused_on=job.target_model.current.label if findings.reused else None)
