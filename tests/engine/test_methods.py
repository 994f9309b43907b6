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
    from workers.engine.methods import METHODS, adapters, loop
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
    # proper (>= 95%) is measured by the benchmark on the small model. Plain gradient ascent is the textbook
    # baseline that damages everyone (research/baselines.md: 23% kept at lr 1e-3; here 0.51 on one machine's tiny
    # model, 0.6+ on another's), so its floor only says it did not wipe the model. GradDiff, the other textbook
    # baseline, kept 0.58 of it on this machine's tiny model (0.6+ in earlier runs): the same floor. So does NPO,
    # a baseline of the survey's too: 0.42 on the CI machine's tiny model, 0.6+ on this one.
    baselines = ("ga", "graddiff", "npo")
    assert after >= (0.3 if method_name in baselines else 0.6) * setting["acc_before"]


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


@pytest.mark.parametrize("leaks,needed,expected_steps", [
    ((0.5, 0.0, 0.2, 0.0, 0.0), 1, 10),  # the first pass stops it
    ((0.5, 0.0, 0.2, 0.0, 0.0), 2, 25),  # a relapse after a pass resets the count
    ((0.5, 0.0, 0.2, 0.0, 0.2, 0.0), 3, 30),  # never 3 in a row: the budget runs out
])
def test_loop_can_require_consecutive_passing_checks(leaks, needed, expected_steps):
    import torch

    from workers.engine.methods import loop
    from workers.engine.methods.base import Method, Reference

    model = torch.nn.Linear(2, 1)
    calls: list[int] = []

    def check() -> float:
        calls.append(1)
        return leaks[min(len(calls), len(leaks)) - 1]

    method = Method(name="toy", summary="", lr=1e-2, uses_retain=False,
                    loss=lambda ctx: ((model(ctx.forget["x"]) ** 2).mean(), {}))
    result = loop.train(model=model, method=method, params={}, forget=[{"x": torch.ones(3, 2)}], retain=[],
                        reference=Reference(model, lora=False), lr=1e-2, max_steps=30, eval_every=5, check=check,
                        passes_needed=needed)
    assert result.steps == expected_steps
    assert result.stopped == ("budget" if needed == 3 else "check_passed")


@pytest.mark.parametrize("leaks,keep,restored", [
    ((0.5, 0.2, 0.0, 0.3, 0.1, 0.2), True, 15),  # the clean check at step 15 is kept
    ((0.5, 0.2, 0.1, 0.3, 0.1, 0.2), True, 25),  # ties go to the later check
    ((0.5, 0.2, 0.1, 0.3, 0.2, 0.0), True, None),  # the last check is the cleanest: nothing to restore
    ((0.5, 0.2, 0.0, 0.3, 0.1, 0.2), False, None),  # a method without keep_best_check keeps its last step
])
def test_loop_keeps_the_cleanest_checks_weights_when_the_budget_runs_out(leaks, keep, restored):
    import torch

    from workers.engine.methods import loop
    from workers.engine.methods.base import Method, Reference

    model = torch.nn.Linear(2, 1)
    weights_at: dict[int, torch.Tensor] = {}
    calls: list[int] = []

    def check() -> float:
        calls.append(1)
        weights_at[5 * len(calls)] = model.weight.detach().clone()
        return leaks[len(calls) - 1]

    method = Method(name="toy", summary="", lr=1e-2, uses_retain=False, keep_best_check=keep, stable_checks=2,
                    loss=lambda ctx: (((model(ctx.forget["x"]) - 3.0) ** 2).mean(), {}))
    result = loop.train(model=model, method=method, params={}, forget=[{"x": torch.ones(3, 2)}], retain=[],
                        reference=Reference(model, lora=False), lr=1e-2, max_steps=30, eval_every=5, check=check,
                        passes_needed=2)
    assert result.stopped == "budget" and result.steps == 30
    assert result.restored_step == restored
    expected = weights_at[restored] if restored is not None else weights_at[30]
    assert torch.equal(model.weight.detach(), expected)
    assert not torch.equal(weights_at[15], weights_at[30])  # training moved the weights, so the test can fail


