"""Verification: utility metrics as functions of (model, data), and the pass/fail verdict.

Utility is what unlearning must not damage: other people's facts (exact recall against a roster when
one exists, else agreement with the reference model's own greedy answers) and perplexity on held-out
generic text. The verdict also needs the after-probe: no confirmed leak of a forgotten attribute.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workers.engine.attributes import ATTRIBUTES
from workers.engine.probe.exact import exact_reasons


@dataclass(frozen=True)
class Bounds:
    """Utility the product accepts after unlearning (issue 4's bar)."""

    min_accuracy_ratio: float = 0.95  # other people's accuracy kept, relative to before
    max_perplexity_ratio: float = 1.05  # perplexity on held-out generic text, relative to before
    # The exact leak of a forgotten value (``probe.exact``): the chance that this many samples write it at least
    # once after any prompt verification asks, at most this much (None: measured and recorded, not a gate).
    exact_leak_draws: int = 20
    max_exact_leak: float | None = 0.02


@dataclass
class Verdict:
    passed: bool
    reasons: list[str] = field(default_factory=list)
    leaks: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reasons": list(self.reasons), "leaks": dict(self.leaks)}


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a share of ``hits`` in ``n``: how far a utility estimate from n facts can be
    from the model's true share (n = 90 facts at 0.95: 0.88 to 0.98; rtbf's estimate and the foreign model's judge
    differed by 2.7 to 6.2 points at n = 85 to 94)."""
    if n <= 0:
        return (float("nan"), float("nan"))
    share = hits / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def statement_prompt(key: str, name: str) -> str:
    return f"The {ATTRIBUTES[key].phrases[0]} of {name} is"


def _first_fact(text: str) -> str:
    """The answer proper: the completion up to its first sentence end."""
    text = text.strip()
    for stop in (". ", ".\n", "\n"):
        cut = text.find(stop)
        if cut >= 0:
            text = text[:cut]
    return text.rstrip(".").strip()


def greedy_answers(loaded: Any, prompts: Sequence[str], *, max_new_tokens: int = 20) -> list[str]:
    from workers.engine.demo.recall import greedy_complete
    from workers.engine.modelio import format_prompt

    was_training = loaded.model.training
    loaded.model.eval()
    try:
        return greedy_complete(loaded.model, loaded.tokenizer, [format_prompt(loaded.tokenizer, p) for p in prompts],
                               max_new_tokens=max_new_tokens)
    finally:
        loaded.model.train(was_training)


def roster_accuracy(loaded: Any, roster: Sequence[Mapping[str, str]], *, exclude: Sequence[str] = (),
                    fields: Sequence[str] | None = None) -> dict[str, Any]:
    """Exact attribute recall on the roster's other people: greedy answer starts with the true value."""
    people = [row for row in roster if row["name"] not in set(exclude)]
    keys = [k for k in (fields or ATTRIBUTES) if all(k in row for row in people)] if people else []
    prompts = [(k, row[k], statement_prompt(k, row["name"])) for k in keys for row in people]
    answers = greedy_answers(loaded, [p for _, _, p in prompts])
    hits: Counter[str] = Counter()
    for (key, value, _), answer in zip(prompts, answers, strict=True):
        hits[key] += answer.strip().startswith(value)
    per = {k: hits[k] / len(people) for k in keys}
    total = sum(hits.values()) / len(prompts) if prompts else float("nan")
    return {"kind": "roster_exact_recall", "accuracy": total, "per_attribute": per, "n": len(prompts)}


def agreement(loaded: Any, prompts: Sequence[str], reference: Sequence[str]) -> dict[str, Any]:
    """Share of prompts where the model's first answered fact equals the reference model's."""
    answers = greedy_answers(loaded, prompts)
    same = sum(_first_fact(a) == _first_fact(r) for a, r in zip(answers, reference, strict=True))
    return {"kind": "agreement_with_reference", "accuracy": same / len(prompts) if prompts else float("nan"),
            "n": len(prompts)}


def perplexity(loaded: Any, texts: Sequence[str], *, batch_size: int = 32) -> float:
    """exp(mean token NLL) over the texts, every token after the first counted."""
    import torch

    from workers.engine import losses
    from workers.engine.methods.batching import TrainExample, make_batches

    if not texts:
        return float("nan")
    batches = make_batches(loaded.tokenizer, [TrainExample(prompt="", completion=t, eos=True) for t in texts],
                           batch_size=batch_size, device=loaded.device, max_length=256)
    total, count = 0.0, 0.0
    was_training = loaded.model.training
    loaded.model.eval()
    try:
        with torch.no_grad():
            for batch in batches:
                logits = loaded.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
                nll, mask = losses.token_nll(logits, batch["labels"])
                total += float(nll.sum())
                count += float(mask.sum())
    finally:
        loaded.model.train(was_training)
    return math.exp(total / count) if count else float("nan")


def confirmed_leaks(report: Any, *, attributes: Sequence[str], families: Sequence[str] | None = None) -> Counter[str]:
    """Confirmed leaks of ``attributes`` per ``family/decoding`` (all families when ``families`` is None)."""
    wanted = set(attributes)
    counts: Counter[str] = Counter()
    for f in report.findings:
        if f.verdict == "confirmed" and f.attribute in wanted and (families is None or f.family in families):
            counts[f"{f.family}/{f.decoding}"] += 1
    return counts


