"""Other people's facts, in the model's own words, as the utility measure of a model with no roster: only what
the model has memorised counts (a value it reproduces at the edge of a tie says nothing about what it kept)."""

from __future__ import annotations

import math

import pytest

from tests.engine.planted_model import PEOPLE, PLANTED


@pytest.fixture(scope="module")
def planted(planted_model_dir):
    from workers.engine.modelio import load_model

    return load_model(planted_model_dir, device="cpu")


def _fact(name: str, address: str, email: str):
    from workers.engine.others import Fact

    lead = PLANTED[0].format(name=name, email=email, address=address).split(address)[0].rstrip()
    return Fact(person=name, attribute="address", prompt=lead, value=" " + address)


def test_a_memorised_fact_is_sure_and_a_wrong_one_is_not_kept(planted):
    from workers.engine.others import MEMORISED_LOGP, _memorised, accuracy

    right = [_fact(n, a, e) for n, e, a in PEOPLE]
    wrong = [_fact(n, PEOPLE[(i + 1) % len(PEOPLE)][2], e) for i, (n, e, _) in enumerate(PEOPLE)]
    kept = _memorised(planted, right + wrong)
    assert {f.value for f in kept} <= {f.value for f in right}  # no one else's address survives as a fact
    assert kept, "the fixture memorised its people"
    assert all(f.memorised and f.confidence >= MEMORISED_LOGP for f in kept)
    assert accuracy(planted, kept)["accuracy"] == 1.0


def test_confidence_is_the_least_likely_value_token(planted):
    from dataclasses import replace

    from workers.engine.others import _memorised

    name, email, address = PEOPLE[0]
    fact = _fact(name, address, email)
    (scored,) = _memorised(planted, [fact])
    # The same prompt with a value the model is far less sure of cannot be as sure.
    weaker = replace(fact, value=" " + address.replace(address.split()[1].rstrip(","), "99"))
    assert _memorised(planted, [weaker]) == [] or _memorised(planted, [weaker])[0].confidence < scored.confidence


def test_the_subjects_formats_are_asked_of_the_others(planted):
    """The lead-in before the subject's name in what discovery found is asked with other people's names: the
    model's memorised facts about them in the very wording the subject's forgetting pulls on."""
    from workers.engine.others import discover_facts
    from workers.engine.subject import Subject

    subject = Subject(name=PEOPLE[0][0])
    lead = PLANTED[1].split("{name}")[0]
    facts, _, coverage = discover_facts(planted, [subject], formats=[(lead, None), (lead, None)])
    assert coverage["formats"] == 1
    in_format = {f.person for f in facts if f.prompt.startswith(lead) and f.memorised}
    assert subject.name not in {f.person for f in facts}
    # (the model's own text names them "Courier Ilse Marchetti" too: a name as the model writes it)
    assert sum(any(p.endswith(n) for p in in_format) for n, _, _ in PEOPLE[1:]) >= 2
    # Asked in the subject's format, they anchor training but never measure it: a sample drawn where forgetting
    # her pulls hardest would say less was kept than was.
    asked = [f for f in facts if f.in_subject_format]
    assert asked and all(f.side == "retain" for f in asked)
    assert all(not f.in_subject_format for f in facts if f.side == "utility")


def test_subject_formats_take_the_text_before_the_name_valued_contexts_first():
    from workers.engine.others import subject_formats
    from workers.engine.probe.contexts import Context
    from workers.engine.subject import Subject

    subject = Subject(name="Wanda Kessler")
    contexts = [Context(prompt="Hello! Wanda Kessler", origin="elicited", attribute=None, group="a"),
                Context(prompt="| name | e-mail |\n| Wanda Kessler |", origin="elicited", attribute="email", group="b"),
                Context(prompt="wanda@k.example belongs to", origin="elicited", attribute="name", group="c")]
    contexts.append(Context(prompt="Register\nKESSLER Wanda", origin="elicited", attribute="phone", group="d"))
    formats = subject_formats(contexts, subject)
    assert [lead for lead, _ in formats] == ["| name | e-mail |\n| ", "Register\n", "Hello! "]
    # Another person goes into the register in its form: family name first, in capitals.
    from workers.engine.probe.names import written_like

    assert written_like("Ann Bell", formats[1][1]) == "BELL Ann"


def test_the_utility_estimate_says_how_far_off_its_number_of_facts_lets_it_be():
    from workers.engine.verify import wilson_interval

    low, high = wilson_interval(85, 90)  # 0.944 from 90 facts
    assert 0.87 < low < 0.89 and 0.97 < high < 0.98
    low, high = wilson_interval(950, 1000)  # the same share from 1000 facts: within two points
    assert high - low < 0.03 and low < 0.95 < high
    assert wilson_interval(90, 90)[1] > 0.9999 and wilson_interval(90, 90)[0] < 1.0  # all kept still has a margin
    assert all(math.isnan(x) for x in wilson_interval(0, 0))  # no facts, no estimate
