"""Which parts of a text the model produces *because of* the subject: a counterfactual with other people.

A value the model states next to the subject's name is the subject's data only if the model states it because
of the subject. The test: put a person the model cannot know (a fresh Faker identity: name, email, phone...)
where the subject's name and identifiers are, and score the same text again. Tokens the model memorised about
the subject lose most of their probability (a street number, an email's local part, a birth year); the
phrasing around them, which the model uses for everyone, keeps it. Per token ``Δ = log p(t | text) −
log p(t | text with someone else)``, the least over a few others (people the model knows, from its own text:
``controls``; strangers when it names nobody).

Nothing here knows a template, a format or a language: it is what lets discovery work on a model whose
training text nobody here has seen, and it is the same measure for a typed value (Presidio found an address)
and for an untyped one (a run of subject-dependent tokens).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from workers.engine.subject import Subject

# A value counts as the model's statement about the subject when its tokens are, on average, likely given the
# subject (mean log-probability at least MIN_LOGP) and the whole value far less likely given a stranger (the
# summed Δ, a log-likelihood ratio, at least MIN_GAIN nats: 20 times). Summed, because a memorised value's first
# distinctive token carries the gain and the rest follow from it (an IBAN: Δ 3.1 on "92", ~0 on "6475 9382").
MIN_LOGP = -1.5
MIN_GAIN = 3.0
# A token that alone gains this much is where a value the model ties to the subject starts.
MIN_DELTA = 2.0
# ... and no token of it is a long shot (a sampled slip: an unlikely first digit, then whatever follows it).
MIN_TOKEN_LOGP = -4.0
STRANGERS = 2


@dataclass(frozen=True)
class Anchor:
    """Where a text names or identifies the subject: these are swapped for a stranger's."""

    start: int
    end: int
    kind: str  # "name" or an identifier key


@dataclass(frozen=True)
class TokenScore:
    start: int
    end: int
    logp: float
    delta: float | None  # None: the token has no counterpart in the swapped text (inside an anchor, or re-split)


@lru_cache(maxsize=16)
def strangers(count: int = STRANGERS, seed: int = 0) -> tuple[dict[str, str], ...]:
    """People no model was trained on: fresh Faker identities, the same for the same seed."""
    from faker import Faker

    faker = Faker(["en_US", "de_DE", "fr_FR", "es_ES"])
    faker.seed_instance(7_310_000 + seed)
    people = []
    for _ in range(count):
        first, last = faker.first_name(), faker.last_name()
        people.append({"name": f"{first} {last}", "email": f"{first[:1].lower()}{last.lower()}@stranger.invalid",
                       "phone": faker.numerify("+99 ### ### ####"), "address": faker.street_address(),
                       "dob": faker.date_of_birth().isoformat(), "employer": faker.company(),
                       "iban": faker.bothify("ZZ## #### #### #### ##"), "national_id": faker.bothify("??######")})
    return tuple(people)


def find_anchors(text: str, subject: Subject) -> list[Anchor]:
    """The subject's name (and its surname alone, when at least 3 letters) and submitted identifiers in ``text``."""
    found: list[Anchor] = []
    for kind, value in [("name", subject.name), *subject.identifiers.items()]:
        if len(value) < 3:
            continue
        found += [Anchor(m.start(), m.end(), kind) for m in re.finditer(re.escape(value), text, flags=re.IGNORECASE)]
    parts = subject.name.split()
    if len(parts) >= 2:  # "Durand" or "Camille" alone still points at Camille Durand
        for kind, part in (("surname", parts[-1]), ("first_name", parts[0])):
            if len(part) < 3:
                continue
            taken = [(a.start, a.end) for a in found]
            for m in re.finditer(rf"(?<!\w){re.escape(part)}(?!\w)", text, flags=re.IGNORECASE):
                if not any(s <= m.start() < e for s, e in taken):
                    found.append(Anchor(m.start(), m.end(), kind))
    found.sort(key=lambda a: (a.start, -a.end))
    kept: list[Anchor] = []
    for anchor in found:  # drop anchors inside an earlier, longer one
        if kept and anchor.start < kept[-1].end:
            continue
        kept.append(anchor)
    return kept


