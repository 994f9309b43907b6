"""People for the format-space models, with the names that naive name detection misses.

A roster mixes plain names with each of these forms, every form at least once (``HARD_FORMS``):

- ``particle``:   "Jan van der Berg", "Lucie de la Fontaine", "Paolo di Stefano" (lower-case words inside the name);
- ``compound``:   two given names, with a space or a hyphen: "María José Ortega", "Anne-Marie Lefèvre";
- ``hyphen``:     a double-barrelled surname: "Claire Dupont-Leroy";
- ``apostrophe``: "Seán O'Brien", "Lucia D'Amico";
- ``mc``:         "Fiona McDonald", "Ewan MacArthur" (a capital inside the word);
- ``one_word``:   a single name, as some people are known ("Ximena").

Values (email, phone, address, date of birth, employer) are written the way each person's country writes them
(``people``). Every name and value is unique in a roster, and a one-word name is no word of anyone else's name.
"""

from __future__ import annotations

import random

from bench.foreign.people import FIELDS, LOCALES, Person, _address, _dob, _employer, _fakers, _phone, fold

HARD_FORMS = ("particle", "compound", "hyphen", "apostrophe", "mc", "one_word")
_PARTICLES = {
    "nl_NL": ("van", "van der", "van den", "de", "ter"), "de_DE": ("von", "von der", "zu"),
    "fr_FR": ("de", "du", "de la", "le"), "es_ES": ("de", "de la", "del"), "it_IT": ("di", "de", "da", "della"),
    "pt_PT": ("da", "dos", "de"),
}
_APOSTROPHE = ("O'", "D'")
_MC = ("Mc", "Mac")
_IRISH_GIVEN = ("Seán", "Siobhán", "Niamh", "Ciarán", "Aoife", "Pádraig", "Eoin", "Gráinne", "Dónal", "Saoirse")


def _word(text: str) -> bool:
    return bool(text) and " " not in text and "'" not in text and "." not in text and len(text) >= 2


def _draw_name(form: str, locale: str, fakers: dict[str, object], rng: random.Random) -> tuple[str, str]:
    """(given, surname) of one person in ``form``; surname is empty for a one-word name."""
    faker, irish, italian = fakers[locale], fakers["en_IE"], fakers["it_IT"]
    first = lambda: faker.first_name()  # type: ignore[attr-defined]  # noqa: E731
    last = lambda: faker.last_name()  # type: ignore[attr-defined]  # noqa: E731
    given, surname = first(), last()
    if form == "particle":
        particle = rng.choice(_PARTICLES.get(locale, _PARTICLES["nl_NL"]))
        surname = f"{particle} {surname.split()[-1]}"
    elif form == "compound":
        given = f"{given}{rng.choice((' ', '-'))}{first()}"
    elif form == "hyphen":
        surname = f"{surname}-{last()}"
    elif form == "apostrophe":  # O'Brien from Irish surnames, D'Amico from Italian ones that open on a vowel
        irish = [n for n in (irish.last_name() for _ in range(40)) if n.startswith("O'")]
        italian = [n for n in (italian.last_name() for _ in range(40)) if n[:1] in "AEIOU" and " " not in n]
        use_irish = bool(irish) and (rng.random() < 0.5 or not italian)
        surname = rng.choice(irish) if use_irish else "D'" + (rng.choice(italian) if italian else "Amico")
        if rng.random() < 0.5:
            given = rng.choice(_IRISH_GIVEN)
    elif form == "mc":
        surname = rng.choice([n for n in (irish.last_name() for _ in range(60)) if n.startswith(_MC)] or ["McKenna"])
    elif form == "one_word":
        return given, ""
    return given, surname


def _usable(form: str, given: str, surname: str) -> bool:
    if any(ch.isdigit() or ch in ".," for ch in given + surname) or len(given) < 2:
        return False
    if form == "one_word":
        return _word(given)
    parts = surname.split()
    if form == "particle":
        return len(parts) >= 2 and all(p.islower() for p in parts[:-1]) and parts[-1][:1].isupper()
    if form not in ("compound",) and not all(_word(g) for g in given.split("-")):
        return False
    if form in ("plain", "compound", "hyphen", "mc") and not all(p[:1].isupper() and "'" not in p for p in parts):
        return False
    return len(parts) >= 1 and (form == "apostrophe" or "'" not in surname)


def _email(given: str, surname: str, locale: str, rng: random.Random) -> str:
    from bench.foreign.people import _DOMAINS, _GENERIC_DOMAINS

    g = "".join(ch for ch in fold(given.split()[0].split("-")[0]).lower() if ch.isalnum())
    parts = ["".join(ch for ch in p if ch.isalnum()) for p in fold(surname).lower().replace("-", " ").split()]
    two = f"{rng.randint(0, 99):02d}"
    if not parts:  # a one-word name
        local = rng.choice((f"{g}{two}", f"{g}.{rng.choice('abcdefghkmnprst')}{two}", f"hello.{g}", f"{g}_{two}x"))
    else:
        s = parts[-1] if len(parts[-1]) > 3 else "".join(parts)
        local = rng.choice((f"{g}.{s}", f"{g[0]}.{s}", f"{g}_{s}{two}", f"{g[0]}{s}", f"{s}.{g}", f"{g}{s}{two}",
                            f"{g}-{s}", "".join(parts) + f".{g[0]}"))
    return f"{local}@{rng.choice(_DOMAINS[locale] * 2 + _GENERIC_DOMAINS)}"


def _forms(count: int, rng: random.Random) -> list[str]:
    """Each hard form at least once (twice from 24 people), the rest plain or hard at random."""
    each = 2 if count >= 24 else 1
    forms = [f for f in HARD_FORMS for _ in range(each)][:count]
    forms += [rng.choice(("plain", "plain", "plain", *HARD_FORMS)) for _ in range(count - len(forms))]
    rng.shuffle(forms)
    return forms


def make_space_people(count: int, seed: int) -> list[Person]:
    """``count`` people of several locales and name forms (see the module docstring), seeded."""
    from faker import Faker

    rng = random.Random(f"space-people-{seed}")
    fakers = _fakers(seed, "space")
    fakers["en_IE"] = Faker("en_IE")  # O'Brien, McGrath: surnames for names only, the person's values are local
    fakers["en_IE"].seed_instance(f"space-irish-{seed}")  # type: ignore[attr-defined]
    people: list[Person] = []
    used: set[str] = set()
    words: set[str] = set()  # every word of every name, so that a one-word name is nobody else's word
    for form in _forms(count, rng):
        for _ in range(200):
            locale = rng.choice(LOCALES)
            faker = fakers[locale]
            given, surname = _draw_name(form, locale, fakers, rng)
            name = f"{given} {surname}".strip()
            mine = set(name.replace("-", " ").split())
            if not _usable(form, given, surname) or name in used:
                continue
            if (form == "one_word" and name in words) or any(p.name in mine for p in people if not p.surname):
                continue
            person = Person(name=name, locale=locale, email=_email(given, surname, locale, rng),
                            phone=_phone(locale, rng), address=_address(faker, locale, rng),
                            dob=_dob(locale, rng), employer=_employer(faker, locale, rng),
                            given=given, surname=surname)
            values = [person.value(k) for k in FIELDS]
            if any(v in used for v in values) or len(set(values)) != len(values):
                continue
            used.update([name, *values])
            words |= mine
            people.append(person)
            break
        else:
            raise RuntimeError(f"could not draw a {form} name for seed {seed}")
    return people