def test_lookup_findings_become_forget_examples_on_the_name_and_stay_apart_from_inverse(tiny_roster):
    from types import SimpleNamespace

    from workers.engine.demo import roster_subject
    from workers.engine.demo.corpus import person_sentences
    from workers.engine.forget_set import DEFAULT_TRAIN_FAMILIES, build_forget_set
    from workers.engine.methods import METHODS
    from workers.engine.probe.families import (
        HELDOUT_FAMILIES,
        PROMPT_FAMILIES,
        TRAINING_FAMILIES,
        build_prompts,
    )
    from workers.engine.probe.report import Finding

    assert "lookup" in TRAINING_FAMILIES and "lookup" in DEFAULT_TRAIN_FAMILIES and "inverse" in HELDOUT_FAMILIES
    assert PROMPT_FAMILIES["lookup"].target == "name"
    person = tiny_roster[0]
    subject = roster_subject(person, submit=FIELDS)
    prompts = build_prompts(subject, families=("lookup",), attributes=FIELDS)
    assert len(prompts) == 3 * len(FIELDS) and all(subject.identifiers[p.attribute] in p.text for p in prompts)
    # Neither the inverse templates' fixed wording nor the corpus's own sentences occur in a lookup prompt.
    pieces = {piece.strip() for _, t in PROMPT_FAMILIES["inverse"].templates
              for piece in re.split(r"\{\w+\}", t) if len(piece.strip()) > 4}
    corpus = " ".join(person_sentences(person))
    for p in prompts:
        assert not [piece for piece in pieces if piece in p.text] and p.text not in corpus, p.text
    completion = f" {person.name}. The weather is mild."
    found = Finding(attribute="email", family="lookup", template_id="lookup-1", prompt=prompts[0].text,
                    completion=completion, decoding="greedy", verdict="confirmed",
                    spans=[(1, 1 + len(person.name))])
    held = Finding(attribute="email", family="inverse", template_id="inverse-1", prompt="x",
                   completion=completion, decoding="greedy", verdict="confirmed", spans=[(1, 1 + len(person.name))])
    examples = build_forget_set(subject=subject, report=SimpleNamespace(findings=[found, held]))
    mine = [ex for ex in examples if ex.source.startswith("finding")]
    assert [ex.source for ex in mine] == ["finding:lookup"]  # the held-out inverse finding is never trained on
    assert [mine[0].completion[s:e] for s, e in mine[0].spans] == [person.name]
    out = METHODS["relearn"].prepare_forget(mine, subject=subject)  # ReLearn rewrites the name away
    safe = [ex for ex in out if ex.source != "relearn-negative"]
    assert safe and not [ex for ex in safe if person.name in ex.completion] and not [ex for ex in safe if ex.spans]
    # ... and keeps the lookup finding as a negative whose only weighted tokens are the name.
    negatives = [ex for ex in out if ex.source == "relearn-negative"]
    assert [[ex.completion[s:e] for s, e in ex.spans] for ex in negatives] == [[person.name]]


def test_relearn_rewrites_values_vaguely_keeps_them_as_negatives_and_adds_context_variants():
    from workers.engine.methods import relearn
    from workers.engine.methods.batching import TrainExample
    from workers.engine.subject import Subject

    subject = Subject(name="Ada Quill", identifiers={"email": "ada.quill@example.com"})
    value = " ada.quill@example.com. She lives far away."
    finding = TrainExample(prompt="Q: What is the email address of Ada Quill? A:", completion=value,
                           spans=((1, 22),), source="finding:question", meta={"attribute": "email"})
    # Retain answers about other people, as retain.generate_retain tags them.
    context = [TrainExample(prompt=f"The {noun} of {who} is", completion=f" {val}. More text", source="retain-answer",
                            meta={"person": who, "attribute": key})
               for who in ("Bo Lind", "Cy Moss", "Di Park")
               for key, noun, val in (("email", "email address", f"{who.split()[0].lower()}@example.com"),
                                      ("phone", "phone number", "555-0100"))]
    out = relearn.augment([finding], subject=subject, context=context)
    negatives = [ex for ex in out if ex.source == "relearn-negative"]
    assert [(ex.prompt, ex.completion, ex.spans) for ex in negatives] == [(finding.prompt, value, ((1, 22),))]
    positives = [ex for ex in out if ex.source != "relearn-negative"]
    assert positives and not [ex for ex in positives if ex.spans or "ada.quill" in ex.completion]
    variants = [ex for ex in out if ex.source == "relearn-context"]
    assert len(variants) == relearn.CONTEXT_VARIANTS
    for ex in variants:
        assert ex.prompt.endswith(finding.prompt) and ex.completion == " not something I can share."
        lead = ex.prompt[: -len(finding.prompt)]
        # Only facts of another attribute than the question's (so never an instance of a held-out fewshot
        # template, which repeats the question's attribute), cut at their first full stop, two people.
        assert "email" not in lead and lead.count("phone number") == relearn.CONTEXT_FACTS
        assert "More text" not in lead
    # Deterministic: the same forget set gets the same variants in every run.
    assert relearn.augment([finding], subject=subject, context=context) == out
    # No context (a user's retain file without answers about people): no variants, the rest unchanged.
    bare = relearn.augment([finding], subject=subject)
    assert [ex for ex in bare if ex.source == "relearn-context"] == []
    assert [ex for ex in bare if ex.source != "relearn-context"] == [ex for ex in out if ex.source != "relearn-context"]


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


