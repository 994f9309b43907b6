"""``run_unlearning`` for the product's jobs: a batch of subjects in one run, the officer's choice of
attributes, and cancellation through the progress callback. All on the real tiny demo model."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.xdist_group("engine-methods")

FIELDS = ("email", "phone")


def _extracted(loaded, person, fields=FIELDS) -> dict[str, bool]:
    """Does the greedy answer to a plain statement prompt start with the person's true value?"""
    from workers.engine.verify import greedy_answers, statement_prompt

    answers = greedy_answers(loaded, [statement_prompt(k, person.name) for k in fields])
    return {k: a.strip().startswith(person.value(k)) for k, a in zip(fields, answers, strict=True)}


def _fresh(tiny_model_dir):
    """run_unlearning adapts the model in place, so every run gets its own copy (the session one is shared)."""
    from workers.engine.modelio import load_model

    return load_model(tiny_model_dir, device="cpu")


@pytest.fixture(scope="module")
def report_of(tiny_model_dir):
    """Discovery reports as the product stores them (``to_dict()``), made once per person for this module."""
    from workers.engine.demo import roster_subject
    from workers.engine.probe import run_probe
    from workers.engine.unlearning import UnlearnConfig, probe_config

    loaded = _fresh(tiny_model_dir)
    cache: dict[str, dict] = {}

    def get(person) -> dict:
        if person.name not in cache:
            subject = roster_subject(person, submit=FIELDS)
            cache[person.name] = run_probe(loaded, subject, config=probe_config(UnlearnConfig())).to_dict()
        return cache[person.name]

    return get


@pytest.mark.slow
def test_batch_of_two_forgets_both_keeps_others_and_writes_one_evidence(tmp_path, tiny_model_dir, tiny_roster,
                                                                       tiny_memorised):
    from workers.engine.demo import roster_subject
    from workers.engine.modelio import load_model
    from workers.engine.unlearning import UnlearnConfig, run_unlearning
    from workers.engine.verify import roster_accuracy

    people = tiny_memorised[:2]  # the fixture proves the tiny model knows them
    others = [p.to_dict() for p in tiny_roster]
    base = _fresh(tiny_model_dir)
    before = [_extracted(base, p) for p in people]
    acc_before = roster_accuracy(base, others, exclude=[p.name for p in people], fields=FIELDS)["accuracy"]
    events = []
    result = run_unlearning(_fresh(tiny_model_dir), [roster_subject(p, submit=FIELDS) for p in people],
                            out_dir=tmp_path / "out", config=UnlearnConfig(method="fpga", max_steps=60),
                            progress=events.append)

    after_model = load_model(result.model_dir, device="cpu")
    after = [_extracted(after_model, p) for p in people]
    for b, a in zip(before, after, strict=True):  # each person's extraction went down, not just the pooled one
        assert sum(a.values()) < sum(b.values())
    acc_after = roster_accuracy(after_model, others, exclude=[p.name for p in people], fields=FIELDS)["accuracy"]
    # Others are kept, not collapsed (plain gradient ascent takes them to near 0). How much is kept is a quality
    # figure of a 60-step run on a tiny model, measured by the benchmarks, not a guarantee a test can hold.
    assert acc_after >= 0.75 * acc_before

    text = result.evidence_path.read_text()
    evidence = json.loads(text)
    assert [s["index"] for s in evidence["subjects"]] == [0, 1]
    for part in evidence["subjects"]:
        assert {"email", "phone"} <= set(part["forgotten_attributes"])
        assert part["probe_after"]["confirmed_rate"] < part["probe_before"]["confirmed_rate"]
        assert part["identifier_kinds"] == ["email", "phone"]
    assert evidence["verdict"]["passed"] == result.passed
    assert result.passed <= all(s["verdict"]["passed"] for s in evidence["subjects"])
    assert evidence["probe_before"] == evidence["subjects"][0]["probe_before"]  # single-subject readers' keys
    assert len(result.reports_after) == 2
    for person in people:  # proof of erasure without the erased data
        assert person.name not in text and person.email not in text and person.phone not in text
    # The new version keeps the demo's ground truth for the next request, less the people it forgot.
    carried = (result.model_dir / "roster.jsonl").read_text()
    assert len(carried.splitlines()) == len(tiny_roster) - 2
    assert all(p.name not in carried and p.email not in carried for p in people)
    assert (result.model_dir / "heldout_text.txt").read_bytes() == (tiny_model_dir / "heldout_text.txt").read_bytes()
    # Training events carry what the officer's page shows, the latest leak rate included once a check ran.
    steps = [e for e in events if e.stage == "unlearn"]
    assert steps and all(e.total == 60 and "loss" in e.metrics for e in steps)
    first_check = int(evidence["training"]["checks"][0]["step"])
    assert all("leak_rate" in e.metrics for e in steps if e.step >= first_check)
    stages = {e.stage for e in events}
    assert {"discover", "utility", "check/probe.likelihood", "save", "verify", "verify/probe.generate", "done"} <= stages


