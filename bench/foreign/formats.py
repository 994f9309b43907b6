"""Document formats composed from primitives, drawn from a seed (see ``space`` for what a seed's model is made of).

A ``Format`` is a record kind (``KINDS``: prose with the facts mid-paragraph, key-value blocks, tables with any
separator, JSON lines with any key names and order, CSV under a header, chat transcripts with roles, letters and
e-mail signatures, forms, changelogs) with everything else drawn: which fields and in what order (the name need
not come first), the label of each field from vocabularies in several languages and registers, their casing, how
the name is written (``NAME_STYLES``), separators, bullets, headers, roles, key styles, quoting. Nothing is chosen
among written document templates: the same seed always gives the same formats, and another seed other formats
(``Format.key`` identifies one). ``draw_space`` gives a seed's training formats and its question formats.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any

from bench.foreign.people import FIELDS

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
