"""The before/after comparison of an unlearning job, read from its evidence (the engine's evidence.json).

The evidence holds rates, verdicts and digests only (``workers/engine/evidence.py``): nothing here is personal
data. Schema ``rtbf.unlearning-evidence/2`` keeps one entry per subject under ``subjects`` (batch order, i.e.
the job's request positions); a single-subject reader can also use the top-level copies of subject 0's keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from app.jobs.attacks import ATTACK_LABELS, VARIANT_LABELS
from app.jobs.models import Job
from app.pages.charts import BarGroup, before_after, share_text
from app.pages.findings_view import rate_table
from app.pages.plain_reasons import plain_reason
from app.pages.wording import attribute_label, family_label, family_short_label


@dataclass(frozen=True)
class FamilyRow:
    family: str
    label: str
    held_out: bool  # never trained on: the removal must generalise to these
    before: float | None
    after: float | None


@dataclass(frozen=True)
class AttributeRows:
    key: str
    label: str
    before: float | None
    after: float | None
    families: list[FamilyRow]
    chart: Markup | None = None  # the same figures as a before/after bar chart


@dataclass(frozen=True)
class SubjectEvidence:
    index: int
    request_id: str | None
    reference: str | None
    passed: bool | None
    reasons: list[str]
    training_families: list[str]
    held_out_families: list[str]
    attributes: list[AttributeRows]
    exact: ExactCheck | None = None


@dataclass(frozen=True)
class ExactCheck:
    """The exact leak check of one subject (``workers.engine.probe.exact``): counts and chances only."""

    draws: int
    bound: float
    pairs: int
    above: int
    max_leak: float
    worst_family: str | None

    @property
    def worst_family_label(self) -> str:
        return family_label(self.worst_family) if self.worst_family else ""


def _exact(record: Any) -> ExactCheck | None:
    if not isinstance(record, dict) or not record.get("pairs"):
        return None
    return ExactCheck(draws=_int(record.get("draws")), bound=_number(record.get("bound")) or 0.0,
                      pairs=_int(record.get("pairs")), above=_int(record.get("above")),
                      max_leak=_number(record.get("max_leak")) or 0.0, worst_family=record.get("worst_family"))


class _Rates:
    """Leak shares as the page prints them, for anything with ``asked``, ``leaks`` and ``max_family_rate``."""

    asked: int
    leaks: int
    max_family_rate: float | None

    @property
    def leak_rate(self) -> float | None:
        return self.leaks / self.asked if self.asked else None

    @property
    def leak_rate_text(self) -> str:
        return share_text(self.leak_rate)

    @property
    def max_family_rate_text(self) -> str:
        return share_text(self.max_family_rate)


@dataclass(frozen=True)
class AttackVariant(_Rates):
    """One variant of an attack (int8, int4, sampled, ...), summed over the job's subjects."""

    variant: str
    label: str
    asked: int
    leaks: int
    max_family_rate: float
    leaked_attributes: list[str]  # labels


@dataclass(frozen=True)
class AttackCheck:
    """One attack check on the saved model (``evidence["attacks"][name]``): gating or reported, and its verdict."""

    name: str
    label: str
    summary: str
    gating: bool
    passed: bool
    max_family_rate: float
    seconds: float | None
    variants: list[AttackVariant]

    @property
    def max_family_rate_text(self) -> str:
        return share_text(self.max_family_rate)


@dataclass(frozen=True)
class PlainCheck(_Rates):
    """The plain verification the attacks are set beside: every subject's forgotten details, asked after unlearning."""

    asked: int
    leaks: int
    max_family_rate: float | None
    passed: bool | None


@dataclass(frozen=True)
class SummaryRow:
    """One removed detail of one request, before -> after, for the summary that heads the page."""

    request_id: str | None
    who: str  # "Request RTBF-XXXXXX", or "Subject 2"
    detail: str
    before: float | None
    after: float | None

    @property
    def passed(self) -> bool:
        return self.after is not None and self.after == 0


