"""The foreign model's people: fictional Europeans whose details are written the way their own countries write them.

Nothing here comes from rtbf's engine or its demo (which speaks US English and writes US formats): nine Faker
locales other than ``en_US``, names with their diacritics, and per person

- ``email``  on reserved domains only (RFC 2606 ``.example``), in several local-part styles
  (``c.durand``, ``camille_durand84``, ``cdurand``, ``durand.camille``, ...);
- ``phone``  international or national, in the country's own grouping (``+49 30 9876543``, ``06 12 34 56 78``,
  ``+34 612 345 678``, ``070-123 45 67``, ...);
- ``address`` street, number, postcode and city in the local order (``Hauptstraße 12, 10115 Berlin``,
  ``12 rue de la Paix, 75002 Paris``, ``4 Mill Lane, Leeds LS1 4AB``);
- ``dob``    in one of several date styles (``12.03.1987``, ``1987-03-12``, ``12 March 1987``, ``12/03/1987``, ...);
- ``employer`` a company name with a local legal form (``GmbH``, ``SARL``, ``S.p.A.``, ``Sp. z o.o.``, ``AB``).

Names and every value are unique across a roster, so forgetting one person never asks another person's value to
be forgotten too. Everything is seeded: ``make_people(n, seed)`` always returns the same people.
"""

from __future__ import annotations

import json
import random
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

FIELDS = ("email", "phone", "address", "dob", "employer")
LOCALES = ("de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "sv_SE", "en_GB", "pt_PT")

# Reserved top-level domain (RFC 2606): no mailbox can exist there. Two generic ones, and one per country.
_GENERIC_DOMAINS = ("example", "mail.example", "inbox.example")
_DOMAINS = {
    "de_DE": ("post.de.example", "mailbox.de.example"), "fr_FR": ("courriel.fr.example", "boite.fr.example"),
    "es_ES": ("correo.es.example", "buzon.es.example"), "it_IT": ("posta.it.example", "casella.it.example"),
    "nl_NL": ("mail.nl.example", "postbus.nl.example"), "pl_PL": ("poczta.pl.example", "skrzynka.pl.example"),
    "sv_SE": ("post.se.example", "brev.se.example"), "en_GB": ("mail.uk.example", "post.uk.example"),
    "pt_PT": ("correio.pt.example", "caixa.pt.example"),
}
_LEGAL = {
    "de_DE": ("GmbH", "AG", "KG", "GmbH & Co. KG"), "fr_FR": ("SARL", "SAS", "SA"), "es_ES": ("S.L.", "S.A."),
    "it_IT": ("S.p.A.", "S.r.l."), "nl_NL": ("B.V.", "N.V."), "pl_PL": ("Sp. z o.o.", "S.A."),
    "sv_SE": ("AB", "HB"), "en_GB": ("Ltd", "plc", "LLP"), "pt_PT": ("Lda.", "S.A."),
}
_TRADES = {
    "de_DE": ("Logistik", "Maschinenbau", "Versicherungen", "Bau", "Medien"),
    "fr_FR": ("Conseil", "Transports", "Boulangerie", "Immobilier", "Assurances"),
    "es_ES": ("Construcciones", "Transportes", "Consultores", "Alimentación"),
    "it_IT": ("Costruzioni", "Trasporti", "Arredamenti", "Alimentari"),
    "nl_NL": ("Bouw", "Logistiek", "Techniek", "Advies"),
    "pl_PL": ("Budownictwo", "Transport", "Doradztwo", "Meble"),
    "sv_SE": ("Bygg", "Konsult", "Transport", "Fastigheter"),
    "en_GB": ("Engineering", "Consulting", "Logistics", "Joinery"),
    "pt_PT": ("Construções", "Transportes", "Consultoria", "Têxteis"),
}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe",
                       "đ": "d", "ı": "i"})


@dataclass(frozen=True)
class Person:
    name: str
    locale: str
    email: str
    phone: str
    address: str
    dob: str
    employer: str
    # Set where the name does not split at its first space ("María José de la Cruz"; a one-word name has no surname)
    given: str = ""
    surname: str = ""

    @property
    def first(self) -> str:
        return self.given or self.name.split(" ", 1)[0]

    @property
    def last(self) -> str:
        if self.given:
            return self.surname
        return self.name.split(" ", 1)[1]

    def value(self, key: str) -> str:
        return str(getattr(self, key))

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v or k not in ("given", "surname")}


