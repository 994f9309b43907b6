"""Every method, on the real tiny demo model: trains the adapter, lowers the subject's extraction, keeps others'."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.xdist_group("engine-methods")

FIELDS = ("email", "phone", "iban")


def _leaks(loaded, person) -> int:
    from workers.engine.verify import greedy_answers, statement_prompt

    answers = greedy_answers(loaded, [statement_prompt(k, person.name) for k in FIELDS])
    return sum(a.strip().startswith(person.value(k)) for k, a in zip(FIELDS, answers, strict=True))


@pytest.fixture(scope="module")
def setting(tiny_model_dir, tiny_roster):
    """The subject, the forget set from a real (greedy, direct-family) probe, and generated retain data."""
    import torch

    from workers.engine.demo import roster_subject
    from workers.engine.forget_set import build_forget_set
    from workers.engine.modelio import load_model
    from workers.engine.probe import ProbeConfig, run_probe
    from workers.engine.retain import generate_retain
    from workers.engine.verify import roster_accuracy

    torch.manual_seed(0)
    person = tiny_roster[0]
    subject = roster_subject(person, submit=FIELDS)
    loaded = load_model(tiny_model_dir, device="cpu")
    report = run_probe(loaded, subject, config=ProbeConfig(samples=0, attributes=FIELDS), families=["direct"])
    forget = build_forget_set(subject=subject, report=report, train_families=("direct",))
    retain = generate_retain(loaded, subject, samples=16, people=6, seed=0)
    roster = [p.to_dict() for p in tiny_roster]
    before = roster_accuracy(loaded, roster, exclude=[person.name], fields=FIELDS)["accuracy"]
    return {"person": person, "subject": subject, "forget": forget, "retain": retain, "roster": roster,
            "acc_before": before, "leaks_before": _leaks(loaded, person)}


@pytest.mark.parametrize("method_name,init", [("fpga", "default"), ("relearn", "default"), ("ihl", "default"),
                                              ("ihl", "fila"), ("ga", "default"), ("graddiff", "default"),
                                              ("npo", "default")])
def test_method_forgets_subject_and_keeps_others(setting, tiny_model_dir, method_name, init):
    import torch

    from workers.engine.fila import fila_init
    from workers.engine.methods import METHODS
    from workers.engine.methods import adapters, loop
    from workers.engine.methods.base import Reference
    from workers.engine.methods.batching import make_batches
    from workers.engine.modelio import LoadedModel, load_model
    from workers.engine.verify import roster_accuracy

    assert setting["leaks_before"] >= 2  # the tiny model really knows the subject
    method = METHODS[method_name]
    params = dict(method.defaults)
    loaded = load_model(tiny_model_dir, device="cpu")
    forget = setting["forget"]
    if method.prepare_forget:
        forget = method.prepare_forget(forget, subject=setting["subject"])
    model = adapters.make_trainable(loaded.model, lora=True, rank=4, alpha=8, seed=0)
    before = adapters.trainable_snapshot(model)
    fb = make_batches(loaded.tokenizer, forget, batch_size=16, device=loaded.device,
                      context_weight=params.get("context_weight", 0.0))
    rb = make_batches(loaded.tokenizer, setting["retain"], batch_size=16, device=loaded.device)
    if init == "fila":
        fila_init(model, forget_batches=fb, retain_batches=rb)
        before = adapters.trainable_snapshot(model)
    view = LoadedModel(model=model, tokenizer=loaded.tokenizer, device=loaded.device, path=loaded.path)
    result = loop.train(model=model, method=method, params=params, forget=fb, retain=rb,
                        reference=Reference(model, lora=True), lr=method.lr, max_steps=80, eval_every=5,
                        check=lambda: _leaks(view, setting["person"]) / len(FIELDS))

    assert result.steps >= 1
    assert any(not torch.equal(p, before[n]) for n, p in model.named_parameters() if n in before)
    assert _leaks(view, setting["person"]) < setting["leaks_before"]
    after = roster_accuracy(view, setting["roster"], exclude=[setting["person"].name], fields=FIELDS)["accuracy"]
    # The 20-person tiny model is the harshest case (each person is 5% of its knowledge); the quality bar
    # proper (>= 95%) is measured by the benchmark on the small model.
    assert after >= 0.6 * setting["acc_before"]


@pytest.mark.parametrize("margin,expected_steps", [(0, 10), (7, 17), (100, 30)])
def test_loop_runs_margin_steps_after_the_check_passes(margin, expected_steps):
    import torch

    from workers.engine.methods import loop
    from workers.engine.methods.base import Method, Reference

    model = torch.nn.Linear(2, 1)
    calls: list[int] = []

    def check() -> float:
        calls.append(1)
        return 0.0 if len(calls) >= 2 else 0.5  # passes at the second check (step 10)

    method = Method(name="toy", summary="", lr=1e-2, uses_retain=False,
                    loss=lambda ctx: ((model(ctx.forget["x"]) ** 2).mean(), {}))
    result = loop.train(model=model, method=method, params={}, forget=[{"x": torch.ones(3, 2)}], retain=[],
                        reference=Reference(model, lora=False), lr=1e-2, max_steps=30, eval_every=5, check=check,
                        margin_steps=margin)
    assert result.stopped == "check_passed"
    assert result.steps == expected_steps  # never past max_steps
    assert len(calls) == 2  # no further checks during the margin


def test_fpga_gets_several_reverse_phrasings_none_from_a_heldout_template(tiny_roster):
    from types import SimpleNamespace

    from workers.engine.demo import roster_subject
    from workers.engine.forget_set import build_forget_set
    from workers.engine.methods import METHODS
    from workers.engine.probe.families import HELDOUT_FAMILIES, PROMPT_FAMILIES

    subject = roster_subject(tiny_roster[0], submit=FIELDS)
    report = SimpleNamespace(findings=[])
    n = METHODS["fpga"].reverse_phrasings
    assert n >= 2 and METHODS["ga"].reverse_phrasings == METHODS["relearn"].reverse_phrasings == 1
    reverse = [ex for ex in build_forget_set(subject=subject, report=report, reverse_phrasings=n)
               if ex.source == "identifier-reverse"]
    assert len(reverse) == n * len(FIELDS)
    for ex in reverse:
        assert ex.completion.strip().startswith(subject.name)  # the ascent lands on the name
        assert ex.completion[ex.spans[0][0]:ex.spans[0][1]] == subject.name
    # No held-out template's fixed wording (the text between its placeholders) appears in a trained prompt.
    pieces = {piece.strip() for fam in HELDOUT_FAMILIES for _, t in PROMPT_FAMILIES[fam].templates
              for piece in re.split(r"\{\w+\}", t) if len(piece.strip()) > 4}
    for ex in reverse:
        assert not [piece for piece in pieces if piece in ex.prompt], ex.prompt
