"""Document formats composed from primitives, drawn from a seed: the format space the judge's models are made of.

A ``Format`` is a record kind (``KINDS``: prose with the facts mid-paragraph, key-value blocks, tables with any
separator, JSON lines with any key names and order, CSV under a header, chat transcripts with roles, letters and
e-mail signatures, forms, changelogs) with everything else drawn: which fields and in what order (the name need
not come first), the label of each field from vocabularies in several languages and registers, their casing, how
the name is written (``NAME_STYLES``), separators, bullets, headers, roles, key styles, quoting. Nothing is chosen
among written document templates: the same seed always gives the same formats, and another seed other formats
(``Format.key`` identifies one).

``draw_space(seed, chat_markers)`` gives a seed's training formats (every kind, some twice) and its question
formats: drawn from the same primitives with one field each, and never rendered into training text. ``render``
writes one document of a format about one person (several for tables, JSON lines and CSV) and records where each
value landed, so a judge item's prompt is exactly the text before a value. ``filler_docs`` writes documents about
things, not people, in the same kinds (product tables, event records, software changelogs, notices), which make up
a large share of the corpus.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

from bench.foreign.people import FIELDS, Person

KINDS = ("prose", "kv", "table", "jsonl", "csv", "chat", "letter", "form", "changelog")
MULTI = ("table", "jsonl", "csv")  # several people per document
QUESTION_KINDS = ("chat", "kv", "prose", "form", "jsonl", "table", "letter")
NAME_STYLES = ("first_last", "LAST_first", "last_comma_first", "initials", "title")

# Field labels in several languages and registers; "name", "surname" and "given" label the person.
LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "name": {"en": ("name", "full name", "person", "contact", "holder", "customer", "employee"),
             "fr": ("nom", "nom complet", "titulaire"), "de": ("Name", "vollständiger Name", "Inhaber"),
             "es": ("nombre", "nombre completo", "titular"), "it": ("nome", "nominativo"),
             "nl": ("naam", "volledige naam"), "pl": ("imię i nazwisko",), "sv": ("namn",), "pt": ("nome completo",)},
    "surname": {"en": ("surname", "last name", "family name"), "fr": ("nom de famille",), "de": ("Nachname",),
                "es": ("apellidos",), "it": ("cognome",), "nl": ("achternaam",), "pl": ("nazwisko",),
                "sv": ("efternamn",), "pt": ("apelido",)},
    "given": {"en": ("given name(s)", "first name", "forename"), "fr": ("prénom",), "de": ("Vorname",),
              "es": ("nombre de pila",), "it": ("nome di battesimo",), "nl": ("voornaam",), "pl": ("imię",),
              "sv": ("förnamn",), "pt": ("nome próprio",)},
    "email": {"en": ("e-mail", "email", "email address", "mail", "contact", "e-mail addr."),
              "fr": ("courriel", "adresse électronique", "mél"), "de": ("E-Mail-Adresse", "E-Mail", "Mail"),
              "es": ("correo electrónico", "correo"), "it": ("posta elettronica", "indirizzo email"),
              "nl": ("e-mailadres",), "pl": ("adres e-mail",), "sv": ("e-postadress", "e-post"), "pt": ("correio",)},
    "phone": {"en": ("phone", "tel.", "telephone", "mobile", "phone no.", "cell"), "fr": ("téléphone", "tél.", "portable"),
              "de": ("Telefon", "Tel.", "Handy", "Rufnummer"), "es": ("teléfono", "móvil", "tfno."),
              "it": ("telefono", "cellulare", "tel"), "nl": ("telefoonnummer", "mobiel"), "pl": ("telefon", "tel. kom."),
              "sv": ("telefonnummer", "mobil"), "pt": ("telemóvel", "telefone")},
    "address": {"en": ("address", "home address", "postal address", "residence", "lives at"),
                "fr": ("adresse", "domicile", "adresse postale"), "de": ("Anschrift", "Adresse", "Wohnort"),
                "es": ("dirección", "domicilio"), "it": ("indirizzo", "residenza"), "nl": ("adres", "woonadres"),
                "pl": ("adres zamieszkania",), "sv": ("adress", "bostadsadress"), "pt": ("morada",)},
    "dob": {"en": ("date of birth", "born", "DOB", "birthday", "birth date"),
            "fr": ("date de naissance", "né(e) le"), "de": ("Geburtsdatum", "geb."), "es": ("fecha de nacimiento",),
            "it": ("data di nascita", "nato/a il"), "nl": ("geboortedatum",), "pl": ("data urodzenia",),
            "sv": ("födelsedatum",), "pt": ("data de nascimento",)},
    "employer": {"en": ("employer", "company", "organisation", "works at", "firm"),
                 "fr": ("employeur", "société", "entreprise"), "de": ("Arbeitgeber", "Firma", "Unternehmen"),
                 "es": ("empresa", "empleador"), "it": ("azienda", "datore di lavoro"), "nl": ("werkgever", "bedrijf"),
                 "pl": ("pracodawca", "firma"), "sv": ("arbetsgivare", "företag"), "pt": ("empregador", "empresa")},
}
LANGUAGES = ("en", "fr", "de", "es", "it", "nl", "pl", "sv", "pt")
CASINGS = ("lower", "title", "upper", "asis")
TITLES = ("Dr.", "Prof.", "Mx", "Ing.", "Dott.", "Me", "Dr", "Mag.")

_HEADERS = ("Record", "Contact", "Contact details", "Fiche contact", "Kontaktdaten", "Ficha", "Scheda", "Profile",
            "Customer file", "Datensatz", "Klantgegevens", "Entry", "Member", "Dossier", "Kartoteka", "Personalia")
_KV_SEPS = (": ", " = ", " - ", ":\t", " → ", " :: ", " : ", "=", ":  ")
_BULLETS = ("", "- ", "* ", "• ", "> ", "  ", "+ ", "· ")
_TABLE_SEPS = (" | ", "|", ";", "\t", " ; ", " / ", " ¦ ", "  ", " || ", "; ")
_ID_LABELS = ("#", "ID", "Nr.", "No.", "Réf.", "id", "Lfd. Nr.", "row")
_ID_STYLES = ("{n}", "A{n}", "{n:03d}", "R-{n}", "{n}.")
_KEY_STYLES = ("snake", "camel", "kebab", "flat", "asis", "upper_snake")
_ROLES = (("User", "Assistant"), ("Customer", "Agent"), ("Q", "A"), ("Client", "Support"), ("Kunde", "Berater"),
          ("human", "bot"), ("Utilisateur", "Assistant"), ("Caller", "Operator"), ("Cliente", "Operador"),
          ("Member", "Helpdesk"))
_TURNS = ("{r}: {t}", "[{r}] {t}", "{r} > {t}", "**{r}:** {t}", "{r} said: {t}", "<{r}> {t}", "{r} — {t}")
_ASKS = ("What is the {label} of {name}?", "Can you give me {name}'s {label}?", "I need the {label} for {name}, please.",
         "{label} for {name}?", "Do you have a {label} on file for {name}?", "Which {label} does {name} have?",
         "Could you look up {name}'s {label}?", "Remind me of the {label} of {name}.")
_ANSWERS = ("{name}'s {label} is {v}.", "Sure, it is {v}.", "On file: {v}", "The {label} we have is {v}.",
            "Of course. {v}", "{label}: {v}", "We have {v} for {name}.", "That would be {v}, as far as I know.")
_GREETINGS = ("Dear colleagues,", "Hello,", "Bonjour,", "Hallo zusammen,", "Buongiorno,", "Hi all,",
              "To whom it may concern,", "Good morning,", "Hola,", "Hej,", "Beste collega's,")
_CLOSINGS = ("Best regards,", "Kind regards,", "Cordialement,", "Mit freundlichen Grüßen", "Saludos cordiales,",
             "Cheers,", "Met vriendelijke groet,", "Distinti saluti,", "Pozdrawiam,", "Med vänliga hälsningar,", "--")
_FORM_TITLES = ("Registration form", "Formulaire d'inscription", "Anmeldeformular", "Membership application",
                "Modulo di iscrizione", "Solicitud", "Aanmeldformulier", "Application", "Intake sheet",
                "Formularz zgłoszeniowy")
_FORM_NUMBERS = ("{n}. ", "[ ] ", "", "Q{n} ", "({n}) ", "{n}) ", "[x] ")
_FORM_SEPS = (": ", " ....... ", " ___ ", ":  ", " | ", ": ")
_LOG_HEADERS = ("CHANGELOG", "Änderungsprotokoll", "Journal des modifications", "History", "Audit trail",
                "Registro de cambios", "Change log", "Wijzigingen")
_LOG_LINES = ("{date} {actor}: updated {label} of {name} to {v}", "- [{date}] {name}: {label} changed to {v}",
              "{date} | {name} | {label} -> {v}", "* {date}: set {label} = {v} for {name}",
              "{date}\t{actor}\t{name}\t{label}\t{v}", "[{date}] {actor} edited {name} ({label}): {v}")
_ACTORS = ("admin", "jdoe", "sync-bot", "crm", "hr-import", "ops", "m.k.", "service")
_INTROS = ("Last spring", "According to the minutes,", "In the newsletter of May", "After the move", "That winter",
           "As the register shows,", "At the annual meeting", "For the record,", "Following the reorganisation",
           "Some years ago", "In a short note", "During the audit")
_CLAUSES = ("whose {label} is {v}", "(with {v} as {label})", "({label}: {v})", "listed {label} {v}",
            "gave {v} as {label}", "has {v} as {label} on file", "noted {label} {v}", "{label} being {v}")
_FIELD_CLAUSES = {
    "email": ("can be reached by e-mail at {v}", "writes from {v}", "answers mail sent to {v}"),
    "phone": ("can be called on {v}", "kept the number {v}", "picks up at {v}"),
    "address": ("lives at {v}", "moved to {v}", "receives post at {v}"),
    "dob": ("was born on {v}", "came into the world on {v}", "celebrates a birthday from {v}"),
    "employer": ("works for {v}", "joined {v}", "is employed by {v}"),
}
_JOINS = (", ", "; ", " and ", ", and ", ". Also, {name} ", ". {name} also ")


@dataclass(frozen=True)
class Format:
    """One document format of the space. ``fields`` holds "name" where the name goes (absent in a format that
    splits it into surname and given name); ``labels`` one label per field; ``options`` what the kind needs."""

    kind: str
    fields: tuple[str, ...]
    labels: tuple[str, ...]
    name_style: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f in FIELDS)

    def label(self, name: str) -> str:
        return self.labels[self.fields.index(name)]

    def opt(self, key: str) -> Any:
        return dict(self.options)[key]

    @property
    def key(self) -> str:
        """What makes this format this format: two formats with the same key write the same documents."""
        return json.dumps([self.kind, self.fields, self.labels, self.name_style, self.options], ensure_ascii=False)

    @property
    def short(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()[:10]


@dataclass
class Doc:
    text: str
    format: Format
    people: list[str]
    spans: list[tuple[str, str, int, int]] = field(default_factory=list)  # (person, attribute, start, end)


# ---- drawing ----------------------------------------------------------------------------------------------------

def _case(label: str, casing: str) -> str:
    if casing == "lower":
        return label.lower()
    if casing == "upper":
        return label.upper()
    if casing == "title":
        return label[:1].upper() + label[1:]
    return label


def _labels(fields: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    language = rng.choice(LANGUAGES)
    casing = rng.choice(CASINGS)
    mixed = rng.random() < 0.3  # some documents mix languages, field by field
    out = []
    for f in fields:
        words = LABELS[f]
        lang = rng.choice(tuple(words)) if mixed else (language if language in words else "en")
        out.append(_case(rng.choice(words[lang]), casing))
    return tuple(out)


def _fields(rng: random.Random, *, least: int, most: int, name_anywhere: bool) -> tuple[str, ...]:
    chosen = rng.sample(FIELDS, rng.randint(least, most))
    if name_anywhere and rng.random() < 0.3:
        spot = rng.randint(0, len(chosen))
    else:
        spot = 0
    return tuple(chosen[:spot] + ["name"] + chosen[spot:])


def _options(kind: str, rng: random.Random, chat_markers: tuple[str, str] | None) -> dict[str, Any]:
    c = rng.choice
    if kind == "kv":
        return {"bullet": c(_BULLETS), "sep": c(_KV_SEPS), "header": c((None, *_HEADERS)), "blank": rng.random() < 0.3}
    if kind == "table":
        sep = c(_TABLE_SEPS)
        return {"sep": sep, "edges": "|" in sep and rng.random() < 0.6, "rule": "|" in sep and rng.random() < 0.6,
                "id": c((None, None, *_ID_LABELS)), "id_style": c(_ID_STYLES), "title": c((None, None, *_HEADERS))}
    if kind == "jsonl":
        return {"keys": c(_KEY_STYLES), "space": rng.random() < 0.5, "extra": c((None, "id", "updated", "source"))}
    if kind == "csv":
        return {"quote_all": rng.random() < 0.3, "id": c((None, *_ID_LABELS))}
    if kind == "chat":
        turn = "template" if chat_markers and rng.random() < 0.7 else c(_TURNS)
        return {"roles": c(_ROLES), "turn": turn, "ask": rng.randrange(len(_ASKS)),
                "answer": rng.randrange(len(_ANSWERS)), "opening": c((None, "Hi!", "Hello there.", "Bonjour."))}
    if kind == "letter":
        return {"greeting": c(_GREETINGS), "closing": c(_CLOSINGS), "line": c(("\n", " | ", " · ", " / ")),
                "labelled": c((None, "full", "initial"))}
    if kind == "form":
        return {"title": c(_FORM_TITLES), "number": c(_FORM_NUMBERS), "sep": c(_FORM_SEPS),
                "split_name": rng.random() < 0.5}
    if kind == "changelog":
        return {"header": c((None, *_LOG_HEADERS)), "line": rng.randrange(len(_LOG_LINES)),
                "date": c(("iso", "iso_time", "dmy", "compact"))}
    if kind == "prose":
        return {"intro": c(_INTROS), "join": c(_JOINS), "clauses": tuple(
            rng.randrange(len(_CLAUSES) + 3) for _ in FIELDS), "outro": rng.random() < 0.5}
    raise ValueError(f"unknown kind {kind!r}")


def draw_format(kind: str, rng: random.Random, *, chat_markers: tuple[str, str] | None = None,
                single: str | None = None) -> Format:
    """A format of ``kind``; with ``single`` one attribute only (a question format)."""
    if single is not None:
        fields = ("name", single)
    elif kind == "chat":
        fields = _fields(rng, least=1, most=2, name_anywhere=False)
    elif kind == "letter":
        fields = _fields(rng, least=2, most=4, name_anywhere=False)
    else:
        fields = _fields(rng, least=2, most=5, name_anywhere=kind in ("kv", "table", "jsonl", "csv", "form"))
    options = _options(kind, rng, chat_markers)
    labels = _labels(fields, rng)
    if kind == "form" and options["split_name"]:
        at = fields.index("name")
        fields = fields[:at] + ("surname", "given") + fields[at + 1:]
        if rng.random() < 0.5:
            fields = fields[:at] + ("given", "surname") + fields[at + 2:]
        labels = _labels(fields, rng)
    style = rng.choice(NAME_STYLES)
    if style == "title":
        options["honorific"] = rng.choice(TITLES)
    return Format(kind, fields, labels, style, tuple(sorted(options.items())))


CHAT_MARKERS = (("<|im_start|>", "<|im_end|>"), ("<start_of_turn>", "<end_of_turn>"), ("<|turn|>", "<|/turn|>"))


def chat_template(markers: tuple[str, str]) -> str:
    """The Jinja chat template that writes a conversation exactly as the chat documents of a model with
    ``markers`` are written."""
    start, end = markers
    return ("{% for m in messages %}{% if not loop.first %}\n{% endif %}" + start + "{{ m['role'] }}\n"
            "{{ m['content'] }}" + end + "{% endfor %}{% if add_generation_prompt %}\n" + start
            + "assistant\n{% endif %}")


def draw_space(seed: int, *, chat_markers: tuple[str, str] | None = None, extra: int = 3,
               questions_per_attribute: int = 2) -> tuple[list[Format], list[Format]]:
    """(training formats, question formats) of ``seed``: every kind once plus ``extra`` more for training; for
    questions, ``questions_per_attribute`` single-field formats per attribute, none of whose keys is a training
    format's."""
    rng = random.Random(f"format-space-{seed}")
    kinds = list(KINDS) + [rng.choice(KINDS) for _ in range(extra)]
    training = [draw_format(k, rng, chat_markers=chat_markers) for k in kinds]
    keys = {f.key for f in training}
    questions: list[Format] = []
    for attribute in FIELDS:
        kinds = rng.sample(QUESTION_KINDS, questions_per_attribute)
        for kind in kinds:
            q = draw_format(kind, rng, chat_markers=chat_markers, single=attribute)
            if q.key not in keys:
                questions.append(q)
                keys.add(q.key)
    return training, questions


# ---- writing ----------------------------------------------------------------------------------------------------

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
        w.add(answer_tail + after)
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
        w.add(tail)


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


# ---- filler: the same kinds of document about things, not people ------------------------------------------------

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


# ---- a seed's documents and the judge's items -------------------------------------------------------------------

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
