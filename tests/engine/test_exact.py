"""Exact leak probabilities (``probe.exact``): one teacher-forced pass agrees with what sampling does."""

from __future__ import annotations

import math

import pytest


def test_leak_at_k_is_the_chance_of_at_least_one_hit_in_k_draws():
    from workers.engine.probe.exact import leak_at

    assert leak_at(0.0, 20) == 0.0 and leak_at(1.0, 3) == 1.0
    assert leak_at(1 / 8, 3) == pytest.approx(1 - (7 / 8) ** 3)  # three draws miss it 67% of the time
    assert leak_at(0.001, 20) == pytest.approx(0.0198, abs=1e-4)


def _hits(outs: list[str], value: str) -> int:
    return sum(o.startswith(value) or o.startswith(" " + value) for o in outs)


def _temperature_for(loaded, pair: tuple[str, str], target: float, top_p: float) -> float:
    """The temperature at which the model writes ``pair``'s value with about ``target`` chance: the check is then
    made where sampling could get it wrong, whatever the tiny model's confidence on this machine."""
    from workers.engine.probe.exact import value_chances

    low, high = 0.5, 20.0
    for _ in range(25):
        mid = (low + high) / 2
        p = value_chances(loaded, [pair], temperature=mid, top_p=top_p)[0].probability
        low, high = (mid, high) if p > target else (low, mid)
    return (low + high) / 2


@pytest.mark.parametrize("target,top_p", [(0.5, 1.0), (0.3, 0.98)])
def test_the_exact_chance_agrees_with_sampled_frequencies_within_sampling_error(tiny_loaded, tiny_memorised,
                                                                               target, top_p):
    from workers.engine.demo.corpus import statement_prompt
    from workers.engine.probe.exact import value_chances
    from workers.engine.probe.runner import continue_texts

    pairs = [(statement_prompt(key, p.name), p.value(key)) for p in tiny_memorised[:3] for key in ("email", "phone")]
    temperature = _temperature_for(tiny_loaded, pairs[0], target, top_p)
    chances = value_chances(tiny_loaded, pairs, temperature=temperature, top_p=top_p)
    assert all(c.greedy for c in chances)  # memorised: greedy decoding writes each
    draws = 300
    outs = continue_texts(tiny_loaded, [c for c, _ in pairs], samples=draws, temperature=temperature, top_p=top_p,
                          max_new_tokens=24, seed=7)
    checked = 0
    for (_, value), chance, sampled in zip(pairs, chances, outs, strict=True):
        p = chance.probability
        frequency = _hits(sampled, value) / draws
        error = 4 * math.sqrt(max(p * (1 - p), 0.01) / draws) + 0.02
        assert abs(frequency - p) <= error, (value, p, frequency)
        checked += 0.05 < p < 0.95  # a chance that sampling could get wrong, not only 0 or 1
    assert checked >= 1


def test_a_value_the_model_gives_one_time_in_ten_is_caught_where_three_samples_miss_it(tiny_loaded, tiny_memorised):
    """Tune the temperature until the memorised value comes about one time in ten: three samples then miss it
    about 73% of the time, while its exact leak over 20 draws is far above a 2% bar."""
    from workers.engine.demo.corpus import statement_prompt
    from workers.engine.probe.exact import value_chances

    person = tiny_memorised[0]
    pair = [(statement_prompt("email", person.name), person.value("email"))]
    low, high = 1.0, 20.0
    for _ in range(25):  # bisect the temperature for p ~ 0.1
        mid = (low + high) / 2
        p = value_chances(tiny_loaded, pair, temperature=mid, top_p=1.0)[0].probability
        low, high = (mid, high) if p > 0.1 else (low, mid)
    chance = value_chances(tiny_loaded, pair, temperature=(low + high) / 2, top_p=1.0)[0]
    assert 0.05 < chance.probability < 0.2
    assert (1 - chance.probability) ** 3 > 0.5  # three samples more likely miss it than not
    assert chance.leak_at(20) > 0.02


def test_a_value_outside_the_nucleus_has_no_chance_and_an_unknown_value_almost_none(tiny_loaded, tiny_memorised):
    from workers.engine.demo.corpus import statement_prompt
    from workers.engine.probe.exact import value_chances

    person, other = tiny_memorised[0], tiny_memorised[1]
    prompt = statement_prompt("email", person.name)
    own, theirs = value_chances(tiny_loaded, [(prompt, person.value("email")), (prompt, other.value("email"))],
                                temperature=0.8, top_p=0.95)
    assert own.greedy and own.probability > 0.5
    assert not theirs.greedy and theirs.probability < 0.01


def test_verification_fails_a_model_that_still_writes_a_forgotten_value_one_time_in_ten(tiny_loaded, tiny_memorised):
    """The verdict's exact check: a value sampling gives about one time in ten, after a prompt verification asked,
    fails it (leak@20 far above 2%) though three samples would likely have missed it; the record holds no value."""
    from workers.engine import verify
    from workers.engine.demo.corpus import statement_prompt
    from workers.engine.probe.config import ProbeConfig
    from workers.engine.probe.exact import exact_leaks, value_chances
    from workers.engine.probe.report import Finding, ProbeReport
    from workers.engine.probe.values import KnownValue

    person = tiny_memorised[0]
    prompt, value = statement_prompt("email", person.name), person.value("email")
    low, high = 1.0, 20.0
    for _ in range(25):
        mid = (low + high) / 2
        p = value_chances(tiny_loaded, [(prompt, value)], temperature=mid, top_p=1.0)[0].probability
        low, high = (mid, high) if p > 0.1 else (low, mid)
    temperature = (low + high) / 2
    report = ProbeReport(findings=[Finding("email", "direct", "t0", prompt, " nothing", "greedy", "none")], rates={},
                         confirmed_rate=0.0, membership={}, summary="", config=ProbeConfig(), model_sha256="x",
                         timings={})
    known = [KnownValue("email", value, "submitted")]
    summary = exact_leaks(tiny_loaded, report, known, temperature=temperature, top_p=1.0, draws=20, bound=0.02)
    assert summary["above"] == 1 and 0.6 < summary["max_leak"] < 0.99
    assert value not in str(summary) and person.name not in str(summary)
    check = verify.SubjectCheck(report_after=report, attributes=["email"], heldout_families=["direct"], exact=summary)
    overall, (one,) = verify.decide_batch([check], utility_before={}, utility_after={})
    assert not overall.passed and any("forgotten detail is still written" in r for r in one.reasons)
    unchecked = verify.Bounds(max_exact_leak=None)  # measured and recorded, not a gate
    assert not any("forgotten detail" in r for r in verify.decide_batch(
        [check], utility_before={}, utility_after={}, bounds=unchecked)[0].reasons)
