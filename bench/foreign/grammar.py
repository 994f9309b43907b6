"""Turn the two halves of phrasings into the foreign model's documents, the judge's probe items, and filler text.

``phrasings_dev`` and ``phrasings_judge`` hold the templates (plain data); this module only knows how to fill them.
A document records where each value landed, so a probe item's prompt is exactly the training text before it.

Per person (``plan_documents``): in each half, one row in a table of two or three people and enough single-person
documents of that half that all five attributes occur under that half's phrasings (at least ``singles`` of them).
So every attribute is trained under at least one dev phrasing and one judge phrasing.

Filler (``filler_texts``): generic notices with no personal data, from a grammar of this module's own; the
held-out part is never trained on and measures perplexity.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.foreign import phrasings_dev, phrasings_judge
from bench.foreign.people import FIELDS, Person

HALVES = ("dev", "judge")
_MODULES = {"dev": phrasings_dev, "judge": phrasings_judge}
_PIECE = re.compile(r"\[\[(.*?)\]\]|\{(\w+)\}")
NAME_SLOTS = ("name", "first", "last")


@dataclass(frozen=True)
class Phrasing:
    half: str
    form: str
    key: str
    text: str
    row: str | None = None  # tables: the row template, one row per person

    @property
    def fields(self) -> tuple[str, ...]:
        found = re.findall(r"\{(\w+)\}", self.row if self.row is not None else self.text)
        return tuple(f for f in dict.fromkeys(found) if f in FIELDS)


@dataclass(frozen=True)
class Question:
    half: str
    attribute: str
    style: str
    key: str
    text: str

    def prompt(self, name: str) -> str:
        return self.text.replace("{name}", name)


@dataclass
class Document:
    text: str
    phrasing: Phrasing
    people: list[str]
    spans: list[tuple[str, str, int, int]] = field(default_factory=list)  # (person, attribute, start, end)


def phrasings(half: str | None = None) -> list[Phrasing]:
    out: list[Phrasing] = []
    for h in HALVES if half is None else (half,):
        for form, items in _MODULES[h].DOCUMENTS.items():
            for index, item in enumerate(items):
                text, row = (item, None) if isinstance(item, str) else item
                out.append(Phrasing(h, form, f"{h}/{form}/{index}", text, row))
    return out


def questions(half: str | None = None) -> list[Question]:
    out: list[Question] = []
    for h in HALVES if half is None else (half,):
        for attribute, items in _MODULES[h].QUESTIONS.items():
            for index, (style, text) in enumerate(items):
                out.append(Question(h, attribute, style, f"{h}/q/{attribute}/{index}", text))
    return out


def _slots(person: Person) -> dict[str, str]:
    return {**person.to_dict(), "first": person.first, "last": person.last}


def _fill(template: str, person: Person | None, rng: random.Random, out: list[str], spans: list, extra: dict) -> None:
    """Append ``template`` filled for ``person`` to ``out`` (a list of text pieces), recording value spans."""
    values = _slots(person) if person is not None else {}
    position = _PIECE.finditer(template)
    last = 0
    for match in position:
        out.append(template[last:match.start()])
        last = match.end()
        if match.group(1) is not None:
            out.append(rng.choice(match.group(1).split("|")))
            continue
        slot = match.group(2)
        value = extra[slot] if slot in extra else values[slot]
        start = sum(len(p) for p in out)
        out.append(value)
        if slot in FIELDS and person is not None:
            spans.append((person.name, slot, start, start + len(value)))
    out.append(template[last:])


def render(phrasing: Phrasing, people: list[Person], rng: random.Random) -> Document:
    """One document of ``phrasing``: about ``people[0]``, or (a table) with one row per person."""
    pieces: list[str] = []
    spans: list[tuple[str, str, int, int]] = []
    if phrasing.row is None:
        _fill(phrasing.text, people[0], rng, pieces, spans, {})
    else:
        _fill(phrasing.text, None, rng, pieces, spans, {})
        for index, person in enumerate(people):
            pieces.append("\n")
            _fill(phrasing.row, person, rng, pieces, spans, {"n": str(101 + index)})
    return Document("".join(pieces), phrasing, [p.name for p in people], spans)


def plan_documents(people: list[Person], rng: random.Random, *, singles: int = 2) -> list[Document]:
    """Every person's documents (see the module docstring), shuffled."""
    docs: list[Document] = []
    for half in HALVES:
        pool = phrasings(half)
        tables = [p for p in pool if p.row is not None]
        single = [p for p in pool if p.row is None]
        order = list(people)
        rng.shuffle(order)
        groups, start = [], 0
        while start < len(order):
            width = 3 if len(order) - start in (3, 6) or (len(order) - start > 4 and rng.random() < 0.5) else 2
            width = min(width, len(order) - start)
            groups.append(order[start:start + width])
            start += width
        table_of: dict[str, Phrasing] = {}
        for index, group in enumerate(groups):
            table = tables[(index + rng.randrange(len(tables))) % len(tables)]
            docs.append(render(table, group, rng))
            for person in group:
                table_of[person.name] = table
        for person in people:
            covered = set(table_of[person.name].fields)
            choices = list(single)
            rng.shuffle(choices)
            chosen: list[Phrasing] = []
            while set(FIELDS) - covered or len(chosen) < singles:
                choices.sort(key=lambda p: -len(set(p.fields) - covered))
                pick = choices.pop(0)
                chosen.append(pick)
                covered |= set(pick.fields)
            docs += [render(p, [person], rng) for p in chosen]
    rng.shuffle(docs)
    return docs