@pytest.mark.slow
def test_chosen_attributes_forget_only_those(tiny_memorised, tmp_path, tiny_model_dir, report_of):
    from workers.engine.demo import roster_subject
    from workers.engine.modelio import load_model
    from workers.engine.unlearning import UnlearnConfig, run_unlearning

    person = tiny_memorised[0]
    assert all(_extracted(_fresh(tiny_model_dir), person).values())
    result = run_unlearning(_fresh(tiny_model_dir), roster_subject(person, submit=FIELDS), out_dir=tmp_path / "out",
                            config=UnlearnConfig(method="fpga", max_steps=60, attributes=("email",)),
                            report_before=report_of(tiny_memorised[0]))

    after = _extracted(load_model(result.model_dir, device="cpu"), person)
    assert after == {"email": False, "phone": True}
    evidence = result.evidence
    assert evidence["forgotten_attributes"] == ["email"]
    assert evidence["subjects"][0]["attributes_chosen"] == ["email"]
    assert evidence["subjects"][0]["forget_set"]["kept_as_retain"] > 0  # the phone was anchored as retain data


def test_cancel_during_training_stops_and_leaves_nothing(tiny_memorised, tmp_path, tiny_model_dir, report_of):
    from workers.engine.demo import roster_subject
    from workers.engine.errors import Cancelled, EngineError
    from workers.engine.unlearning import UnlearnConfig, run_unlearning

    assert not issubclass(Cancelled, EngineError)  # a cancellation is never reported as a failure
    seen = []

    def officer_cancels(event):
        seen.append(event)
        if event.stage == "unlearn" and event.step == 3:
            raise Cancelled("cancelled by the officer")

    out = tmp_path / "out"
    with pytest.raises(Cancelled):
        run_unlearning(_fresh(tiny_model_dir), roster_subject(tiny_memorised[0], submit=FIELDS), out_dir=out,
                       config=UnlearnConfig(method="fpga", max_steps=50), report_before=report_of(tiny_memorised[0]),
                       progress=officer_cancels)
    assert seen[-1].stage == "unlearn" and seen[-1].step == 3  # nothing ran after the callback raised
    assert not out.exists()


def test_cancel_after_saving_removes_the_written_model(tiny_memorised, tmp_path, tiny_model_dir, report_of):
    """A pre-existing empty directory stays, empty: no model/, adapter/ or evidence.json claims success."""
    from workers.engine.demo import roster_subject
    from workers.engine.errors import Cancelled
    from workers.engine.unlearning import UnlearnConfig, run_unlearning

    out = tmp_path / "out"
    out.mkdir()
    wrote: list[bool] = []

    def cancel_in_verify(event):
        if event.stage.startswith("verify/"):
            wrote.append((out / "model" / "config.json").is_file())
            raise Cancelled("cancelled by the officer")

    with pytest.raises(Cancelled):
        run_unlearning(_fresh(tiny_model_dir), [roster_subject(tiny_memorised[0], submit=FIELDS)], out_dir=out,
                       config=UnlearnConfig(method="ga", max_steps=2), reports_before={0: report_of(tiny_memorised[0])},
                       progress=cancel_in_verify)
    assert wrote == [True]  # the model had been saved when the cancel came
    assert out.is_dir() and list(out.iterdir()) == []


