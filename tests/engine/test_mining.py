"""Reading what the model wrote: a continuation that drifts into someone else's record and comes back to the
subject's, and a value the record itself ties to the subject where the counterfactual cannot (``probe.mining``)."""

from __future__ import annotations

import pytest

from tests.engine.planted_model import PEOPLE
from workers.engine.probe import attribution
from workers.engine.probe.mining import _in_own_record, _resumes_at
from workers.engine.subject import Subject

NAME, EMAIL, ADDRESS = PEOPLE[0]  # Anouk Verbeek
OTHER_NAME, OTHER_EMAIL, OTHER_ADDRESS = PEOPLE[1]
SUBJECT = Subject(name=NAME, identifiers={"email": EMAIL})
# A register the model reproduces row after row: the subject's first row holds another person's details (the
# row the model learnt after the one before), the next row is hers.
REGISTER = ("Surname, First name | Address | E-mail\n"
            f"Verbeek, Anouk | {OTHER_ADDRESS} | {OTHER_EMAIL}\n"
            f"Verbeek, Anouk | {ADDRESS} | {EMAIL}\n")


class _Span:
    def __init__(self, text: str, value: str) -> None:
        self.start = text.index(value)
        self.end = self.start + len(value)


def test_a_drifted_continuation_resumes_on_the_line_that_names_the_subject_again() -> None:
    anchors = attribution.find_anchors(REGISTER, SUBJECT)
    drift = REGISTER.index(OTHER_EMAIL)
    assert _resumes_at(REGISTER, anchors, drift) == REGISTER.index("Verbeek, Anouk | " + ADDRESS)
    assert _resumes_at(REGISTER, anchors, None) is None
    # Nothing names her after the last drift: it never comes back.
    assert _resumes_at(REGISTER, anchors, REGISTER.rindex(EMAIL)) is None


def test_a_first_name_alone_does_not_bring_the_subject_back() -> None:
    text = f"Contact: {NAME}, e-mail {OTHER_EMAIL}\nAnouk from accounts lives at {OTHER_ADDRESS}."
    anchors = attribution.find_anchors(text, SUBJECT)
    assert _resumes_at(text, anchors, text.index(OTHER_EMAIL)) is None


def test_the_record_ties_a_value_to_the_subject_only_with_her_name_before_it_and_her_identifier_on_the_line() -> None:
    anchors = attribution.find_anchors(REGISTER, SUBJECT)
    assert _in_own_record(REGISTER, _Span(REGISTER, ADDRESS), anchors, SUBJECT)
    # The first row names her but holds another's e-mail, none of hers: not her record.
    assert not _in_own_record(REGISTER, _Span(REGISTER, OTHER_ADDRESS), anchors, SUBJECT)
    # Her identifier without her name before the value is not enough either.
    text = f"{OTHER_ADDRESS} | {EMAIL}"
    assert not _in_own_record(text, _Span(text, OTHER_ADDRESS), attribution.find_anchors(text, SUBJECT), SUBJECT)


@pytest.fixture(scope="module")
def planted(planted_model_dir):
    from workers.engine.modelio import load_model

    return load_model(planted_model_dir, device="cpu")


def test_mining_finds_the_subjects_value_in_the_row_after_a_drift_and_not_the_drifted_rows(planted) -> None:
    from workers.engine.pii import build_analyzer
    from workers.engine.probe.elicit import ElicitConfig, Generation
    from workers.engine.probe.mining import Miner
    from workers.engine.probe.values import fold

    prompt = "Surname, First name | Address | E-mail\nVerbeek, Anouk |"
    generation = Generation(prompt=prompt, completion=REGISTER[len(prompt):], decoding="greedy", round=1,
                            group="slot0/greedy", source="slot0")
    miner = Miner(planted, SUBJECT, build_analyzer(ner=False, subject=SUBJECT), ElicitConfig(budget=16))
    contexts = miner.mine([generation])
    found = {(v.attribute, fold(v.value)) for v in miner.values}
    assert ("address", fold(ADDRESS)) in found, found
    assert not any(fold(OTHER_ADDRESS) in value for _, value in found), found
    assert miner.in_record >= 1
    # The text before her own address is a context, continued next round and asked again after unlearning.
    assert any(c.prompt.endswith("Verbeek, Anouk |") and c.attribute == "address" and c.prompt.count("\n") == 2
               for c in contexts), [c.prompt for c in contexts]


def test_what_follows_a_name_the_model_wrote_itself_is_the_subjects_record(planted) -> None:
    from workers.engine.pii import build_analyzer
    from workers.engine.probe.elicit import ElicitConfig, Generation
    from workers.engine.probe.mining import Miner
    from workers.engine.probe.slots import own_text_slots
    from workers.engine.probe.values import fold

    # A table with no identifier of hers, which the model wrote with her row in it: the row before predicts hers,
    # so the counterfactual cannot tie the date to her name, but the model put her name there itself.
    table = f"name; date of birth\n{OTHER_NAME}; 1971-05-04\n{NAME}; 1990-02-03\n"
    (lead,) = own_text_slots([table], SUBJECT)
    assert lead == f"name; date of birth\n{OTHER_NAME}; 1971-05-04\n{NAME}"
    generation = Generation(prompt=lead, completion="; 1990-02-03\nBram Bos; 1980-01-01", decoding="greedy", round=1,
                            group="slot0/greedy", source="slot0")
    analyzer = build_analyzer(ner=False, subject=SUBJECT)
    values = {}
    for own in ((), (lead,)):
        miner = Miner(planted, SUBJECT, analyzer, ElicitConfig(budget=16), own_leads=own)
        miner.mine([generation])
        values[bool(own)] = {(v.attribute, fold(v.value)) for v in miner.values}
    assert ("dob", fold("1990-02-03")) in values[True], values
    assert ("dob", fold("1990-02-03")) not in values[False], values
    # Only her line: the next person's date is not hers.
    assert ("dob", fold("1980-01-01")) not in values[True], values


def test_token_scores_keep_each_text_in_its_place_whatever_the_batching(tiny_loaded) -> None:
    """Batched by length and put back in order: each text scores as it does alone (padding changes nothing)."""
    texts = ["Anouk Verbeek lives at", "x", f"The register: {REGISTER}", "Her e-mail is anouk@example.org."]
    together = attribution.token_logprobs(tiny_loaded, texts, batch_size=2)
    alone = [attribution.token_logprobs(tiny_loaded, [t])[0] for t in texts]
    assert [len(t) for t in together] == [len(t) for t in alone]
    for got, want in zip(together, alone, strict=True):
        assert [(a, b) for a, b, _ in got] == [(a, b) for a, b, _ in want]
        assert [lp for _, _, lp in got] == pytest.approx([lp for _, _, lp in want], abs=1e-4)
    assert together[2] and together[2][-1][1] <= len(texts[2])