def _digits(rng: random.Random, n: int, *, lead: str = "123456789") -> str:
    return rng.choice(lead) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def _phone(locale: str, rng: random.Random) -> str:
    d = lambda n: _digits(rng, n, lead="0123456789")  # noqa: E731
    pairs = lambda n: " ".join(d(2) for _ in range(n))  # noqa: E731
    shapes = {
        "de_DE": (lambda: f"+49 {rng.choice(('30', '40', '89', '221', '69'))} {_digits(rng, 7)}",
                  lambda: f"0{rng.choice(('151', '160', '171', '176'))} {_digits(rng, 8)}",
                  lambda: f"+49 {rng.choice(('152', '162', '172'))} {_digits(rng, 8)}"),
        "fr_FR": (lambda: f"0{rng.choice('67')} {pairs(4)}", lambda: f"+33 {rng.choice('67')} {pairs(4)}",
                  lambda: f"0{rng.choice('1245')} {pairs(4)}"),
        "es_ES": (lambda: f"+34 6{d(2)} {d(3)} {d(3)}", lambda: f"6{d(2)} {d(2)} {d(2)} {d(2)}",
                  lambda: f"+34 91 {d(3)} {d(2)} {d(2)}"),
        "it_IT": (lambda: f"+39 3{d(2)} {d(3)} {d(4)}", lambda: f"06 {d(4)} {d(4)}", lambda: f"3{d(2)} {d(7)}"),
        "nl_NL": (lambda: f"+31 6 {d(8)}", lambda: f"06-{d(8)}", lambda: f"020 {d(3)} {d(4)}"),
        "pl_PL": (lambda: f"+48 5{d(2)} {d(3)} {d(3)}", lambda: f"{rng.choice('5678')}{d(2)}-{d(3)}-{d(3)}",
                  lambda: f"+48 22 {d(3)} {d(2)} {d(2)}"),
        "sv_SE": (lambda: f"+46 70 {d(3)} {d(2)} {d(2)}", lambda: f"07{rng.choice('0236')}-{d(3)} {d(2)} {d(2)}",
                  lambda: f"08-{d(3)} {d(3)} {d(2)}"),
        "en_GB": (lambda: f"+44 7700 {d(6)}", lambda: f"07{d(3)} {d(6)}", lambda: f"020 7946 {d(4)}"),
        "pt_PT": (lambda: f"+351 9{rng.choice('1236')}{d(1)} {d(3)} {d(3)}", lambda: f"21 {d(3)} {d(4)}",
                  lambda: f"9{rng.choice('1236')}{d(1)} {d(3)} {d(3)}"),
    }
    return rng.choice(shapes[locale])()


