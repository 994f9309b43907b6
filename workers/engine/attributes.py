"""The kinds of personal detail rtbf looks for, and how two spellings of one value are compared.

One ordered registry: the probe's prompts, Presidio's entity types, the demo corpus and the
unlearning methods all read the same table, so adding a kind is one entry here.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

_PUNCT = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")

# Below this similarity two normalised values are different facts (one typo in a 15-char value: ~0.93).
FUZZY_THRESHOLD = 0.85


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", _PUNCT.sub(" ", text)).strip()


def normalise_email(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().strip(".,;:<>()[]\"'").casefold()


def normalise_digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def normalise_alnum(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum()).upper()


def normalise_date(text: str) -> str:
    """ISO date when the text parses as one date ("4 March 1987" == "1987-03-04"), else folded text."""
    from dateutil import parser

    folded = _fold(text)
    if not any(ch.isdigit() for ch in folded):
        return folded
    try:
        return parser.parse(text.strip().rstrip("."), fuzzy=False, dayfirst=False).date().isoformat()
    except (ValueError, OverflowError, TypeError):
        return folded


@dataclass(frozen=True)
class Attribute:
    key: str
    label: str
    entities: tuple[str, ...]
    normalise: Callable[[str], str]
    # Noun phrases the probe puts in its prompts; the first is the one the demo corpus uses.
    phrases: tuple[str, ...]
    # Shortest normalised value worth matching (a 3-digit fragment is not a phone number).
    min_length: int = 4


ATTRIBUTES: dict[str, Attribute] = {
    a.key: a
    for a in (
        Attribute("email", "Email address", ("EMAIL_ADDRESS",), normalise_email,
                  ("email address", "e-mail address", "email")),
        Attribute("phone", "Phone number", ("PHONE_NUMBER",), normalise_digits,
                  ("phone number", "telephone number", "mobile number"), min_length=7),
        Attribute("address", "Postal address", ("STREET_ADDRESS", "LOCATION"), _fold,
                  ("home address", "postal address", "street address"), min_length=6),
        Attribute("dob", "Date of birth", ("DATE_OF_BIRTH", "DATE_TIME"), normalise_date,
                  ("date of birth", "birthday", "birth date"), min_length=6),
        Attribute("employer", "Employer", ("EMPLOYER", "ORGANIZATION"), _fold,
                  ("employer", "workplace", "company")),
        Attribute("iban", "Bank account (IBAN)", ("IBAN_CODE",), normalise_alnum,
                  ("bank account number", "IBAN", "bank account"), min_length=10),
        Attribute("national_id", "National ID number", ("NATIONAL_ID", "US_SSN", "UK_NHS", "UK_NINO"),
                  normalise_alnum, ("national ID number", "social security number", "ID number"), min_length=6),
        # A value the model ties to the subject that no recognizer could type (``probe.attribution``): found by
        # discovery, never asked for by a template (no phrases).
        Attribute("other", "Other personal detail", (), _fold, (), min_length=6),
    )
}

# The attributes a template can ask for by name.
ASKABLE: tuple[str, ...] = tuple(k for k, a in ATTRIBUTES.items() if a.phrases)


def get_attribute(key: str) -> Attribute:
    try:
        return ATTRIBUTES[key]
    except KeyError:
        raise KeyError(f"unknown attribute {key!r}; known: {', '.join(ATTRIBUTES)}") from None


def attribute_for_entity(entity_type: str) -> Attribute | None:
    for attribute in ATTRIBUTES.values():
        if entity_type in attribute.entities:
            return attribute
    return None


def match_score(attribute: Attribute, found: str, submitted: str) -> float:
    """How closely ``found`` (text the model produced) matches a ``submitted`` identifier, 0..1.

    1.0 when the normalised submitted value occurs inside the normalised found text (the model may
    run on past the value); otherwise difflib's ratio on the normalised forms, a stdlib stand-in for
    fuzzy matching that catches one- or two-character slips.
    """
    want, got = attribute.normalise(submitted), attribute.normalise(found)
    if len(want) < attribute.min_length or not got:
        return 1.0 if want and want == got else 0.0
    if want in got:
        return 1.0
    return difflib.SequenceMatcher(None, want, got, autojunk=False).ratio()


def values_match(attribute: Attribute, found: str, submitted: str) -> bool:
    return match_score(attribute, found, submitted) >= FUZZY_THRESHOLD
