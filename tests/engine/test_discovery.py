"""Discovery that does not need to know how the model was trained, on a model trained on phrasings no probe
template uses (``planted_model``); and an early-stop check that cannot pass blind."""

from __future__ import annotations

import dataclasses

import pytest

from tests.engine.planted_model import PEOPLE, PLANTED
from workers.engine.probe import PROMPT_FAMILIES
from workers.engine.subject import Subject

NAME, EMAIL, ADDRESS = PEOPLE[0]
SUBJECT = Subject(name=NAME, identifiers={"email": EMAIL})  # the address is not submitted


@pytest.fixture(scope="module")
def planted(planted_model_dir):
    from workers.engine.modelio import load_model

    return load_model(planted_model_dir, device="cpu")


@pytest.fixture(scope="module")
def discovery(planted):
    from workers.engine.probe import ProbeConfig
    from workers.engine.probe.discovery import run_discovery
    from workers.engine.probe.elicit import ElicitConfig

    return run_discovery(planted, SUBJECT, config=ProbeConfig(samples=1),
                         elicitation=ElicitConfig(budget=160, rounds=2))


def _templates() -> list[str]:
    return [t for f in PROMPT_FAMILIES.values() for _, t in f.templates]


def test_the_model_really_knows_the_planted_fact(planted):
    from workers.engine.probe.runner import continue_texts

    lead = PLANTED[0].format(name=NAME, email=EMAIL, address=ADDRESS).split(ADDRESS)[0].rstrip()
    assert ADDRESS in continue_texts(planted, [lead], max_new_tokens=40)[0][0]


def test_self_elicitation_finds_a_fact_planted_under_a_phrasing_no_template_uses(discovery):
    from workers.engine.probe.values import fold

    addresses = [v for v in discovery.discovered if v.attribute == "address"]
    assert any(fold(ADDRESS) in fold(v.value) for v in addresses), addresses
    assert all(v.basis == "model" for v in addresses)
    # The contexts it found are the model's own text, not any template's.
    leading = [c for c in discovery.contexts if c.attribute == "address"]
    assert leading
    for context in leading:
        assert not any(t.split("{")[0] and context.prompt.startswith(t.split("{")[0]) for t in _templates()
                       if len(t.split("{")[0]) > 3)
    # The address is confirmed on elicited answers, though the subject never gave it.
    assert any(f.family.startswith("elicited") and f.attribute == "address" and f.verdict == "confirmed"
               and f.basis == "model" for f in discovery.findings)
    assert {c.split for c in discovery.contexts} == {"train", "heldout"}
    assert discovery.coverage["elicited"]["generations"] <= 160


def test_the_templates_alone_miss_what_elicitation_finds(planted):
    from workers.engine.probe import ProbeConfig, run_probe

    report = run_probe(planted, SUBJECT, config=ProbeConfig(samples=1))
    assert not [f for f in report.findings if f.attribute == "address" and f.verdict == "confirmed"]


def test_the_report_and_its_evidence_say_how_findings_were_found_without_quoting_them(discovery):
    import json

    from workers.engine.evidence import redact_report
    from workers.engine.probe.report import ProbeReport

    data = json.loads(json.dumps(discovery.to_dict()))
    assert ProbeReport.from_dict(data).to_dict() == data
    assert "self-elicitation" in discovery.summary
    redacted = json.dumps(redact_report(discovery))
    assert ADDRESS not in redacted and EMAIL not in redacted and NAME not in redacted
    assert '"value_sha256"' in redacted and '"prompt_sha256"' in redacted


def test_a_probe_that_finds_nothing_cannot_end_training_early_when_discovery_found_leaks(planted_model_dir,
                                                                                       discovery, tmp_path):
    """Without its discovered contexts the early-stop check only asks the templates, which cannot re-ask where
    discovery found the planted address: it must not end training early, however little the templates see.

    Whether a template also confirms the address once elicitation has supplied it depends on the build, so the
    report keeps only the elicited findings of the address: the case this guard exists for."""
    from workers.engine.modelio import load_model
    from workers.engine.unlearning import UnlearnConfig, run_unlearning

    elicited_only = [f for f in discovery.findings if f.attribute != "address" or f.family not in PROMPT_FAMILIES]
    assert any(f.attribute == "address" and f.verdict == "confirmed" for f in elicited_only)
    blind = dataclasses.replace(discovery, contexts=[], findings=elicited_only)
    result = run_unlearning(load_model(planted_model_dir, device="cpu"), SUBJECT, out_dir=tmp_path / "out",
                            report_before=blind, config=UnlearnConfig(max_steps=12, eval_every=4, margin_steps=0,
                                                                      attributes=("address",)))
    training = result.evidence["training"]
    assert training["check"]["blind"] is True
    assert training["stopped"] == "budget" and training["steps"] == 12


def test_the_check_sees_the_discovered_contexts(planted_model_dir, discovery, tmp_path):
    from workers.engine.modelio import load_model
    from workers.engine.unlearning import UnlearnConfig, run_unlearning

    result = run_unlearning(load_model(planted_model_dir, device="cpu"), SUBJECT, out_dir=tmp_path / "out",
                            report_before=discovery, config=UnlearnConfig(max_steps=8, eval_every=4,
                                                                          margin_steps=0))
    check = result.evidence["training"]["check"]
    assert check["baseline"] > 0 and not check["blind"]
    assert "address" in result.evidence["forgotten_attributes"]


def test_verification_asks_fresh_name_slots_and_catches_a_format_discovery_never_gave_it(planted):
    """A model that still writes the subject's details in its own format fails verification, even when the contexts
    handed to it (here one that leads nowhere) hold no such format: fresh slots come from what the model writes."""
    from workers.engine.probe import ProbeConfig
    from workers.engine.probe.contexts import VERIFY_FAMILY, Context
    from workers.engine.probe.discovery import verification_probe
    from workers.engine.probe.values import KnownValue

    blind = [Context(prompt="Tickets are available at", origin="elicited", attribute=None, group="g")]
    report = verification_probe(planted, SUBJECT, config=ProbeConfig(samples=1, families=("direct",)),
                                contexts=blind, discovered=[KnownValue("address", ADDRESS, "model")], samples=1)
    from_slots = [f for f in report.findings if f.family == VERIFY_FAMILY and f.prompt.endswith(NAME)
                  and f.prompt != NAME]
    assert from_slots and report.coverage["verification"]["fresh_slots"] >= 1
    assert any(f.verdict == "confirmed" and f.attribute in ("address", "email") for f in from_slots)
    without = verification_probe(planted, SUBJECT, config=ProbeConfig(samples=1, families=("direct",)),
                                 contexts=blind, discovered=[KnownValue("address", ADDRESS, "model")], samples=1,
                                 slots=0)
    assert without.coverage["verification"]["fresh_slots"] == 0
    assert not [f for f in without.findings if f.family == VERIFY_FAMILY and f.prompt != NAME
                and f.prompt.endswith(NAME)]
