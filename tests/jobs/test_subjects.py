"""What the worker hands the engine for a request: the form's fields mapped to the engine's attribute keys."""

from __future__ import annotations

from app.jobs.subjects import parse_other_identifiers, subject_payload
from app.requests import service as request_service
from app.requests.schemas import RequestCreate


def test_labelled_entries_become_identifiers_and_the_rest_stays_text() -> None:
    found, rest = parse_other_identifiers(
        "Date of birth: July 1, 1988\nIBAN = BE88 1578 1565 9387; Employer: Hamilton-Carr\n\n"
        "I used the chat assistant in 2024\nFavourite colour: green")
    assert found == {"dob": "July 1, 1988", "iban": "BE88 1578 1565 9387", "employer": "Hamilton-Carr"}
    assert rest == ["I used the chat assistant in 2024", "Favourite colour: green"]


def test_the_first_value_of_a_kind_wins_and_later_ones_are_kept_as_text() -> None:
    found, rest = parse_other_identifiers("IBAN: BE1; bank account: BE2")
    assert found == {"iban": "BE1"} and rest == ["bank account: BE2"]


def test_a_request_becomes_the_engines_subject(session) -> None:
    data = RequestCreate(full_name="Vanessa Patel", email="vanessa.patel78@post.example.org", phone="(351) 517-1618",
                         postal_address="241 Rachel Spur, Thomasville",
                         other_identifiers="Date of birth: July 1, 1988; phone: +1 555 0100",
                         details="Please remove my bank details too.")
    request = request_service.create_request(session=session, data=data, channel="web").request
    payload = subject_payload(request)
    assert payload == {
        "name": "Vanessa Patel",
        # The form's own phone field wins over a phone given again among the other identifiers.
        "identifiers": {"email": "vanessa.patel78@post.example.org", "phone": "(351) 517-1618",
                        "address": "241 Rachel Spur, Thomasville", "dob": "July 1, 1988"},
        "texts": ["Please remove my bank details too."],
    }
