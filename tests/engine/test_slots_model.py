"""Name slots that need the model: ranked by where it expects the subject, and the records it writes after its
own records (``probe.slots``), on the planted model (``planted_model``)."""

from __future__ import annotations

import pytest

from tests.engine.planted_model import PEOPLE
from workers.engine.probe.slots import expected_slots, name_slots, record_walk
from workers.engine.subject import Subject

NAME, EMAIL, _ = PEOPLE[0]
SUBJECT = Subject(name=NAME, identifiers={"email": EMAIL})
OTHERS = [p[0] for p in PEOPLE[1:]]


@pytest.fixture(scope="module")
def planted(planted_model_dir):
    from workers.engine.modelio import load_model

    return load_model(planted_model_dir, device="cpu")


def test_slots_rank_by_where_the_model_expects_the_subject_not_by_how_often_a_lead_in_is_written(planted) -> None:
    # The planted model was trained on "Night shift roster: <name> covers the pier ...": after that lead-in it
    # expects one of five people; after "then" it expects nobody in particular, however often the text says it.
    texts = [f"Night shift roster: {OTHERS[0]} covers the pier."] + \
        [f"The market moved to the square, then {OTHERS[1]} left."] * 3
    assert name_slots(texts, OTHERS, SUBJECT)[0].endswith(f"then {NAME}")
    assert expected_slots(planted, texts, OTHERS, SUBJECT)[0] == f"Night shift roster: {NAME}"


def test_the_record_walk_continues_the_text_after_each_record_the_model_wrote(planted) -> None:
    roster = (f"Night shift roster: {OTHERS[0]} covers the pier.\n"
              f"Night shift roster: {OTHERS[1]} covers the pier.\n")
    walked = record_walk(planted, [roster], samples=3, seed=1)
    # Continued where the next record starts: after the first record, before the second's name.
    assert {lead for lead, _ in walked} == {f"Night shift roster: {OTHERS[0]} covers the pier.\nNight shift roster: "}
    assert len(walked) == 3 and all(more.strip() for _, more in walked)
    assert record_walk(planted, ["No records here, nobody named."]) == []


def test_a_document_may_open_with_a_lower_case_word_but_not_with_a_piece_of_one(planted) -> None:
    from workers.engine.probe.slots import _starts_word

    tok = planted.tokenizer
    ids = tok("the crates")["input_ids"]
    pieces = tok.convert_ids_to_tokens(ids)
    assert _starts_word(tok, ids[0]), pieces  # "▁the": a header such as "name; date of birth" starts so
    inner = [i for i, p in zip(ids, pieces, strict=True) if not p.startswith("▁")]
    assert inner and not any(_starts_word(tok, i) for i in inner), pieces  # "rates" of "crates" is not
