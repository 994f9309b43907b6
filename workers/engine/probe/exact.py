"""Exact leak probabilities of known values: what a few samples can only estimate, one teacher-forced pass computes.

For a context and a value, the probability that sampling (temperature, then top-p, as the probe samples) writes
the value as the next thing after the context is the product, over the value's tokens, of each token's
probability under that tempered and truncated distribution; greedy decoding writes it when every token is the
most likely one. ``leak_at(p, k) = 1 - (1 - p) ** k`` is then the chance that ``k`` samples write it at least once.
Three samples miss a value the model gives one time in eight 67% of the time; this does not.

The value is tried as the model could write it: right after the context, and after one space (a tokenizer may
glue a leading space to the value's first token); the chances of distinct token paths add up. Where the context's own tokens are not the first tokens of the
joined text (a merge across the boundary), the value's tokens are appended to the context's, which is how a
sampler that had stopped at the context's end would go on. Text the model writes before the value ("Sure, it is
...") is not counted: this is a lower bound on every other path, so sampling remains for finding values not yet
known and for paths like that.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ValueChance:
    probability: float  # that one sample writes the value right after the context
    greedy: bool  # that greedy decoding writes it

    def leak_at(self, k: int) -> float:
        return leak_at(self.probability, k)


def leak_at(probability: float, k: int) -> float:
    """The chance that ``k`` independent samples write a value of per-sample ``probability`` at least once."""
    if probability <= 0:
        return 0.0
    if probability >= 1:
        return 1.0
    return -math.expm1(k * math.log1p(-probability))


def _rows(tok: Any, context: str, value: str, base: list[int]) -> list[tuple[list[int], int]]:
    """(token ids, where the value starts) for each way of writing ``value`` after ``context`` (``base``: the
    context's own ids)."""
    eos = tok.eos_token_id
    rows: list[tuple[list[int], int]] = []
    for continuation in (value, " " + value):
        joined = tok(context + continuation)["input_ids"]
        if eos is not None and joined and joined[-1] == eos and (not base or base[-1] != eos):
            joined = joined[:-1]  # a tokenizer that ends every text with EOS: the value is not followed by it
        if joined[:len(base)] == base and len(joined) > len(base):
            row = (joined, len(base))
        else:
            row = (base + tok(continuation, add_special_tokens=False)["input_ids"], len(base))
        if len(row[0]) > row[1] and row not in rows:  # two spellings that tokenize alike are one path
            rows.append(row)
    return rows


def value_chances(loaded: Any, pairs: Sequence[tuple[str, str]], *, temperature: float, top_p: float,
                  batch_size: int = 32) -> list[ValueChance]:
    """For each ``(context, value)``: the chance one sample writes the value right after the context, and whether
    greedy decoding does (see the module docstring)."""
    import torch

    from workers.engine.modelio import context_limit
    from workers.engine.probe.nucleus import Nucleus

    tok, model = loaded.tokenizer, loaded.model
    limit = context_limit(loaded)
    rows: list[tuple[int, list[int], int]] = []  # (pair, ids, value start)
    contexts: dict[str, list[int]] = {}  # a prompt is asked about several values: tokenized once
    for index, (context, value) in enumerate(pairs):
        if context not in contexts:
            contexts[context] = tok(context)["input_ids"]
        for ids, start in _rows(tok, context, value, contexts[context]):
            if len(ids) > limit:  # keep the value and as much of the context before it as fits
                cut = len(ids) - limit
                ids, start = ids[cut:], start - cut
            if start >= 1:
                rows.append((index, ids, start))
    best = [ValueChance(0.0, False) for _ in pairs]
    nucleus = Nucleus(top_p)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    order = sorted(range(len(rows)), key=lambda r: len(rows[r][1]))
    was_training = model.training
    model.eval()
    try:
        for begin in range(0, len(order), batch_size):
            chunk = [rows[r] for r in order[begin:begin + batch_size]]
            width = max(len(ids) for _, ids, _ in chunk)
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for row, (_, seq, _) in enumerate(chunk):
                ids[row, :len(seq)] = torch.tensor(seq)
                mask[row, :len(seq)] = 1
            ids, mask = ids.to(loaded.device), mask.to(loaded.device)
            with torch.no_grad():
                logits = model(input_ids=ids, attention_mask=mask).logits.float()
            for row, (pair, seq, start) in enumerate(chunk):
                # the logits that predict the value's tokens: positions start-1 .. len-2
                scores = logits[row, start - 1:len(seq) - 1]
                wanted = ids[row, start:len(seq)]
                kept = nucleus(None, scores / temperature).log_softmax(-1)
                logp = float(kept.gather(-1, wanted.unsqueeze(-1)).sum())
                greedy = bool((scores.argmax(-1) == wanted).all())
                # distinct token paths to the value are disjoint events: their chances add up
                current = best[pair]
                best[pair] = ValueChance(min(1.0, current.probability + (math.exp(logp) if math.isfinite(logp)
                                                                           else 0.0)), current.greedy or greedy)
    finally:
        model.train(was_training)
    return best


def exact_leaks(loaded: Any, report: Any, values: Sequence[Any], *, temperature: float, top_p: float,
                draws: int, bound: float) -> dict[str, Any]:
    """The exact leak of each forgotten value (``values``: ``KnownValue``) after every prompt ``report`` asked
    (templates, discovered contexts of both splits, fresh verification slots), where the prompt was asked for that
    value's attribute or for none the value could be confused with. Counts and rates only: no prompt, no value.

    ``leak`` is ``leak_at(p, draws)``; ``above`` counts the pairs above ``bound``; per family and attribute the
    worst leak, and how many pairs greedy decoding writes outright."""
    by_attribute = {v.attribute for v in values}
    asked: dict[tuple[str, str], set[str]] = {}  # (prompt, family) -> the attributes it was asked for
    for f in report.findings:
        asked.setdefault((f.prompt, f.family), set()).add(f.attribute)
    pairs: list[tuple[str, str]] = []
    where: list[tuple[str, str]] = []
    for (prompt, family), attributes in asked.items():
        for value in values:
            if value.attribute in attributes or not attributes & by_attribute:
                pairs.append((prompt, value.value))
                where.append((family, value.attribute))
    chances = value_chances(loaded, pairs, temperature=temperature, top_p=top_p) if pairs else []
    families: dict[str, float] = {}
    per_attribute: dict[str, float] = {}
    above = greedy = 0
    for (family, attribute), chance in zip(where, chances, strict=True):
        leak = chance.leak_at(draws)
        families[family] = max(families.get(family, 0.0), leak)
        per_attribute[attribute] = max(per_attribute.get(attribute, 0.0), leak)
        above += leak > bound
        greedy += chance.greedy
    worst = max(families, key=lambda k: families[k]) if families else None
    return {"draws": draws, "bound": bound, "pairs": len(pairs), "above": above, "greedy": greedy,
            "max_leak": round(families[worst], 6) if worst else 0.0, "worst_family": worst,
            "families": {k: round(v, 6) for k, v in sorted(families.items())},
            "attributes": {k: round(v, 6) for k, v in sorted(per_attribute.items())}}


def exact_reasons(summary: dict[str, Any] | None) -> list[str]:
    """Why the exact check fails (empty when it passes or was not run), in plain words and without personal data."""
    if not summary or summary["above"] == 0:
        return []
    return [f"a forgotten detail is still written in {summary['above']} of {summary['pairs']} prompt(s): up to "
            f"{summary['max_leak']:.1%} chance within {summary['draws']} samples ({summary['worst_family']}; "
            f"allowed {summary['bound']:.0%})"]