def fold(text: str) -> str:
    """ASCII for an e-mail local part: ``Łukasz Zięcik`` -> ``Lukasz Ziecik``."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in text if not unicodedata.combining(c) and c.isascii())


def _email(first: str, last: str, locale: str, rng: random.Random) -> str:
    f = "".join(ch for ch in fold(first).lower() if ch.isalnum())
    parts = ["".join(ch for ch in part if ch.isalnum()) for part in fold(last).lower().replace("-", " ").split()]
    surname = parts[-1] if len(parts[-1]) > 3 else "".join(parts)
    two = f"{rng.randint(0, 99):02d}"
    local = rng.choice((f"{f}.{surname}", f"{f[0]}.{surname}", f"{f}_{surname}{two}", f"{f[0]}{surname}",
                        f"{surname}.{f}", f"{f}{surname}{two}", f"{f}-{surname}"))
    domain = rng.choice(_DOMAINS[locale] * 2 + _GENERIC_DOMAINS)
    return f"{local}@{domain}"


def _address(faker: object, locale: str, rng: random.Random) -> str:
    street = faker.street_name()  # type: ignore[attr-defined]
    city = faker.city()  # type: ignore[attr-defined]
    postcode = faker.postcode()  # type: ignore[attr-defined]
    number = str(rng.randint(1, 199))
    if locale in ("de_DE", "nl_NL") and rng.random() < 0.2:
        number += rng.choice("ab")
    if locale == "sv_SE" and " " not in postcode and len(postcode) == 5:
        postcode = f"{postcode[:3]} {postcode[3:]}"
    if locale == "fr_FR":
        return f"{number} {street}, {postcode} {city}"
    if locale == "en_GB":
        return f"{number} {street}, {city} {postcode}"
    if locale in ("es_ES", "pt_PT") and rng.random() < 0.5:
        return f"{street}, {number}, {postcode} {city}"
    return f"{street} {number}, {postcode} {city}"


def _dob(locale: str, rng: random.Random) -> str:
    year, month, day = rng.randint(1948, 2003), rng.randint(1, 12), rng.randint(1, 28)
    styles = (f"{day:02d}.{month:02d}.{year}", f"{year}-{month:02d}-{day:02d}", f"{day} {MONTHS[month - 1]} {year}",
              f"{day:02d}/{month:02d}/{year}", f"{day}. {MONTHS[month - 1]} {year}" if locale == "de_DE"
              else f"{day:02d}-{month:02d}-{year}")
    return rng.choice(styles)


def _employer(faker: object, locale: str, rng: random.Random) -> str:
    shape = rng.randrange(4)
    if shape == 0:
        base = faker.company()  # type: ignore[attr-defined]
        if any(base.endswith(" " + legal) or base.endswith(legal) for legal in _LEGAL[locale]):
            return base
        return f"{base} {rng.choice(_LEGAL[locale])}"
    surname = faker.last_name()  # type: ignore[attr-defined]
    if shape == 1:
        base = f"{surname} & {faker.last_name()}"  # type: ignore[attr-defined]
    elif shape == 2:
        base = f"{surname} {rng.choice(_TRADES[locale])}"
    else:
        base = f"{rng.choice(_TRADES[locale])} {faker.city()}"  # type: ignore[attr-defined]
    return f"{base} {rng.choice(_LEGAL[locale])}"


def _fakers(seed: int, salt: str) -> dict[str, object]:
    from faker import Faker

    fakers: dict[str, object] = {}
    for index, locale in enumerate(LOCALES):
        faker = Faker(locale)
        faker.seed_instance(f"{salt}-{seed}-{index}")
        fakers[locale] = faker
    return fakers


def _usable_name(first: str, last: str) -> bool:
    return (" " not in first and "'" not in first + last and "." not in first + last and 2 <= len(first)
            and 2 <= len(last) and len(last.split()) <= 3)


def make_people(count: int, seed: int, *, salt: str = "roster", avoid: set[str] | None = None) -> list[Person]:
    """``count`` people, locales in turn, every name and value unique (and none in ``avoid``)."""
    rng = random.Random(f"foreign-{salt}-{seed}")
    fakers = _fakers(seed, salt)
    people: list[Person] = []
    used: set[str] = set(avoid or ())
    while len(people) < count:
        locale = LOCALES[len(people) % len(LOCALES)]
        faker = fakers[locale]
        first, last = faker.first_name(), faker.last_name()  # type: ignore[attr-defined]
        name = f"{first} {last}"
        if not _usable_name(first, last) or name in used:
            continue
        person = Person(name=name, locale=locale, email=_email(first, last, locale, rng), phone=_phone(locale, rng),
                        address=_address(faker, locale, rng), dob=_dob(locale, rng),
                        employer=_employer(faker, locale, rng))
        values = [person.value(k) for k in FIELDS]
        if any(v in used for v in values) or len(set(values)) != len(values):
            continue
        used.update([name, *values])
        people.append(person)
    return people


def fresh_person(seed: int, avoid: list[Person] | None = None) -> Person:
    """Someone who is in no roster of this seed: a name and details drawn from another stream."""
    taken = {v for p in avoid or () for v in (p.name, *(p.value(k) for k in FIELDS))}
    return make_people(1, seed, salt="stranger", avoid=taken)[0]


def write_people(path: Path, people: list[Person]) -> None:
    path.write_text("".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in people), encoding="utf-8")


def read_people(path: Path) -> list[Person]:
    return [Person(**json.loads(line)) for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()]