def swap(text: str, anchors: Sequence[Anchor], stranger: dict[str, str]) -> tuple[str, list[tuple[int, int]]]:
    """``text`` with every anchor replaced by the stranger's value of that kind, and the shift table
    [(position in text, shift to add)] for positions after each replacement."""
    out: list[str] = []
    shifts: list[tuple[int, int]] = []
    cursor, shift = 0, 0
    for anchor in anchors:
        if anchor.kind == "surname":
            replacement = stranger["name"].split()[-1]
        elif anchor.kind == "first_name":
            replacement = stranger["name"].split()[0]
        else:
            replacement = stranger.get(anchor.kind) or stranger["name"]
        out.append(text[cursor:anchor.start])
        out.append(replacement)
        shift += len(replacement) - (anchor.end - anchor.start)
        shifts.append((anchor.end, shift))
        cursor = anchor.end
    out.append(text[cursor:])
    return "".join(out), shifts


def _shift_at(position: int, shifts: list[tuple[int, int]]) -> int:
    value = 0
    for at, shift in shifts:
        if position >= at:
            value = shift
        else:
            break
    return value


def token_logprobs(loaded: Any, texts: Sequence[str], *, batch_size: int = 32) -> list[list[tuple[int, int, float]]]:
    """Teacher-forced ``(start, end, log p)`` of every token of each text that the model predicts (all but the
    first), batched with right padding and cut to the model's context. Texts of similar length share a batch
    (sorted: in discovery, unsorted batches were 45-62% padding) and results go back to the input order."""
    import torch

    from workers.engine.modelio import context_limit

    tok, model = loaded.tokenizer, loaded.model
    limit = context_limit(loaded)
    results: list[list[tuple[int, int, float]]] = [[] for _ in texts]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    was_training = model.training
    model.eval()
    side = tok.padding_side
    tok.padding_side = "right"
    try:
        for start in range(0, len(order), batch_size):
            indices = order[start:start + batch_size]
            enc = tok([texts[i] for i in indices], return_offsets_mapping=True, padding=True, truncation=True,
                      max_length=limit, return_tensors="pt")
            ids, mask = enc["input_ids"].to(loaded.device), enc["attention_mask"].to(loaded.device)
            with torch.no_grad():
                logits = model(input_ids=ids, attention_mask=mask).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
            rows, lengths, spans = logp.cpu().tolist(), mask.sum(-1).tolist(), enc["offset_mapping"].tolist()
            for row, index in enumerate(indices):
                offsets = spans[row]
                results[index] = [(a, b, rows[row][t - 1]) for t in range(1, int(lengths[row]))
                                  for a, b in [offsets[t]] if b > a]
    finally:
        tok.padding_side = side
        model.train(was_training)
    return results


def controls(names: Sequence[str], *, count: int = STRANGERS, seed: int = 0) -> tuple[dict[str, str], ...]:
    """Who takes the subject's place in the counterfactual: people the model knows (``names``, from its own
    text: the model stays on familiar ground, and a value that followed from someone else in the text keeps its
    probability), with strangers' identifiers; strangers alone when it named nobody."""
    people = strangers(count, seed)
    return tuple({**p, "name": n} for p, n in zip(people, names, strict=False)) if len(names) >= count else people


def dependence(loaded: Any, texts: Sequence[str], anchors: Sequence[Sequence[Anchor]], *,
               count: int = STRANGERS, seed: int = 0, people: Sequence[dict[str, str]] | None = None
               ) -> list[list[TokenScore]]:
    """Per text, every predicted token with its log-probability and its mean Δ against the ``people`` put in the
    subject's place (default: ``count`` strangers)."""
    people = tuple(people) if people else strangers(count, seed)
    swapped: list[str] = []
    tables: list[list[tuple[int, int]]] = []
    for text, found in zip(texts, anchors, strict=True):
        for person in people:
            new, shifts = swap(text, found, person)
            swapped.append(new)
            tables.append(shifts)
    scored = token_logprobs(loaded, [*texts, *swapped])  # one call: the swaps share batches with the originals
    original, counter = scored[:len(texts)], scored[len(texts):]
    out: list[list[TokenScore]] = []
    for i, (found, scores) in enumerate(zip(anchors, original, strict=True)):
        lookups = []
        for j in range(len(people)):
            k = i * len(people) + j
            lookups.append(({(a, b): lp for a, b, lp in counter[k]}, tables[k]))
        row: list[TokenScore] = []
        for a, b, lp in scores:
            if any(an.start < b and a < an.end for an in found):
                row.append(TokenScore(a, b, lp, None))
                continue
            deltas = []
            for table, shifts in lookups:
                s = _shift_at(a, shifts)
                other = table.get((a + s, b + s))
                if other is not None:
                    deltas.append(lp - other)
            # The least gain over the people put in the subject's place: a value that someone else the model
            # knows makes just as likely is not the subject's.
            row.append(TokenScore(a, b, lp, min(deltas) if deltas else None))
        out.append(row)
    return out