def test_bad_batch_inputs_are_engine_errors_and_write_nothing(tiny_memorised, tmp_path, tiny_model_dir, report_of):
    from workers.engine.demo import roster_subject
    from workers.engine.errors import EngineError
    from workers.engine.unlearning import UnlearnConfig, run_unlearning

    loaded = _fresh(tiny_model_dir)
    a, b = (roster_subject(tiny_memorised[i], submit=FIELDS) for i in (0, 2))
    out = tmp_path / "out"
    cases = [
        (dict(subjects=[a, a]), "same person"),
        (dict(subjects=[a, b], reports_before=[report_of(tiny_memorised[0])]), "1 reports for 2"),
        (dict(subjects=[a, b], reports_before={5: report_of(tiny_memorised[0])}), "batch index"),
        (dict(subjects=[a, b], report_before=report_of(tiny_memorised[0])), "single subject"),
        (dict(subjects=a, reports_before=[{"findings": []}]), "not a probe report"),
        (dict(subjects=a, config=UnlearnConfig(attributes=("email", "shoe_size"))), "unknown attribute 'shoe_size'"),
        (dict(subjects=a, config=UnlearnConfig(attributes=())), "at least one attribute"),
        (dict(subjects=[a, b], config=UnlearnConfig(attributes_per_subject=[("email",)])), "1 entries for 2"),
        (dict(subjects=[]), "non-empty"),
    ]
    for kwargs, message in cases:
        subjects = kwargs.pop("subjects")
        with pytest.raises(EngineError, match=message):
            run_unlearning(loaded, subjects, out_dir=out, **kwargs)
        assert not out.exists()
    stale = dict(report_of(tiny_memorised[0]), model_sha256="0" * 64)  # discovery ran on an older model version
    with pytest.raises(EngineError, match="other weights"):
        run_unlearning(loaded, a, out_dir=out, report_before=stale)
    assert not out.exists()


def test_per_subject_attributes_fall_back_to_the_shared_choice():
    from workers.engine.unlearning import UnlearnConfig

    config = UnlearnConfig(attributes=["email"], attributes_per_subject=[None, ["phone", "iban"]])
    config.validate(subjects=2)
    assert config.attributes_for(0) == ("email",)
    assert config.attributes_for(1) == ("phone", "iban")
    assert UnlearnConfig().attributes_for(0) is None


def test_training_events_repeat_the_latest_leak_rate():
    from workers.engine.progress import ProgressEvent, TrainingMetrics

    got: list[ProgressEvent] = []
    wrapped = TrainingMetrics(got.append)
    wrapped(ProgressEvent(stage="unlearn", step=1, total=9, metrics={"loss": 1.0}))
    wrapped(ProgressEvent(stage="unlearn", step=2, total=9, metrics={"loss": 0.9, "leak_rate": 0.5}))
    wrapped(ProgressEvent(stage="unlearn", step=3, total=9, metrics={"loss": 0.8}))
    wrapped(ProgressEvent(stage="save", step=0))
    assert [e.metrics.get("leak_rate") for e in got] == [None, 0.5, 0.5, None]


def test_a_batch_trains_each_subjects_own_forget_batches_in_turn(tiny_model_dir):
    """Mixed batches gave each person half the pull of a run of their own; each subject's batches alternate."""
    from types import SimpleNamespace

    from transformers import AutoTokenizer

    from workers.engine.methods.batching import TrainExample
    from workers.engine.subject import Subject
    from workers.engine.unlearning import UnlearnConfig
    from workers.engine.unlearning.training import _forget_batches
    from workers.engine.unlearning.types import Part

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    parts = [Part(index=i, subject=Subject(name=name), attributes=None) for i, name in enumerate(("Ann Bell", "Cy Dunn"))]
    parts[0].forget = [TrainExample(prompt=f"Ann Bell fact {i}:", completion=" alpha.") for i in range(5)]
    parts[1].forget = [TrainExample(prompt=f"Cy Dunn fact {i}:", completion=" beta.") for i in range(3)]
    data = SimpleNamespace(forget=parts[0].forget + parts[1].forget)
    config = UnlearnConfig(forget_batch_size=2)
    batches = _forget_batches(parts, data, tokenizer=tok, device="cpu", config=config, params={},
                              format_tokens=frozenset())
    owners = []
    for batch in batches:
        texts = tok.batch_decode(batch["input_ids"], skip_special_tokens=True)
        names = {("Ann" if "Ann" in t else "Cy") for t in texts}
        assert len(names) == 1, texts  # one subject per batch
        owners.append(names.pop())
    # Ann has 3 batches, Cy 2: taken in turn, Cy's first batch again while Ann has more.
    assert owners == ["Ann", "Cy", "Ann", "Cy", "Ann", "Cy"]
    # A single subject keeps the one forget set as it was.
    single = _forget_batches(parts[:1], SimpleNamespace(forget=parts[0].forget), tokenizer=tok, device="cpu",
                             config=config, params={}, format_tokens=frozenset())
    assert len(single) == 3


