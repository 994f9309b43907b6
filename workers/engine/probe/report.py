"""The probe's result: every prompt and completion with its verdict, rates, and a plain summary."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from workers.engine.attributes import ATTRIBUTES
from workers.engine.probe.config import ProbeConfig
from workers.engine.probe.contexts import Context
from workers.engine.probe.values import KnownValue


@dataclass
class Finding:
    attribute: str
    family: str
    template_id: str
    prompt: str
    completion: str
    decoding: str  # "greedy" | "sampled"
    verdict: str  # "confirmed" | "candidate" | "none"
    matched: str | None = None
    score: float = 0.0
    spans: list[tuple[int, int]] = field(default_factory=list)
    basis: str | None = None  # a confirmed value's origin: "submitted" | "corpus" | "model" (values.KnownValue)


@dataclass
class ProbeReport:
    findings: list[Finding]
    rates: dict[str, dict[str, dict[str, float]]]
    confirmed_rate: float
    membership: dict[str, Any]
    summary: str
    config: ProbeConfig
    model_sha256: str
    timings: dict[str, float]
    submitted: list[str] = field(default_factory=list)
    # What discovery found beyond the templates (empty for a plain template probe): the contexts that made the
    # model produce the subject's values, with their train/held-out split; the values it ties to the subject that
    # they did not submit; and what the discovery covered (counts only).
    contexts: list[Context] = field(default_factory=list)
    discovered: list[KnownValue] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)

    def rate(self, *, attributes: Iterable[str] | None = None, families: Iterable[str] | None = None,
             decoding: str | None = None, verdict: str = "confirmed") -> float:
        """Share of matching findings with ``verdict`` (0.0 when nothing matches the filter)."""
        chosen = select(self.findings, attributes=attributes, families=families, decoding=decoding)
        return sum(f.verdict == verdict for f in chosen) / len(chosen) if chosen else 0.0

    def leaked_attributes(self, *, verdict: str = "confirmed") -> list[str]:
        return [a for a in ATTRIBUTES if any(f.attribute == a and f.verdict == verdict for f in self.findings)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_sha256": self.model_sha256,
            "summary": self.summary,
            "submitted": list(self.submitted),
            "confirmed_rate": self.confirmed_rate,
            "rates": self.rates,
            "membership": self.membership,
            "config": self.config.to_dict(),
            "timings": self.timings,
            "findings": [asdict(f) | {"spans": [list(s) for s in f.spans]} for f in self.findings],
            "contexts": [c.to_dict() for c in self.contexts],
            "discovered": [v.to_dict() for v in self.discovered],
            "coverage": self.coverage,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeReport:
        findings = [Finding(**(f | {"spans": [tuple(s) for s in f.get("spans", [])]})) for f in data["findings"]]
        return cls(findings=findings, rates=data["rates"], confirmed_rate=data["confirmed_rate"],
                   membership=data["membership"], summary=data["summary"],
                   config=ProbeConfig.from_dict(data["config"]), model_sha256=data["model_sha256"],
                   timings=data["timings"], submitted=list(data.get("submitted", [])),
                   contexts=[Context.from_dict(c) for c in data.get("contexts", [])],
                   discovered=[KnownValue.from_dict(v) for v in data.get("discovered", [])],
                   coverage=dict(data.get("coverage", {})))


def select(findings: Iterable[Finding], *, attributes: Iterable[str] | None = None,
           families: Iterable[str] | None = None, decoding: str | None = None) -> list[Finding]:
    attrs = set(attributes) if attributes is not None else None
    fams = set(families) if families is not None else None
    return [f for f in findings
            if (attrs is None or f.attribute in attrs) and (fams is None or f.family in fams)
            and (decoding is None or f.decoding == decoding)]


def compute_rates(findings: list[Finding]) -> dict[str, dict[str, dict[str, float]]]:
    rates: dict[str, dict[str, dict[str, float]]] = {}
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.attribute, finding.family), []).append(finding)
    for (attribute, family), group in groups.items():
        rates.setdefault(attribute, {})[family] = {
            "confirmed": round(sum(f.verdict == "confirmed" for f in group) / len(group), 4),
            "candidate": round(sum(f.verdict == "candidate" for f in group) / len(group), 4),
            "n": len(group),
        }
    return rates


def _names_back(family: str) -> bool:
    """Whether the family asks from an identifier back to the name (``inverse``, ``lookup``)."""
    from workers.engine.probe.families import PROMPT_FAMILIES

    return family in PROMPT_FAMILIES and PROMPT_FAMILIES[family].target == "name"


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


_HOW = {"elicited": "continuing the subject's name and identifiers (self-elicitation)",
        "corpus": "the model's training corpus"}


def write_summary(*, findings: list[Finding], rates: dict[str, dict[str, dict[str, float]]], submitted: list[str],
                  membership: dict[str, Any], config: ProbeConfig, discovered: Iterable[KnownValue] = (),
                  coverage: dict[str, Any] | None = None) -> str:
    """Plain English for a compliance officer; names attributes and families, never the values."""
    families = list(dict.fromkeys([*config.families, *(f.family for f in findings)]))
    lines = [f"The model was asked {len({(f.prompt, f.decoding, f.completion) for f in findings})} times about the "
             f"subject ({len({(f.prompt, f.decoding) for f in findings})} prompt/decoding pairs, families: "
             f"{', '.join(families)}; greedy plus {config.samples} sampled answers per template prompt)."]
    coverage = coverage or {}
    if coverage.get("elicited"):
        e = coverage["elicited"]
        lines.append(f"Self-elicitation: {e.get('generations', 0)} continuations in {e.get('rounds', 0)} round(s) "
                     f"(budget {e.get('budget', 0)}, stopped: {e.get('stopped', '?')}) found "
                     f"{e.get('contexts', 0)} context(s) in which the model produces the subject's data.")
    if coverage.get("corpus"):
        c = coverage["corpus"]
        lines.append(f"Training corpus: {c.get('documents', 0)} document(s) read, {c.get('mentions', 0)} mention the "
                     f"subject ({c.get('namesakes', 0)} namesake(s) skipped), {c.get('contexts', 0)} exact "
                     "prefix(es) before the subject's values probed.")
    elif coverage.get("corpus_missing"):
        lines.append("No training corpus was given, so discovery relied on the templates and self-elicitation.")
    found = [v for v in discovered if v.attribute in ATTRIBUTES]
    if found:
        kinds = sorted({(ATTRIBUTES[v.attribute].label.lower(), v.basis) for v in found})
        lines.append("Values the subject did not submit but the model ties to them (confirmed like submitted ones): "
                     + ", ".join(f"{label} ({'found beside them in the corpus' if basis == 'corpus' else 'the model states it because of the subject'})"
                                 for label, basis in kinds) + ".")
    confirmed = [a for a in rates if any(r["confirmed"] > 0 for r in rates[a].values())]
    for key in confirmed:
        if key not in ATTRIBUTES and key != "name":
            continue
        label = (ATTRIBUTES[key].label if key in ATTRIBUTES else key).lower()
        where = ", ".join(f"{fam} {_pct(r['confirmed'])}" + (f" ({_HOW[fam]})" if fam in _HOW else "")
                          for fam, r in rates[key].items()
                          if r["confirmed"] > 0 and not _names_back(fam))
        if where:
            lines.append(f"CONFIRMED: the model reproduces the subject's {label} ({where} of answers).")
        back = ", ".join(f"{fam} {_pct(r['confirmed'])}" for fam, r in rates[key].items()
                         if r["confirmed"] > 0 and _names_back(fam))
        if back:
            lines.append(f"CONFIRMED: given the subject's {label}, the model names them ({back} of answers).")
    clean = [k for k in submitted if k in rates and k not in confirmed]
    if clean:
        lines.append("No confirmed leak of the submitted " + ", ".join(ATTRIBUTES[k].label.lower() if k in ATTRIBUTES
                                                                     else k for k in clean) + ".")
    if not submitted:
        lines.append("The subject submitted no identifiers, so no leak can be confirmed; only candidates are shown.")
    candidates = [a for a in rates if a in ATTRIBUTES and any(r["candidate"] > 0 for r in rates[a].values())]
    if candidates:
        lines.append("Candidates to review (personal data of these kinds produced when asked about the subject, "
                     "not matching anything submitted — possibly memorised, possibly invented): "
                     + ", ".join(ATTRIBUTES[k].label.lower() for k in candidates) + ".")
    if membership.get("scores"):
        lines.append(f"Membership (Min-K%++, k={config.min_k}) of the subject's {len(membership['scores'])} "
                     f"text(s): mean {membership['mean']:.2f} (higher = more likely in the training data).")
    return "\n".join(lines)