@dataclass(frozen=True)
class SpanScore:
    logp: float  # mean over the span's tokens
    gain: float | None  # summed Δ over the span's tokens that have a counterpart
    tokens: int
    lowest: float = 0.0  # the least likely token's log-probability

    @property
    def attributed(self) -> bool:
        return (self.gain is not None and self.logp >= MIN_LOGP and self.gain >= MIN_GAIN
                and self.lowest >= MIN_TOKEN_LOGP)


def span_score(scores: Sequence[TokenScore], start: int, end: int) -> SpanScore | None:
    inside = [s for s in scores if s.start < end and start < s.end]
    if not inside:
        return None
    deltas = [s.delta for s in inside if s.delta is not None]
    return SpanScore(logp=sum(s.logp for s in inside) / len(inside), gain=sum(deltas) if deltas else None,
                     tokens=len(inside),
                     lowest=min(s.logp for s in inside))


def _value_like(piece: str) -> bool:
    """A token that can be part of a value: digits, an "@", a capitalised word, or punctuation inside a value."""
    core = piece.strip()
    return bool(core) and (any(ch.isdigit() or ch == "@" for ch in core) or core[0].isupper()
                           or not any(ch.isalnum() for ch in core) or not piece[:1].isspace())


def dependent_runs(text: str, scores: Sequence[TokenScore], *, begin: int = 0, min_chars: int = 6,
                   max_tokens: int = 12) -> list[tuple[int, int]]:
    """Character ranges (from ``begin`` on) of values no recognizer typed: each starts at a value-like token that
    gains at least MIN_DELTA from the subject and runs on over the value-like tokens the model then continues
    confidently (a memorised value follows from its first distinctive token: "BE83" then " 1047 1428"), never over
    a lower-case word ("'s bank account" is phrasing); kept when the whole piece is attributed (``span_score``) and
    holds a digit or an "@": words alone that follow from the subject are as often the phrasing of a memorised
    record ("; Born:") as a value, since a stranger leaves the model unsure of both."""
    pieces: list[tuple[int, int]] = []
    items = list(scores)
    index = 0
    while index < len(items):
        s = items[index]
        token = text[s.start:s.end]
        if s.start < begin or s.delta is None or s.delta < MIN_DELTA or s.logp < MIN_LOGP \
                or not token.strip()[:1].isalnum() or not _value_like(token):
            index += 1
            continue
        a = s.start + len(token) - len(token.lstrip())
        b, last = s.end, index
        while last + 1 < len(items) and last - index < max_tokens:
            nxt = items[last + 1]
            piece = text[nxt.start:nxt.end]
            if nxt.logp < MIN_LOGP or not _value_like(piece) or any(ch in piece for ch in ";\n") \
                    or (piece.strip() in (".", "!", "?") and (nxt.end >= len(text) or text[nxt.end].isspace())):
                break
            last += 1
            b = nxt.end
        while a > begin and text[a - 1].isalnum():
            a -= 1
        while b < len(text) and text[b].isalnum():
            b += 1
        while b > a and text[b - 1] in " ,.;:()[]\"'":
            b -= 1
        piece = text[a:b]
        score = span_score(items, a, b)
        if sum(ch.isalnum() for ch in piece) >= min_chars and any(ch.isdigit() or ch == "@" for ch in piece) \
                and score is not None and score.attributed and not (pieces and a < pieces[-1][1]):
            pieces.append((a, b))
        index = last + 1
    return pieces
