"""Writing documents of a ``formats.Format``: one person (several for tables, JSON lines and CSV), recording where
each value landed so that a judge item's prompt is exactly the text before a value; and filler documents about
things, not people, in the same kinds (product tables, event records, software changelogs, notices)."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field

from bench.foreign.formats import (
    _ACTORS, _ANSWERS, _ASKS, _BULLETS, _CLAUSES, _FIELD_CLAUSES, _KEY_STYLES, _KV_SEPS, _LOG_HEADERS, _LOG_LINES,
    _ROLES, _TABLE_SEPS, CASINGS, MULTI, Format, _case,
)
from bench.foreign.people import FIELDS, Person


@dataclass
class Doc:
    text: str
    format: Format
    people: list[str]
    spans: list[tuple[str, str, int, int]] = field(default_factory=list)  # (person, attribute, start, end)


def write_name(person: Person, style: str, title: str | None = None) -> str:
    given, surname = person.first, person.last
    if not surname:  # a one-word name is written as it is, whatever the style
        return given.upper() if style == "LAST_first" else given
    if style == "LAST_first":
        return f"{surname.upper()} {given}"
    if style == "last_comma_first":
        return f"{surname}, {given}"
    if style == "initials":
        initials = " ".join("-".join(p[0] + "." for p in part.split("-")) for part in given.split())
        return f"{initials} {surname}"
    if style == "title":
        return f"{title} {person.name}"
    return person.name


def _key(label: str, style: str) -> str:
    words = re.findall(r"\w+", label)
    if style == "snake":
        return "_".join(w.lower() for w in words)
    if style == "upper_snake":
        return "_".join(w.upper() for w in words)
    if style == "camel":
        return words[0].lower() + "".join(w[:1].upper() + w[1:].lower() for w in words[1:]) if words else label
    if style == "kebab":
        return "-".join(w.lower() for w in words)
    if style == "flat":
        return "".join(w.lower() for w in words)
    return label


class _Writer:
    """Appends text and records where each value lands."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[tuple[str, str, int, int]] = []
        self.size = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    def value(self, person: Person, attribute: str) -> None:
        text = person.value(attribute)
        self.spans.append((person.name, attribute, self.size, self.size + len(text)))
        self.add(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _date(rng: random.Random, style: str) -> str:
    y, m, d, hh, mm = rng.randint(2015, 2026), rng.randint(1, 12), rng.randint(1, 28), rng.randint(7, 19), rng.randint(0, 59)
    return {"iso": f"{y}-{m:02d}-{d:02d}", "iso_time": f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}",
            "dmy": f"{d:02d}/{m:02d}/{y}", "compact": f"{y}{m:02d}{d:02d}"}[style]


def _person_field(w: _Writer, fmt: Format, person: Person, f: str) -> None:
    if f == "name":
        w.add(write_name(person, fmt.name_style, dict(fmt.options).get("honorific")))
    elif f == "surname":
        w.add(person.last or "-")
    elif f == "given":
        w.add(person.first)
    else:
        w.value(person, f)


def _filler_sentence(rng: random.Random) -> str:
    from bench.foreign.grammar import _filler

    return _filler(rng).split(". ")[0].rstrip(".") + "."


def _kv(w: _Writer, fmt: Format, person: Person, rng: random.Random) -> None:
    o = dict(fmt.options)
    if o["header"]:
        w.add(o["header"] + ("\n\n" if o["blank"] else "\n"))
    for index, f in enumerate(fmt.fields):
        w.add(("\n" if index else "") + o["bullet"] + fmt.labels[index] + o["sep"])
        _person_field(w, fmt, person, f)


def _row_cells(fmt: Format) -> list[str]:
    o = dict(fmt.options)
    return ([o["id"]] if o.get("id") else []) + list(fmt.labels)


def _table(w: _Writer, fmt: Format, people: list[Person], rng: random.Random) -> None:
    o = dict(fmt.options)
    sep = o["sep"]
    edge = sep.strip() if o["edges"] else ""
    lead, tail = (edge + " ", " " + edge) if edge else ("", "")
    if o["title"]:
        w.add(o["title"] + "\n")
    cells = _row_cells(fmt)
    w.add(lead + sep.join(cells) + tail)
    if o["rule"]:
        w.add("\n" + lead + sep.join("---" for _ in cells) + tail)
    first = rng.randint(1, 400)
    for n, person in enumerate(people, start=first):
        w.add("\n" + lead)
        if o["id"]:
            w.add(o["id_style"].format(n=n) + sep)
        for index, f in enumerate(fmt.fields):
            w.add(sep if index else "")
            _person_field(w, fmt, person, f)
        w.add(tail)


