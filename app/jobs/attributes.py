"""The kinds of personal detail discovery reports, in the engine's order, each with the label an officer reads.

Keys, order and labels match ``workers.engine.attributes.ATTRIBUTES`` (tests/jobs/test_engine_mirrors.py keeps the
two equal): app/ never imports the worker package, and the pages need only these two facts of the engine's
registry, not its matching rules.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AttributeKind:
    key: str
    label: str


ATTRIBUTES: dict[str, AttributeKind] = {
    kind.key: kind
    for kind in (
        AttributeKind("email", "Email address"),
        AttributeKind("phone", "Phone number"),
        AttributeKind("address", "Postal address"),
        AttributeKind("dob", "Date of birth"),
        AttributeKind("employer", "Employer"),
        AttributeKind("iban", "Bank account (IBAN)"),
        AttributeKind("national_id", "National ID number"),
        AttributeKind("other", "Other personal detail"),
    )
}