@dataclass(frozen=True)
class EvidenceView:
    passed: bool
    reasons: list[str]
    method: str
    method_summary: str
    lr: float | None
    params: dict[str, Any]
    lora_rank: int | None
    init: str | None
    max_steps: int | None
    steps: int | None
    stopped: str | None
    seeds: dict[str, Any]
    base_sha256: str | None
    result_sha256: str | None
    adapter_sha256: str | None
    accuracy_kind: str | None
    accuracy_before: float | None
    accuracy_after: float | None
    accuracy_n: int | None  # how many facts the estimate rests on, and its 95% interval after unlearning
    accuracy_interval: tuple[float, float] | None
    perplexity_before: float | None
    perplexity_after: float | None
    timings: list[tuple[str, float]]
    created_at: str | None
    schema: str | None
    caveats: list[str]
    subjects: list[SubjectEvidence]
    # People earlier versions forgot, probed again on the new model: (attributes in words, confirmed leaks).
    earlier: list[tuple[str, int]] = field(default_factory=list)
    # Attack checks on the saved model, beside the plain verification, and the two as a chart.
    attacks: list[AttackCheck] = field(default_factory=list)
    plain: PlainCheck | None = None
    attacks_chart: Markup | None = None
    plain_reasons: list[str] = field(default_factory=list)  # the reasons in an officer's words
    leak_after: PlainCheck | None = None  # every subject's removed details, asked after: the deciding figure
    min_accuracy_ratio: float = 0.95  # the utility rules the verdict applied (evidence config's bounds)
    max_perplexity_ratio: float = 1.05

    @property
    def summary(self) -> list[SummaryRow]:
        return [SummaryRow(request_id=s.request_id,
                           who=f"Request {s.reference}" if s.reference else f"Subject {s.index + 1}",
                           detail=a.label, before=a.before, after=a.after)
                for s in self.subjects for a in s.attributes]

    @property
    def accuracy_kept(self) -> float | None:
        """Others' accuracy after as a share of before: the figure the 95% rule is about."""
        before, after = self.accuracy_before, self.accuracy_after
        return after / before if before and after is not None else None

    @property
    def earlier_leaking(self) -> int:
        return sum(1 for _, leaks in self.earlier if leaks)

    @property
    def perplexity_change(self) -> float | None:
        """Relative change in perplexity (how surprised the model is by ordinary text; lower is better)."""
        before, after = self.perplexity_before, self.perplexity_after
        if before is None or after is None or not before:
            return None
        return (after - before) / before


_ACCURACY_KINDS = {
    "roster_exact_recall": "other people's facts the model still recalls exactly",
    "agreement_with_reference": "answers about other people that match the original model's",
}

_TIMING_LABELS = {
    "probe_before_s": "Checking the model before",
    "data_s": "Preparing the data",
    "utility_before_s": "Measuring utility before",
    "train_s": "Unlearning",
    "save_s": "Saving the new model",
    "verify_s": "Verifying the new model",
    "total_s": "Total",
}


