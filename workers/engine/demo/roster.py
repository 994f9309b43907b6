"""A seeded roster of fictional people (Faker) with every personal detail the demo model memorises."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from random import Random
from typing import Any

from workers.engine.errors import EngineError
from workers.engine.subject import Subject

ROSTER_FIELDS = ("email", "phone", "address", "dob", "employer", "iban")
# Reserved example domains: nothing here can reach a real mailbox.
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "post.example.org")
# Short IBAN countries keep each account memorisable by a 1M-parameter model (15-16 characters).
IBAN_FORMATS = (("NO", 11), ("BE", 12))


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    phone: str
    address: str
    dob: str
    employer: str
    iban: str

    @property
    def first_name(self) -> str:
        return self.name.split()[0]

    def value(self, key: str) -> str:
        return str(getattr(self, key))

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def iban(country: str, bban: str) -> str:
    """A checksum-valid IBAN (ISO 13616 mod-97), grouped in fours as it is usually written."""
    rearranged = bban + country + "00"
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    check = 98 - int(digits) % 97
    raw = f"{country}{check:02d}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def fake_person(faker: Any, rng: Random) -> Person:
    first, last = faker.first_name(), faker.last_name()
    country, length = rng.choice(IBAN_FORMATS)
    dob = faker.date_of_birth(minimum_age=21, maximum_age=79)
    return Person(
        name=f"{first} {last}",
        email=f"{first.lower()}.{last.lower()}{rng.randint(10, 99)}@{rng.choice(EMAIL_DOMAINS)}",
        phone=f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
        address=f"{faker.building_number()} {faker.street_name()}, {faker.city()}",
        dob=f"{dob.strftime('%B')} {dob.day}, {dob.year}",
        employer=faker.company(),
        iban=iban(country, "".join(str(rng.randint(0, 9)) for _ in range(length))),
    )


def make_roster(*, people: int, seed: int) -> list[Person]:
    """``people`` fictional people with unique names, the same for the same seed on every machine."""
    from faker import Faker

    if people < 1:
        raise EngineError("a demo roster needs at least one person")
    faker = Faker("en_US")
    faker.seed_instance(seed)
    rng = Random(seed)
    roster: list[Person] = []
    seen: set[str] = set()
    while len(roster) < people:
        person = fake_person(faker, rng)
        if person.name not in seen and "'" not in person.name:
            seen.add(person.name)
            roster.append(person)
    return roster


def write_roster(path: Path, roster: Iterable[Person]) -> None:
    path.write_text("".join(json.dumps(p.to_dict()) + "\n" for p in roster), encoding="utf-8")


def read_roster(path: str | Path) -> list[Person]:
    file = Path(path)
    if file.is_dir():
        file = file / "roster.jsonl"
    if not file.is_file():
        raise EngineError(f"roster file not found: {file}")
    try:
        return [Person(**json.loads(line)) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (json.JSONDecodeError, TypeError) as exc:
        raise EngineError(f"malformed roster file {file}: {exc}") from None


def roster_subject(
    roster_row: Person | dict[str, str], *, submit: Sequence[str] = ROSTER_FIELDS, texts: Sequence[str] = ()
) -> Subject:
    """The subject file a demo person would submit: their name and the identifiers in ``submit``."""
    row = roster_row.to_dict() if isinstance(roster_row, Person) else dict(roster_row)
    unknown = [key for key in submit if key not in row]
    if unknown:
        raise EngineError(f"roster row has no {', '.join(unknown)}")
    return Subject(name=row["name"], identifiers={key: row[key] for key in submit}, texts=list(texts))
