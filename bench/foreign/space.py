"""The format space: a seed's documents and the judge's items, from formats composed of primitives.

``formats.draw_space(seed, chat_markers)`` gives a seed's training formats (every kind, some twice) and its question
formats: drawn from the same primitives with one field each, and never rendered into training text.
``writing.render`` writes one document of a format and records where each value landed; ``writing.filler_docs``
writes documents about things, not people, in the same kinds, which make up a large share of the corpus. Here:
who appears in which formats (``plan_documents``) and the judge's items (``training_items``, ``question_items``).
"""

from __future__ import annotations

import random
from typing import Any

from bench.foreign.formats import (
    CHAT_MARKERS, KINDS, LABELS, MULTI, NAME_STYLES, QUESTION_KINDS, Format, chat_template, draw_format, draw_space,
)
from bench.foreign.people import FIELDS, Person
from bench.foreign.writing import Doc, filler_docs, render, write_name

# One place to import the space from: its vocabulary, drawing and writing, and its documents and items.
__all__ = ["CHAT_MARKERS", "KINDS", "LABELS", "MULTI", "NAME_STYLES", "QUESTION_KINDS", "Doc", "Format",
           "chat_template", "draw_format", "draw_space", "filler_docs", "plan_documents", "question_items", "render",
           "training_items", "write_name"]


def plan_documents(people: list[Person], formats: list[Format], rng: random.Random, *, per_person: int = 4,
                   markers: tuple[str, str] | None = None) -> list[Doc]:
    """Each person in at least ``per_person`` formats that together hold all five attributes; the people of a
    table, JSON-lines or CSV format share its documents, two to four rows each. Shuffled."""
    chosen: dict[str, list[Format]] = {}
    for person in people:
        pool = list(formats)
        rng.shuffle(pool)
        mine: list[Format] = []
        covered: set[str] = set()
        while set(FIELDS) - covered or len(mine) < per_person:
            useful = [f for f in pool if set(f.attributes) - covered]
            pick = rng.choice(useful or pool)  # any format that adds an attribute: people differ in formats
            pool.remove(pick)
            mine.append(pick)
            covered |= set(pick.attributes)
        chosen[person.name] = mine
    by_name = {p.name: p for p in people}
    docs: list[Doc] = []
    for fmt in formats:
        members = [by_name[n] for n, fs in chosen.items() if fmt in fs]
        if fmt.kind not in MULTI:
            docs += [render(fmt, [p], rng, markers) for p in members]
            continue
        rng.shuffle(members)
        start = 0
        while start < len(members):
            width = min(len(members) - start, rng.randint(2, 4))
            if len(members) - start - width == 1:
                width += 1  # no table of one
            docs.append(render(fmt, members[start:start + width], rng, markers))
            start += width
    rng.shuffle(docs)
    return docs


def _prompt(text: str, start: int) -> str:
    """The text before a value; a space right before it belongs to the value's first token and is left out."""
    prompt = text[:start]
    return prompt[:-1] if prompt.endswith(" ") else prompt


def training_items(docs: list[Doc], half: str) -> list[dict[str, Any]]:
    return [{"person": person, "attribute": attribute, "value": doc.text[start:end],
             "prompt": _prompt(doc.text, start), "family": f"train/{doc.format.kind}", "half": half,
             "kind": "training-prefix", "phrasing": doc.format.short, "doc": index}
            for index, doc in enumerate(docs) for person, attribute, start, end in doc.spans]


def question_items(people: list[Person], questions: list[Format], half: str, rng: random.Random,
                   markers: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Each question format asked of each person: its text up to the value, never trained on."""
    items = []
    for person in people:
        for q in questions:
            doc = render(q, [person], rng, markers)
            for _, attribute, start, _ in doc.spans:
                items.append({"person": person.name, "attribute": attribute, "value": person.value(attribute),
                              "prompt": _prompt(doc.text, start), "family": f"question/{q.kind}", "half": half,
                              "kind": "paraphrase", "phrasing": q.short})
    return items