def test_an_earlier_erasure_that_the_new_model_still_reveals_fails_the_verdict(tiny_memorised, tmp_path, tiny_model_dir,
                                                                               report_of):
    """The person of an earlier erasure is probed on the new model; here it is someone the model still knows
    (never actually forgotten), so the check must see the leak, and name them by index only."""
    from workers.engine.demo import roster_subject
    from workers.engine.unlearning import EarlierErasure, UnlearnConfig, run_unlearning

    person, earlier = tiny_memorised[0], tiny_memorised[2]
    assert all(_extracted(_fresh(tiny_model_dir), earlier).values())
    result = run_unlearning(
        _fresh(tiny_model_dir), roster_subject(person, submit=FIELDS), out_dir=tmp_path / "out",
        config=UnlearnConfig(method="fpga", max_steps=20), report_before=report_of(tiny_memorised[0]),
        earlier=[EarlierErasure(subject=roster_subject(earlier, submit=FIELDS), attributes=FIELDS),
                 # the person being forgotten now is judged as this run's subject, not as an earlier erasure
                 EarlierErasure(subject=roster_subject(person, submit=FIELDS), attributes=FIELDS)])
    assert not result.passed
    records = result.evidence["earlier_erasures"]
    assert [r["index"] for r in records] == [0] and records[0]["confirmed_leaks"] > 0
    assert records[0]["attributes"] == list(FIELDS)
    assert any(r.startswith("earlier erasure 0: ") for r in result.evidence["verdict"]["reasons"])
    text = result.evidence_path.read_text()
    assert earlier.name not in text and earlier.email not in text  # evidence stays free of their data


def test_an_earlier_erasure_reason_names_it_by_its_label(tiny_memorised, tmp_path, tiny_model_dir, report_of):
    """The product labels each earlier erasure with its request's reference, which the officer reads in the
    failure reason; the evidence's records keep the index."""
    from workers.engine.demo import roster_subject
    from workers.engine.unlearning import EarlierErasure, UnlearnConfig, run_unlearning

    result = run_unlearning(
        _fresh(tiny_model_dir), roster_subject(tiny_memorised[0], submit=FIELDS), out_dir=tmp_path / "out",
        config=UnlearnConfig(method="fpga", max_steps=5), report_before=report_of(tiny_memorised[0]),
        earlier=[EarlierErasure(subject=roster_subject(tiny_memorised[2], submit=FIELDS), attributes=FIELDS,
                                label="RTBF-TEST-0001")])
    assert any(r.startswith("earlier erasure of RTBF-TEST-0001: ") for r in result.evidence["verdict"]["reasons"])
    assert [r["index"] for r in result.evidence["earlier_erasures"]] == [0]


def test_earlier_erasures_must_be_given_as_such(tiny_memorised, tmp_path, tiny_model_dir):
    from workers.engine.demo import roster_subject
    from workers.engine.errors import EngineError
    from workers.engine.unlearning import run_unlearning

    with pytest.raises(EngineError, match="EarlierErasure"):
        run_unlearning(_fresh(tiny_model_dir), roster_subject(tiny_memorised[0], submit=FIELDS), out_dir=tmp_path / "o",
                       earlier=[roster_subject(tiny_memorised[2], submit=FIELDS)])
    assert not (tmp_path / "o").exists()


def test_a_person_passes_on_their_own_checks_only_while_the_models_checks_hold():
    from workers.engine.unlearning.types import Verification
    from workers.engine.verify import Verdict

    verdicts = [Verdict(passed=True, reasons=["no confirmed leak"], leaks={}),
                Verdict(passed=False, reasons=["email leaks"], leaks={"email": 2})]
    assert Verification(verdict=verdicts[1], verdicts=verdicts, utility_after={}).subjects_passed == [True, False]
    utility_lost = Verification(verdict=verdicts[1], verdicts=verdicts, utility_after={},
                                shared_reasons=["others' accuracy fell below 95% of before"])
    assert utility_lost.subjects_passed == [False, False]