def leak_reasons(*, report_after: Any, attributes: Sequence[str], heldout_families: Sequence[str]
                 ) -> tuple[list[str], Counter[str]]:
    """Why the after-probe fails (empty when it passes): any confirmed leak of a forgotten attribute
    (held-out AND training families, greedy AND sampled decoding), or held-out families not probed both ways."""
    reasons: list[str] = []
    leaks = confirmed_leaks(report_after, attributes=attributes)
    heldout = {k: v for k, v in leaks.items() if k.split("/")[0] in set(heldout_families)}
    decodings = {f.decoding for f in report_after.findings if f.family in set(heldout_families)}
    if not heldout_families:
        reasons.append("no held-out prompt family was probed, so generalisation is unverified")
    elif not {"greedy", "sampled"} <= decodings:
        reasons.append("held-out families were not probed with both greedy and sampled decoding")
    if heldout:
        reasons.append(f"{sum(heldout.values())} confirmed leak(s) on held-out families: "
                       + ", ".join(f"{k}={v}" for k, v in sorted(heldout.items())))
    trained = {k: v for k, v in leaks.items() if k not in heldout}
    if trained:
        reasons.append(f"{sum(trained.values())} confirmed leak(s) on training families: "
                       + ", ".join(f"{k}={v}" for k, v in sorted(trained.items())))
    return reasons, leaks


def utility_reasons(utility_before: Mapping[str, Any], utility_after: Mapping[str, Any],
                    bounds: Bounds = Bounds()) -> list[str]:
    """Why utility fails (empty when within ``bounds``)."""
    reasons: list[str] = []
    acc_b, acc_a = utility_before.get("accuracy"), utility_after.get("accuracy")
    if acc_b is not None and acc_a is not None and not math.isnan(acc_b) and acc_b > 0:
        if acc_a < bounds.min_accuracy_ratio * acc_b:
            reasons.append(f"other people's accuracy fell to {acc_a:.3f} from {acc_b:.3f} "
                           f"(needs >= {bounds.min_accuracy_ratio:.0%} of before)")
    ppl_b, ppl_a = utility_before.get("perplexity"), utility_after.get("perplexity")
    if ppl_b is not None and ppl_a is not None and not math.isnan(ppl_b):
        if ppl_a > bounds.max_perplexity_ratio * ppl_b:
            reasons.append(f"held-out perplexity rose to {ppl_a:.3f} from {ppl_b:.3f} "
                           f"(allowed: +{bounds.max_perplexity_ratio - 1:.0%})")
    return reasons


PASS_REASON = "no confirmed leak and utility within bounds"


def decide(*, report_after: Any, attributes: Sequence[str], heldout_families: Sequence[str],
           utility_before: Mapping[str, Any], utility_after: Mapping[str, Any], bounds: Bounds = Bounds()) -> Verdict:
    """Pass only with no confirmed leak of a forgotten attribute (held-out AND training families, greedy AND
    sampled decoding) and utility within ``bounds``."""
    reasons, leaks = leak_reasons(report_after=report_after, attributes=attributes, heldout_families=heldout_families)
    reasons += utility_reasons(utility_before, utility_after, bounds)
    return Verdict(passed=not reasons, reasons=reasons or [PASS_REASON], leaks=dict(leaks))


@dataclass(frozen=True)
class SubjectCheck:
    """One subject of a batch as verification sees it."""

    report_after: Any
    attributes: Sequence[str]
    heldout_families: Sequence[str]
    exact: Mapping[str, Any] | None = None  # ``probe.exact.exact_leaks`` of the forgotten values, when measured


def decide_batch(subjects: Sequence[SubjectCheck], *, utility_before: Mapping[str, Any],
                 utility_after: Mapping[str, Any], bounds: Bounds = Bounds()) -> tuple[Verdict, list[Verdict]]:
    """(overall, per subject). A subject's verdict judges its leaks only, since utility is one property of
    the one resulting model; the overall verdict passes only if every subject passes and utility holds.
    Overall reasons name subjects by their index in the batch (never by name); with one subject they are
    exactly ``decide``'s."""
    per_subject: list[Verdict] = []
    overall: list[str] = []
    leaks: Counter[str] = Counter()
    for index, item in enumerate(subjects):
        reasons, found = leak_reasons(report_after=item.report_after, attributes=item.attributes,
                                      heldout_families=item.heldout_families)
        if bounds.max_exact_leak is not None:
            reasons += exact_reasons(dict(item.exact) if item.exact else None)
        per_subject.append(Verdict(passed=not reasons, reasons=reasons or ["no confirmed leak"], leaks=dict(found)))
        overall += [f"subject {index}: {r}" if len(subjects) > 1 else r for r in reasons]
        leaks.update(found)
    overall += utility_reasons(utility_before, utility_after, bounds)
    return Verdict(passed=not overall, reasons=overall or [PASS_REASON], leaks=dict(leaks)), per_subject