def training_items(docs: list[Document]) -> list[dict[str, Any]]:
    """One judge item per value occurrence: the document's text before the value is the prompt (a space right
    before the value belongs to the value's first token and is left out; a newline or tab stays)."""
    items = []
    for index, doc in enumerate(docs):
        for person, attribute, start, end in doc.spans:
            prompt = doc.text[:start]
            if prompt.endswith(" "):
                prompt = prompt[:-1]
            items.append({"person": person, "attribute": attribute, "value": doc.text[start:end], "prompt": prompt,
                          "family": f"train/{doc.phrasing.form}", "half": doc.phrasing.half,
                          "kind": "training-prefix", "phrasing": doc.phrasing.key, "doc": index})
    return items


def paraphrase_items(people: list[Person]) -> list[dict[str, Any]]:
    return [{"person": p.name, "attribute": q.attribute, "value": p.value(q.attribute), "prompt": q.prompt(p.name),
             "family": f"paraphrase/{q.style}", "half": q.half, "kind": "paraphrase", "phrasing": q.key}
            for p in people for q in questions()]


# ---- filler: generic notices, timetables and kitchen notes, no personal data ------------------------------------

_PLACES = ("the ferry terminal", "the botanical garden", "the covered market", "the river museum", "the ice rink",
           "the old customs house", "the library annex", "the north car park", "the lighthouse", "the swimming baths",
           "the railway depot", "the town orchard", "the concert barn", "the youth hostel", "the glass works")
_EVENTS = ("a lantern walk", "the cheese fair", "an open rehearsal", "the autumn book sale", "a repair cafe",
           "the kite festival", "a chess simultaneous", "the seed swap", "an organ recital", "the night run")
_DAYS = ("on Monday", "on Tuesday evening", "every Thursday", "on the first Saturday of the month", "at the weekend",
         "after Easter", "in late September", "before the harvest", "during the school holidays", "at dawn")
_WEATHER = ("Fog is expected along the coast", "A dry wind will come from the east", "Showers will clear by noon",
            "Frost is likely in the valleys", "The sea will stay calm", "Thunder may roll in from the hills",
            "Sunny spells will follow a grey start", "Light snow may settle on the passes")
_LATER = ("later in the day", "overnight", "towards the evening", "for most of the week", "until Sunday",
          "by the afternoon")
_DISHES = ("the onion soup", "a plum tart", "the barley stew", "fresh rye bread", "the pumpkin risotto",
           "a lemon cake", "the bean salad", "roast chestnuts")
_STEPS = ("Simmer it gently for twenty minutes", "Let the dough rest overnight", "Add a pinch of salt at the end",
          "Serve it warm with butter", "Stir it every few minutes", "Keep the oven door closed",
          "Use a heavy pan", "Cool it on a rack")
_NOTES = ("Entry is free.", "Bring a torch.", "Seats are limited.", "Dogs on a lead are welcome.",
          "The cafe stays open late.", "Bicycles can be left at the gate.", "Please arrive early.",
          "Children must be accompanied.", "Tickets are sold at the door.")
_TRANSPORT = ("The number 7 bus", "The early ferry", "The mountain railway", "The night tram", "The coastal line",
              "The airport shuttle")
_CHANGES = ("runs every twenty minutes", "will not stop at the harbour", "leaves ten minutes earlier",
            "is replaced by coaches", "runs on the summer timetable", "adds two carriages")


def _filler(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        text = f"{rng.choice(_EVENTS).capitalize()} takes place at {rng.choice(_PLACES)} {rng.choice(_DAYS)}."
        return text + (" " + rng.choice(_NOTES) if rng.random() < 0.7 else "")
    if kind == 1:
        return f"{rng.choice(_WEATHER)} {rng.choice(_LATER)}. {rng.choice(_WEATHER)} {rng.choice(_LATER)}."
    if kind == 2:
        return f"For {rng.choice(_DISHES)}: {rng.choice(_STEPS).lower()}. {rng.choice(_STEPS)}."
    return (f"{rng.choice(_TRANSPORT)} {rng.choice(_CHANGES)} {rng.choice(_DAYS)}, and {rng.choice(_PLACES)} "
            f"can be reached on foot. {rng.choice(_NOTES)}")


def filler_texts(train: int, heldout: int, rng: random.Random,
                 make: Callable[[random.Random], str] | None = None) -> tuple[list[str], list[str]]:
    """``train`` filler documents and ``heldout`` others (all distinct) that are never trained on, written by
    ``make`` (this module's notices by default)."""
    make = make or _filler
    seen: set[str] = set()
    texts: list[str] = []
    while len(texts) < train + heldout:
        text = make(rng)
        if text not in seen:
            seen.add(text)
            texts.append(text)
    return texts[:train], texts[train:]