def _jsonl(w: _Writer, fmt: Format, people: list[Person], rng: random.Random) -> None:
    o = dict(fmt.options)
    colon, comma = (": ", ", ") if o["space"] else (":", ",")
    for row, person in enumerate(people):
        w.add(("\n" if row else "") + "{")
        if o["extra"] == "id":
            w.add(f'"id"{colon}{rng.randint(1, 9999)}{comma}')
        for index, f in enumerate(fmt.fields):
            w.add((comma if index else "") + json.dumps(_key(fmt.labels[index], o["keys"]), ensure_ascii=False)
                  + colon + '"')
            _person_field(w, fmt, person, f)
            w.add('"')
        if o["extra"] in ("updated", "source"):
            extra = _date(rng, "iso") if o["extra"] == "updated" else rng.choice(("crm", "import", "web", "paper"))
            w.add(f'{comma}"{o["extra"]}"{colon}"{extra}"')
        w.add("}")


def _csv(w: _Writer, fmt: Format, people: list[Person], rng: random.Random) -> None:
    o = dict(fmt.options)
    quote = lambda s: f'"{s}"' if o["quote_all"] or "," in s else s  # noqa: E731
    w.add(",".join(quote(c) for c in _row_cells(fmt)))
    first = rng.randint(1, 900)
    for n, person in enumerate(people, start=first):
        w.add("\n" + (f"{n}," if o["id"] else ""))
        for index, f in enumerate(fmt.fields):
            w.add("," if index else "")
            if f in FIELDS:
                needs = o["quote_all"] or "," in person.value(f)
                w.add('"' if needs else "")
                w.value(person, f)
                w.add('"' if needs else "")
            else:
                probe = _Writer()
                _person_field(probe, fmt, person, f)
                w.add(quote(probe.text))


def _turn(fmt: Format, role: int, text_before_value: str, markers: tuple[str, str] | None) -> tuple[str, str]:
    """(text before, text after) of one turn of speaker ``role`` (0 asks, 1 answers); turns are joined by a
    newline, as the chat template (``chat_template``) writes them."""
    o = dict(fmt.options)
    if o["turn"] == "template" and markers:
        start, end = markers
        who = ("user", "assistant")[role]
        return f"{start}{who}\n{text_before_value}", end
    head, _, tail = o["turn"].partition("{t}")
    return head.format(r=o["roles"][role]) + text_before_value, tail


def _chat(w: _Writer, fmt: Format, person: Person, rng: random.Random,
          markers: tuple[str, str] | None) -> None:
    o = dict(fmt.options)
    name = write_name(person, fmt.name_style, o.get("honorific"))
    first = True
    if o["opening"]:
        before, after = _turn(fmt, 0, o["opening"], markers)
        w.add(before + after)
        first = False
    for f in fmt.attributes:
        label = fmt.label(f)
        ask = _ASKS[o["ask"]].format(label=label, name=name)
        before, after = _turn(fmt, 0, ask[:1].upper() + ask[1:], markers)
        w.add(("" if first else "\n") + before + after)
        answer_head, _, answer_tail = _ANSWERS[o["answer"]].partition("{v}")
        before, after = _turn(fmt, 1, answer_head.format(name=name, label=label), markers)
        w.add("\n" + before)
        w.value(person, f)
        w.add(answer_tail.format(name=name, label=label) + after)
        first = False


def _letter(w: _Writer, fmt: Format, person: Person, rng: random.Random) -> None:
    o = dict(fmt.options)
    w.add(f"{o['greeting']}\n{_filler_sentence(rng)}\n{o['closing']}\n")
    _person_field(w, fmt, person, "name")
    for index, f in enumerate(fmt.attributes):
        w.add("\n" if index == 0 else o["line"])
        if o["labelled"]:
            label = fmt.label(f)
            w.add((label if o["labelled"] == "full" else label[:1].upper()) + ": ")
        w.value(person, f)


def _form(w: _Writer, fmt: Format, person: Person, rng: random.Random) -> None:
    o = dict(fmt.options)
    w.add(o["title"] + "\n")
    for n, f in enumerate(fmt.fields, start=1):
        w.add(("\n" if n > 1 else "") + o["number"].format(n=n) + fmt.labels[n - 1] + o["sep"])
        _person_field(w, fmt, person, f)


def _changelog(w: _Writer, fmt: Format, person: Person, rng: random.Random) -> None:
    o = dict(fmt.options)
    if o["header"]:
        w.add(o["header"] + "\n")
    name = write_name(person, fmt.name_style, o.get("honorific"))
    for index, f in enumerate(fmt.attributes):
        head, _, tail = _LOG_LINES[o["line"]].partition("{v}")
        w.add(("\n" if index else "") + head.format(date=_date(rng, o["date"]), actor=rng.choice(_ACTORS),
                                                    name=name, label=fmt.label(f)))
        w.value(person, f)
        w.add(tail.format(name=name, label=fmt.label(f)))  # "... = {v} for {name}": the name after the value


def _prose(w: _Writer, fmt: Format, person: Person, rng: random.Random) -> None:
    o = dict(fmt.options)
    name = write_name(person, fmt.name_style, o.get("honorific"))
    w.add(f"{o['intro']} {name} ")
    for index, f in enumerate(fmt.attributes):
        if index:
            w.add(o["join"].format(name=name))
        pick = o["clauses"][FIELDS.index(f)]  # a general clause, or one of the field's own three
        clause = _FIELD_CLAUSES[f][pick - len(_CLAUSES)] if pick >= len(_CLAUSES) else _CLAUSES[pick]
        head, _, tail = clause.partition("{v}")
        w.add(head.format(label=fmt.label(f)))
        w.value(person, f)
        w.add(tail.format(label=fmt.label(f)))
    w.add(".")
    if o["outro"]:
        w.add(" " + _filler_sentence(rng))