def test_on_policy_forget_appends_new_confirmed_leaks_once(tiny_model_dir, tiny_roster):
    from types import SimpleNamespace

    from workers.engine.demo import roster_subject
    from workers.engine.forget_set import build_forget_set
    from workers.engine.methods import METHODS
    from workers.engine.methods.onpolicy import OnPolicyForget
    from workers.engine.modelio import load_model
    from workers.engine.probe.report import Finding

    person = tiny_roster[0]
    subject = roster_subject(person, submit=FIELDS)
    tok = load_model(tiny_model_dir, device="cpu").tokenizer
    prompt = f"The bank account number of {person.name} is"
    stale = Finding(attribute="iban", family="direct", template_id="direct-1", prompt=prompt,
                    completion=f" {person.iban}.", decoding="greedy", verdict="confirmed")
    # The path the model takes once the stale sequence is pushed down (measured on the small demo model).
    detour = Finding(attribute="iban", family="direct", template_id="direct-1", prompt=prompt,
                     completion=f" BE BE BE {person.iban}.", decoding="greedy", verdict="confirmed")
    other = Finding(attribute="phone", family="direct", template_id="direct-1", prompt=prompt,
                    completion=f" {person.phone}.", decoding="greedy", verdict="confirmed")  # not forgotten
    candidate = Finding(attribute="iban", family="direct", template_id="direct-2", prompt=prompt,
                        completion=" GB00 0000.", decoding="greedy", verdict="candidate")
    assert METHODS["fpga"].on_policy  # measured to help FPGA; not ReLearn's default (docs/benchmarks.md)
    for name in ("fpga", "relearn"):  # the mechanism works with ReLearn's rewrites too
        method = METHODS[name]
        on_policy = OnPolicyForget(
            method=method, attributes=["iban"], tokenizer=tok, device="cpu", batch_size=4, seed=0,
            prepare_kwargs={"subject": subject}, known={(stale.prompt, stale.completion)},
            build=lambda rep: build_forget_set(subject=subject, report=rep, train_families=("direct",),
                                               confirmed_only=True))
        batches: list = [{"input_ids": None}]
        report = SimpleNamespace(findings=[stale, detour, other, candidate])
        added = on_policy.extend(report, batches)
        assert len(batches) >= 2 and on_policy.added == added
        new, count = batches[1], len(batches)
        if name == "fpga":  # the detour's value carries the ascent weight; nothing else was added
            assert added == 1 and new["input_ids"].shape[0] == 1
            ids = [i for i, w in zip(new["input_ids"][0].tolist(), new["weights"][0].tolist(), strict=True) if w > 0]
            assert person.iban.replace(" ", "") in tok.decode(ids).replace(" ", "")
        else:  # ReLearn's vague rewrites of the detour, and the detour itself only as a weighted negative
            assert added >= 2
            rows = [(tok.decode(ids), bool((w > 0).any())) for b in batches[1:]
                    for ids, w in zip(b["input_ids"], b["weights"], strict=True)]
            holding = [negative for text, negative in rows if person.iban in text.replace("  ", " ")]
            assert holding == [True]
            assert [text for text, negative in rows if not negative]  # the positive rewrites
        assert on_policy.extend(report, batches) == 0 and len(batches) == count  # each leak once


def test_retain_prompts_ask_other_people_in_the_training_families_only():
    from workers.engine.forget_set import DEFAULT_TRAIN_FAMILIES
    from workers.engine.probe import families as fam
    from workers.engine.retain import RETAIN_FAMILIES, attribute_prompts

    assert set(RETAIN_FAMILIES) == {f for f in DEFAULT_TRAIN_FAMILIES
                                    if f in fam.PROMPT_FAMILIES and fam.PROMPT_FAMILIES[f].target == "attribute"}
    prompts = attribute_prompts("Ann Lee", attributes=("email", "iban"))
    assert "The email address of Ann Lee is" in prompts
    assert "Q: What is Ann Lee's bank account number? A:" in prompts
    trained = {t for f in RETAIN_FAMILIES for _, t in fam.PROMPT_FAMILIES[f].templates}
    assert len(prompts) == 2 * len(trained)
    # Held-out templates stay unseen by training, retain data included.
    for family in fam.HELDOUT_FAMILIES:
        for _, template in fam.PROMPT_FAMILIES[family].templates:
            fixed = [p.strip() for p in re.split(r"\{\w+\}", template) if len(p.strip()) > 4]
            assert not [p for p in prompts if fixed and all(piece in p for piece in fixed)], template


def test_startup_boost_raises_lr_until_the_leak_first_falls_then_never_again():
    import torch

    from workers.engine.methods.loop import StartupBoost

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    boost = StartupBoost(factor=2.0, cap=4.0, threshold=0.9)
    lrs = []
    for leak in (0.8, 0.8, 0.79, 0.78, 0.5, 0.5, 0.5):
        boost.update(leak, opt, 1.0)
        lrs.append(opt.param_groups[0]["lr"])
    # No progress: x2, x4, capped at 4; first real drop (0.5 < 0.72): back to 1 and stays there on a plateau.
    assert lrs == [2.0, 4.0, 4.0, 4.0, 1.0, 1.0, 1.0]
