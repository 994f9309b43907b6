"""Format tokens: pieces of a personal value that most people's values share, so they carry no FPGA ascent.

FPGA puts the ascent on every token of a personal span, and those include the value's format: the "@", "."
and "example" of an email, the "(" ")" "-" of a phone number, the "," of an address, an IBAN's country code.
The model gives them to everyone, so pushing them down erodes other people's answers (the retain KL then
holds the whole update back), and they share the batch's normalisation with the person-specific tokens.
Measured on the small demo model (FPGA, docs/benchmarks.md part 3): with these tokens unweighted, Megan Chang's
address, stuck for 60 steps at " 8764 Howard Forge, West 8764." because the ascent sat on tokens whose
probability was ~1 and on the generic ones, is forgotten by step 130 at 0.965 of other people's accuracy.

A token is a format token when it occurs in the answers about at least ``share`` of the other people in the
retain data (the model's own answers, ``retain.generate_retain``; for a retain file, each example counts as
one person). Only tokens from retain data, never from the subject's data, decide it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from workers.engine.methods.batching import TrainExample

# Half the people: a token that many values contain identifies nobody. Measured on the small demo model's
# generated retain data (12 people): at 0.5 the set is punctuation, "@", "example", "com", " BE"/" NO" (IBAN
# country codes), " and", plus two chance hits (" December", " 27"); at 0.2 it also took street and first names
# (" Howard", Megan Chang's own street) and Megan Chang kept 0.918 of accuracy instead of 0.965.
SHARE = 0.5
MIN_PEOPLE = 5  # below this a share says nothing


def format_token_ids(tokenizer: Any, retain: Iterable[TrainExample], *, share: float = SHARE) -> frozenset[int]:
    """Token ids in the retain answers of at least ``share`` of the people they are about."""
    per_person: dict[str, set[int]] = {}
    for i, ex in enumerate(retain):
        if ex.source not in ("retain-answer", "retain-file") or not ex.completion.strip():
            continue
        person = ex.meta.get("person") or f"#{i}"
        ids = tokenizer(ex.completion, add_special_tokens=False)["input_ids"]
        per_person.setdefault(person, set()).update(ids)
    if len(per_person) < MIN_PEOPLE:
        return frozenset()
    counts: dict[int, int] = {}
    for ids in per_person.values():
        for t in ids:
            counts[t] = counts.get(t, 0) + 1
    return frozenset(t for t, c in counts.items() if c / len(per_person) >= share)