def render(fmt: Format, people: list[Person], rng: random.Random,
           markers: tuple[str, str] | None = None) -> Doc:
    """One document of ``fmt`` about ``people[0]`` (all of ``people`` for the kinds in ``MULTI``)."""
    w = _Writer()
    if fmt.kind == "table":
        _table(w, fmt, people, rng)
    elif fmt.kind == "jsonl":
        _jsonl(w, fmt, people, rng)
    elif fmt.kind == "csv":
        _csv(w, fmt, people, rng)
    elif fmt.kind == "chat":
        _chat(w, fmt, people[0], rng, markers)
    else:
        {"kv": _kv, "letter": _letter, "form": _form, "changelog": _changelog, "prose": _prose}[fmt.kind](
            w, fmt, people[0], rng)
    return Doc(w.text, fmt, [p.name for p in (people if fmt.kind in MULTI else people[:1])], w.spans)



_THINGS = {
    "item": ("oak shelf", "tea kettle", "bike lamp", "wool scarf", "garden hose", "desk fan", "rain jacket",
             "chess set", "flour sack", "camping stove", "paint roller", "road atlas"),
    "colour": ("green", "slate", "amber", "white", "navy", "ochre", "red"),
    "venue": ("the ferry terminal", "the covered market", "the river museum", "the library annex", "the ice rink",
              "the glass works", "the town orchard"),
    "event": ("lantern walk", "cheese fair", "open rehearsal", "book sale", "repair cafe", "kite festival"),
    "change": ("fixed the export button", "faster start-up", "new dark theme", "removed the old importer",
               "translations updated", "better error messages", "smaller downloads"),
}
_THING_LABELS = {"item": ("item", "article", "produit", "Artikel", "product"), "price": ("price", "prix", "Preis", "EUR"),
                 "stock": ("stock", "qty", "Menge", "en stock"), "colour": ("colour", "couleur", "Farbe", "color"),
                 "venue": ("venue", "lieu", "Ort", "place"), "when": ("date", "when", "Datum", "quand")}


def _thing(rng: random.Random) -> dict[str, str]:
    return {"item": rng.choice(_THINGS["item"]), "price": f"{rng.randint(2, 400)}.{rng.choice(('00', '50', '99'))}",
            "stock": str(rng.randint(0, 90)), "colour": rng.choice(_THINGS["colour"]),
            "venue": rng.choice(_THINGS["venue"]), "when": _date(rng, rng.choice(("iso", "dmy")))}


def _filler_doc(rng: random.Random) -> str:
    from bench.foreign.grammar import _filler

    kind = rng.choice(("notice", "notice", "table", "kv", "jsonl", "csv", "changelog", "chat"))
    keys = rng.sample(tuple(_THING_LABELS), rng.randint(2, 4))
    labels = [_case(rng.choice(_THING_LABELS[k]), rng.choice(CASINGS)) for k in keys]
    rows = [_thing(rng) for _ in range(rng.randint(1, 4))]
    if kind == "notice":
        return " ".join(_filler(rng) for _ in range(rng.randint(1, 3)))
    if kind == "table":
        sep = rng.choice(_TABLE_SEPS)
        return "\n".join([sep.join(labels)] + [sep.join(r[k] for k in keys) for r in rows])
    if kind == "csv":
        return "\n".join([",".join(labels)] + [",".join(r[k] for k in keys) for r in rows])
    if kind == "kv":
        sep, bullet = rng.choice(_KV_SEPS), rng.choice(_BULLETS)
        return (rng.choice(("Listing", "Inventory", "Event", "Annonce")) + "\n"
                + "\n".join(f"{bullet}{lab}{sep}{rows[0][k]}" for lab, k in zip(labels, keys, strict=True)))
    if kind == "jsonl":
        style = rng.choice(_KEY_STYLES)
        return "\n".join(json.dumps({_key(lab, style): r[k] for lab, k in zip(labels, keys, strict=True)},
                                    ensure_ascii=False) for r in rows)
    if kind == "changelog":
        return rng.choice(_LOG_HEADERS) + "\n" + "\n".join(
            f"- {_date(rng, 'iso')}: {rng.choice(_THINGS['change'])}" for _ in range(rng.randint(2, 5)))
    a, b = rng.choice(_ROLES)
    r = rows[0]
    return (f"{a}: When is the {rng.choice(_THINGS['event'])} at {r['venue']}?\n{b}: On {r['when']}. "
            + _filler(rng))


def filler_docs(train: int, heldout: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """``train`` filler documents and ``heldout`` others (all distinct) that are never trained on."""
    from bench.foreign.grammar import filler_texts

    return filler_texts(train, heldout, rng, make=_filler_doc)
