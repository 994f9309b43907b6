"""Attack checks (issue 11) on the real tiny demo model: each finds what a deliberately weak unlearning (three
small gradient-ascent steps) left in the model, names itself in its record, and finds nothing about a person the
model never saw (so a check that always reports leaks fails here)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("engine-methods")

FIELDS = ("email", "phone")


def _weakly_forgotten(tiny_model_dir, person):
    import torch

    from workers.engine.methods.batching import TrainExample, make_batches
    from workers.engine.modelio import load_model
    from workers.engine.verify import statement_prompt

    loaded = load_model(tiny_model_dir, device="cpu")
    texts = [TrainExample(prompt=statement_prompt(k, person.name), completion=f" {person.value(k)}.", eos=True)
             for k in FIELDS]
    (batch,) = make_batches(loaded.tokenizer, texts, batch_size=8, device=loaded.device)
    optimiser = torch.optim.SGD(loaded.model.parameters(), lr=1e-4)
    loaded.model.train()
    for _ in range(3):
        loss = -loaded.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                             labels=batch["labels"]).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    loaded.model.eval()
    return loaded


@pytest.fixture(scope="module")
def weak(tiny_model_dir, tiny_memorised):
    person = tiny_memorised[0]
    return person, _weakly_forgotten(tiny_model_dir, person)


def _stranger():
    from workers.engine.subject import Subject

    return Subject(name="Zebedee Quartermaine", identifiers={"email": "zq.nobody@example.invalid",
                                                             "phone": "+44 20 7946 0991"})


def _config():
    from workers.engine.probe.config import ProbeConfig

    return ProbeConfig(samples=2, families=("direct", "question"))


@pytest.mark.parametrize("name", ["quantize", "multiquery", "multihop", "relearn"])
def test_each_attack_recovers_a_weakly_forgotten_fact_and_nothing_about_a_stranger(weak, name):
    from workers.engine.attacks import AttackSettings, Target, run_attacks
    from workers.engine.demo import roster_subject

    person, loaded = weak
    settings = AttackSettings(relearn_steps=5, multiquery_samples=4)
    target = Target(roster_subject(person, submit=FIELDS), attributes=FIELDS)
    record, reasons = run_attacks(loaded, [target], [name], config=_config(), gating=[name], settings=settings)
    assert list(record) == [name] and record[name]["gating"]
    outcomes = record[name]["subjects"][0]["outcomes"]
    assert sum(o["leaks"] for o in outcomes) > 0 and not record[name]["passed"]
    assert reasons and reasons[0].startswith(f"attack {name}:")
    # The record holds counts and rates, never the values the attack got back.
    assert person.value("email") not in repr(record) and person.value("phone") not in repr(record)

    clean, none = run_attacks(loaded, [Target(_stranger(), attributes=FIELDS)], [name], config=_config(),
                              gating=[name], settings=settings)
    assert all(o["asked"] > 0 for o in clean[name]["subjects"][0]["outcomes"])
    assert sum(o["leaks"] for o in clean[name]["subjects"][0]["outcomes"]) == 0
    assert clean[name]["passed"] and none == []


def test_a_reporting_attack_does_not_gate(weak):
    from workers.engine.attacks import Target, run_attacks
    from workers.engine.demo import roster_subject

    person, loaded = weak
    record, reasons = run_attacks(loaded, [Target(roster_subject(person, submit=FIELDS), attributes=FIELDS)],
                                  ["multihop"], config=_config(), gating=["quantize"])
    assert not record["multihop"]["passed"] and not record["multihop"]["gating"] and reasons == []


def test_four_bit_rounding_keeps_at_most_sixteen_levels_per_group():
    import torch

    from workers.engine.attacks.quantize import GROUP, fake_quantize

    weight = torch.randn(4, 2 * GROUP)
    q = fake_quantize(weight, bits=4, group=GROUP)
    for row in q.reshape(4, 2, GROUP).reshape(-1, GROUP):
        assert len(torch.unique(row)) <= 16
    assert float((q - weight).abs().max()) <= float(weight.abs().max()) / 7 / 2 + 1e-6
    assert float((fake_quantize(weight, bits=8, group=None) - weight).abs().max()) < 0.02


def test_multihop_never_asks_a_detail_through_itself():
    from workers.engine.attacks.base import Target
    from workers.engine.attacks.multihop import aliases, prompts_for

    target = Target(_stranger(), attributes=FIELDS)
    prompts = prompts_for(target)
    assert prompts and all(p.attribute in FIELDS for p in prompts)
    for p in prompts:
        asked_value = target.subject.identifiers[p.attribute]
        assert asked_value not in p.text
    assert aliases("Ann Bell") == ["Bell, Ann", "A. Bell", "Mx Bell"]


def test_unknown_attack_is_a_clear_error():
    from workers.engine.attacks import ATTACKS, parse_attacks
    from workers.engine.errors import EngineError

    assert parse_attacks("multiquery, quantize") == ("quantize", "multiquery")
    assert parse_attacks("all") == tuple(ATTACKS)
    with pytest.raises(EngineError, match="unknown attack 'quantise'"):
        parse_attacks("quantise")