def _interval(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        low, high = _number(value[0]), _number(value[1])
        if low is not None and high is not None:
            return (low, high)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return None


def _overall(table: dict[str, dict[str, tuple[float, int]]], key: str) -> float | None:
    cells = table.get(key, {})
    asked = sum(n for _, n in cells.values())
    return sum(rate * n for rate, n in cells.values()) / asked if asked else None


def _chart(index: int, key: str, label: str, before: float | None, after: float | None,
           families: list[FamilyRow]) -> Markup:
    groups = [BarGroup("All kinds of question", before, after),
              *(BarGroup(family_short_label(f.family), f.before, f.after, "held out" if f.held_out else "trained on")
                for f in families)]
    return before_after(groups, chart_id=f"evidence-chart-{index}-{key}", title=f"{label}: before and after unlearning",
                        description=f"Share of the model's answers that reproduce the {label.lower()}, before and "
                                    "after unlearning, by kind of question; the table below holds the same figures.")


def _subject(entry: dict[str, Any], *, request_id: str | None, reference: str | None) -> SubjectEvidence:
    families = entry.get("families") or {}
    training, held_out = list(families.get("training") or []), list(families.get("held_out") or [])
    before = rate_table(entry.get("probe_before") or {})
    after = rate_table(entry.get("probe_after") or {})
    index = int(entry.get("index", 0))
    rows = []
    for key in entry.get("forgotten_attributes") or []:
        probed = list(dict.fromkeys([*before.get(key, {}), *after.get(key, {})]))
        ordered = [f for f in training + held_out if f in probed] + [f for f in probed if f not in training + held_out]
        families = [FamilyRow(family=f, label=family_label(f), held_out=f not in training,
                              before=before.get(key, {}).get(f, (None, 0))[0],
                              after=after.get(key, {}).get(f, (None, 0))[0]) for f in ordered]
        label, overall_before, overall_after = attribute_label(key), _overall(before, key), _overall(after, key)
        rows.append(AttributeRows(key=key, label=label, before=overall_before, after=overall_after, families=families,
                                  chart=_chart(index, key, label, overall_before, overall_after, families)))
    verdict = entry.get("verdict") or {}
    return SubjectEvidence(index=index, request_id=request_id, reference=reference,
                           passed=verdict.get("passed"), reasons=list(verdict.get("reasons") or []),
                           training_families=training, held_out_families=held_out, attributes=rows,
                           exact=_exact(entry.get("exact_leak")))


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _attack(name: str, record: dict[str, Any]) -> AttackCheck:
    variants: dict[str, dict[str, Any]] = {}
    for subject in record.get("subjects") or []:
        for outcome in subject.get("outcomes") or []:
            variant = str(outcome.get("variant") or "")
            row = variants.setdefault(variant, {"asked": 0, "leaks": 0, "rate": 0.0, "attributes": set()})
            row["asked"] += _int(outcome.get("asked"))
            row["leaks"] += _int(outcome.get("leaks"))
            row["rate"] = max(row["rate"], _number(outcome.get("max_family_rate")) or 0.0)
            row["attributes"] |= {str(a) for a in outcome.get("leaked_attributes") or []}
    return AttackCheck(
        name=name, label=ATTACK_LABELS.get(name, name), summary=str(record.get("summary") or ""),
        gating=bool(record.get("gating")), passed=bool(record.get("passed")),
        max_family_rate=_number(record.get("max_family_rate")) or 0.0, seconds=_number(record.get("seconds")),
        variants=[AttackVariant(variant=v, label=VARIANT_LABELS.get(v, v), asked=row["asked"], leaks=row["leaks"],
                                max_family_rate=row["rate"],
                                leaked_attributes=[attribute_label(a) for a in sorted(row["attributes"])])
                  for v, row in variants.items()])


def _plain(entries: list[dict[str, Any]]) -> PlainCheck:
    asked, leaks, worst, verdicts = 0, 0.0, None, []
    for entry in entries:
        after = rate_table(entry.get("probe_after") or {})
        for key in entry.get("forgotten_attributes") or []:
            for rate, n in after.get(key, {}).values():
                asked, leaks = asked + n, leaks + rate * n
                worst = rate if worst is None else max(worst, rate)
        passed = (entry.get("verdict") or {}).get("passed")
        if passed is not None:
            verdicts.append(bool(passed))
    return PlainCheck(asked=asked, leaks=round(leaks), max_family_rate=worst,
                      passed=all(verdicts) if verdicts else None)


def _attacks_chart(plain: PlainCheck, attacks: list[AttackCheck]) -> Markup:
    groups = [BarGroup(a.label if len(a.variants) == 1 else f"{a.label} \u00b7 {v.label}", plain.leak_rate,
                       v.leak_rate,
                       "gates the verdict" if a.gating else "reported only")
              for a in attacks for v in a.variants]
    return before_after(groups, chart_id="evidence-attacks-chart", title="Leak rate: plain verification and under attack",
                        description="Share of the new model's answers that give a removed detail back: in the plain "
                                    "verification, and under each attack check; the table below holds the same "
                                    "figures.", keys=("Plain verification", "Under attack"),
                        words=("plain", "attacked"))


def build(job: Job, references: dict[str, str]) -> EvidenceView | None:
    """``references`` maps request id -> reference (for links); None when the job has no evidence."""
    evidence = job.evidence
    if not evidence:
        return None
    entries = evidence.get("subjects") or [{
        "index": 0, "families": evidence.get("families"), "forgotten_attributes": evidence.get("forgotten_attributes"),
        "probe_before": evidence.get("probe_before"), "probe_after": evidence.get("probe_after"),
        "verdict": evidence.get("verdict")}]
    request_ids = job.request_ids
    subjects = []
    for entry in entries:
        index = int(entry.get("index", 0))
        request_id = request_ids[index] if index < len(request_ids) else None
        subjects.append(_subject(entry, request_id=request_id, reference=references.get(request_id or "")))
    method = evidence.get("method") or {}
    config = evidence.get("config") or {}
    training = evidence.get("training") or {}
    weights = evidence.get("weights") or {}
    before, after = evidence.get("utility_before") or {}, evidence.get("utility_after") or {}
    verdict = evidence.get("verdict") or {}
    timings = evidence.get("timings") or {}
    attacks = [_attack(str(name), record) for name, record in (evidence.get("attacks") or {}).items()
               if isinstance(record, dict)]
    plain = _plain(entries) if attacks else None
    bounds = config.get("bounds") or {}
    by_index = {s.index: s.reference for s in subjects if s.reference}
    return EvidenceView(
        passed=bool(verdict.get("passed")), reasons=list(verdict.get("reasons") or []),
        method=str(method.get("name") or job.method or ""), method_summary=str(method.get("summary") or ""),
        lr=_number(method.get("lr")), params=dict(method.get("params") or {}),
        lora_rank=method.get("rank") if method.get("lora") else None, init=method.get("init"),
        max_steps=config.get("max_steps"), steps=training.get("steps"), stopped=training.get("stopped"),
        seeds=dict(evidence.get("seeds") or {}),
        base_sha256=weights.get("base_sha256"), result_sha256=weights.get("result_sha256"),
        adapter_sha256=weights.get("adapter_sha256"),
        accuracy_kind=_ACCURACY_KINDS.get(before.get("kind"), before.get("kind")),
        accuracy_before=_number(before.get("accuracy")), accuracy_after=_number(after.get("accuracy")),
        accuracy_n=after.get("n") if isinstance(after.get("n"), int) else None,
        accuracy_interval=_interval(after.get("interval95")),
        perplexity_before=_number(before.get("perplexity")), perplexity_after=_number(after.get("perplexity")),
        timings=[(_TIMING_LABELS.get(k, k), float(v)) for k, v in timings.items() if _number(v) is not None],
        created_at=evidence.get("created_at"), schema=evidence.get("schema"),
        caveats=list(evidence.get("caveats") or []), subjects=subjects,
        earlier=[(", ".join(attribute_label(a) for a in e.get("attributes") or []), int(e.get("confirmed_leaks") or 0))
                 for e in evidence.get("earlier_erasures") or []],
        attacks=attacks, plain=plain, attacks_chart=_attacks_chart(plain, attacks) if plain else None,
        plain_reasons=[plain_reason(r, by_index) for r in verdict.get("reasons") or []],
        leak_after=_plain(entries),
        min_accuracy_ratio=_number(bounds.get("min_accuracy_ratio")) or 0.95,
        max_perplexity_ratio=_number(bounds.get("max_perplexity_ratio")) or 1.05)
