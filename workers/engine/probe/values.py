"""The subject's known values: what they submitted, plus what discovery tied to them, and a fast matcher for both.

A subject submits a name and a few identifiers (often just an email and a phone number), while the model may
also know their address, birth date or employer. Discovery finds those values (``elicit``, ``corpus``); once
found they are as much the subject's data as what was submitted, so the probe confirms them the same way and
unlearning must remove them. Each value records its ``basis``: ``submitted`` (from the subject), ``corpus``
(found beside the subject in the model's training data) or ``model`` (the model states it because of the
subject: ``attribution``).

The matcher is what the early-stop check runs every few steps: normalised substring tests against every form
of every known value, no Presidio, no fuzzy ratios (the verification keeps those).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache

from workers.engine.attributes import ATTRIBUTES, normalise_date

BASES = ("submitted", "corpus", "model")
_SPACE = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class KnownValue:
    attribute: str  # an ATTRIBUTES key, or "name"
    value: str
    basis: str  # "submitted" | "corpus" | "model"
    support: int = 1  # independent completions (or corpus documents) it was found in

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> KnownValue:
        return cls(attribute=str(data["attribute"]), value=str(data["value"]), basis=str(data["basis"]),
                   support=int(data.get("support", 1)))  # type: ignore[arg-type]


def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form: ``Zoë  DUBOIS,`` -> ``zoe dubois``."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACE.sub(" ", _NON_ALNUM.sub(" ", stripped.casefold())).strip()


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")


def _date_forms(value: str) -> list[str]:
    """The usual ways one date is written, so that ``12.03.1987`` and ``12 March 1987`` are the same value."""
    iso = normalise_date(value)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso):
        return []
    year, month, day = iso.split("-")
    m, d = int(month), int(day)
    name = _MONTH_NAMES[m - 1]
    forms = [iso, f"{day}.{month}.{year}", f"{d}.{m}.{year}", f"{day}/{month}/{year}", f"{month}/{day}/{year}",
             f"{d} {name} {year}", f"{name} {d}, {year}", f"{name} {d} {year}", f"{d}-{month}-{year}",
             f"{day}-{month}-{year}"]
    return forms


@dataclass(frozen=True)
class _Form:
    kind: str  # "digits" | "alnum" (spacing-free) | "fold" (whole words)
    text: str


def forms_of(attribute: str, value: str) -> tuple[_Form, ...]:
    """Normalised forms of ``value`` whose presence in a normalised text means the value was produced."""
    forms: list[_Form] = []
    digits = _digits(value)
    if attribute == "phone" and len(digits) >= 7:
        forms.append(_Form("digits", digits))
        # "+49 30 1234567" is also written "030 1234567": the national part alone.
        if value.strip().startswith("+") and len(digits) > 9:
            forms.append(_Form("digits", digits[-9:]))
    elif attribute in ("iban", "national_id") and len(_NON_ALNUM.sub("", value)) >= 6:
        forms.append(_Form("alnum", _alnum(value)))
    else:
        if attribute == "dob":
            forms += [_Form("fold", fold(f)) for f in _date_forms(value)]
        folded = fold(value)
        if len(folded.replace(" ", "")) >= 4:
            forms.append(_Form("fold", folded))
    unique: dict[tuple[str, str], _Form] = {(f.kind, f.text): f for f in forms if f.text}
    return tuple(unique.values())


def _alnum(text: str) -> str:
    return fold(text).replace(" ", "")


@lru_cache(maxsize=4096)
def _normalised(text: str) -> tuple[str, str, str]:
    folded = fold(text)
    return f" {folded} ", _digits(text), folded.replace(" ", "")


class ValueMatcher:
    """Which known values a text contains (normalised substring tests; cheap enough for every check)."""

    def __init__(self, values: Iterable[KnownValue]) -> None:
        self.values = [v for v in values if v.attribute != "name"]
        self._forms = [(v, forms_of(v.attribute, v.value)) for v in self.values]
        names = [v for v in values if v.attribute == "name"]
        self._names = [(v, fold(v.value)) for v in names if fold(v.value)]

    def find(self, text: str, *, attributes: Iterable[str] | None = None) -> list[KnownValue]:
        padded, digits, alnum = _normalised(text)
        wanted = None if attributes is None else set(attributes)
        hits: list[KnownValue] = []
        for value, forms in self._forms:
            if wanted is not None and value.attribute not in wanted:
                continue
            if any((form.text in digits) if form.kind == "digits" else (form.text in alnum) if form.kind == "alnum"
                   else (f" {form.text} " in padded) for form in forms):
                hits.append(value)
        return hits

    def names(self, text: str) -> bool:
        """Whether ``text`` names the subject (for prompts that ask from an identifier back to the name)."""
        padded = f" {fold(text)} "
        return any(f" {name} " in padded for _, name in self._names)


def submitted_values(name: str, identifiers: Mapping[str, str]) -> list[KnownValue]:
    values = [KnownValue("name", name, "submitted")]
    values += [KnownValue(key, value, "submitted") for key, value in identifiers.items() if key in ATTRIBUTES]
    return values


def merge(values: Sequence[KnownValue]) -> list[KnownValue]:
    """One entry per (attribute, folded value): submitted beats corpus beats model; supports add up."""
    rank = {b: i for i, b in enumerate(BASES)}
    merged: dict[tuple[str, str], KnownValue] = {}
    for v in values:
        key = (v.attribute, fold(v.value))
        old = merged.get(key)
        if old is None:
            merged[key] = v
            continue
        best = v if rank.get(v.basis, 9) < rank.get(old.basis, 9) else old
        merged[key] = KnownValue(best.attribute, best.value, best.basis, old.support + v.support)
    return list(merged.values())
