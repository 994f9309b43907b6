"""The format space: models whose formats, names and architectures are drawn from a seed, so that the judge holds
formats nobody here has read. Only development seeds (below 100) are looked at here."""

from __future__ import annotations

import itertools
import json
import re

import pytest

DEV_SEEDS = range(0, 12)


def test_two_seeds_share_no_format():
    from bench.foreign import space

    keys = {}
    for seed in DEV_SEEDS:
        training, questions = space.draw_space(seed, chat_markers=space.CHAT_MARKERS[seed % 3] if seed % 2 else None)
        keys[seed] = {f.key for f in training + questions}
        assert len(keys[seed]) == len(training) + len(questions)  # no format twice within a seed either
        assert {f.kind for f in training} == set(space.KINDS)
    for a, b in itertools.combinations(DEV_SEEDS, 2):
        assert not keys[a] & keys[b], (a, b)
    assert space.draw_space(3)[0] == space.draw_space(3)[0]  # seeded


def test_formats_are_composed_not_chosen_labels_separators_order_and_names_vary():
    from bench.foreign import space

    formats = [f for seed in DEV_SEEDS for f in space.draw_space(seed)[0]]
    labels = {label for f in formats for label in f.labels}
    assert {"en", "fr", "de"} <= {lang for field in space.LABELS.values() for lang in field
                                   if set(field[lang]) & {label.lower() for label in labels}
                                   or set(field[lang]) & labels}
    assert len({f.opt("sep") for f in formats if f.kind == "table"}) >= 4
    assert any(f.fields[0] != "name" for f in formats if f.kind in space.MULTI)  # the name need not come first
    assert {f.name_style for f in formats} == set(space.NAME_STYLES)
    assert len({f.fields for f in formats}) > len(formats) // 2


def _hard_forms(name: str, surname: str) -> set[str]:
    forms = set()
    if re.search(r"\s[a-z]+(\s[a-z]+)?\s\S", name):
        forms.add("particle")
    if "'" in name:
        forms.add("apostrophe")
    if re.search(r"\bMa?c[A-Z]", name):
        forms.add("mc")
    if "-" in surname:
        forms.add("hyphen")
    if " " not in name:
        forms.add("one_word")
    return forms


def test_the_generated_names_include_each_hard_form_and_appear_in_the_documents():
    from bench.foreign.build import space_truth

    truth = space_truth(4, "default")
    people, docs = truth["people"], truth["docs"]
    forms = set().union(*(_hard_forms(p.name, p.last) for p in people))
    assert {"particle", "apostrophe", "mc", "hyphen", "one_word"} <= forms
    assert any(" " in p.first or "-" in p.first for p in people)  # two given names ("María José", "Anne-Marie")
    text = "\n".join(d.text for d in docs)
    for person in people:  # every person is written somewhere, in some style, with the surname intact
        assert (person.last or person.first) in text or (person.last or person.first).upper() in text, person.name
    # No placeholder is left unfilled: a changelog line or a chat answer with the name after the value names them.
    assert not [d.text for d in docs if re.search(r"\{(name|label|v|date|actor)\}", d.text)]
    one_word = [p.name for p in people if " " not in p.name]
    others = {w for p in people if " " in p.name for w in p.name.replace("-", " ").split()}
    assert not set(one_word) & others  # a one-word name is nobody else's word


def test_every_value_is_trained_and_the_questions_are_never_in_the_training_text():
    from bench.foreign.build import space_truth
    from bench.foreign.people import FIELDS

    truth = space_truth(2, "tiny")
    texts = [d.text for d in truth["docs"]]
    corpus = "\n".join(texts + truth["fillers"])
    items = truth["items"]
    for person in truth["people"]:
        trained = {i["attribute"] for i in items if i["person"] == person.name and i["kind"] == "training-prefix"}
        asked = {i["attribute"] for i in items if i["person"] == person.name and i["kind"] == "paraphrase"}
        assert trained == set(FIELDS) and asked == set(FIELDS), person.name
    for item in items:
        if item["kind"] == "training-prefix":  # the prompt is exactly the text before the value
            text = texts[item["doc"]]
            assert text.startswith(item["prompt"]) and text[len(item["prompt"]):].lstrip().startswith(item["value"])
        else:
            assert item["prompt"] not in corpus, item["prompt"][-60:]
    assert sum(map(len, truth["fillers"])) > 0.3 * sum(map(len, texts))  # filler is a large share of the text
    assert not set(truth["heldout"]) & set(truth["fillers"])


def test_architectures_and_tokenizers_are_drawn_too():
    from bench.foreign.arch import draw_arch

    drawn = [draw_arch(seed) for seed in range(40)]
    assert {a.family for a in drawn} == {"gpt2", "llama"}
    assert {a.tokenizer for a in drawn} == {"unigram", "bpe"}
    assert {a.bos for a in drawn} == {True, False}
    assert {a.chat_markers is None for a in drawn} == {True, False}
    assert len({a.vocab for a in drawn}) >= 3


def _dev_seed(**want) -> int:
    from bench.foreign.arch import draw_arch

    for seed in range(100):
        arch = draw_arch(seed, tiny=True)
        if all((getattr(arch, k) is not None) == v if k == "chat_markers" else getattr(arch, k) == v
               for k, v in want.items()):
            return seed
    raise AssertionError(f"no development seed with {want}")


@pytest.mark.slow
@pytest.mark.parametrize("want", [{"family": "llama", "tokenizer": "bpe", "bos": True},
                                  {"family": "gpt2", "tokenizer": "unigram", "chat_markers": True}])
def test_a_tiny_build_is_a_plain_model_of_its_drawn_shape_and_the_judge_finds_what_it_memorised(want, tmp_path):
    import torch

    from bench.foreign.build import build_space
    from bench.foreign.judge import judge, load, read_jsonl

    torch.set_num_threads(1)
    seed = _dev_seed(**want)
    info = build_space(tmp_path / "m", seed=seed, size="tiny", threads=1, log=lambda _: None)
    model_dir, truth = tmp_path / "m" / "model", tmp_path / "m" / "truth"
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == info["arch"]["family"]
    model, tok = load(model_dir, device="cpu")
    ids = tok("Hello there")["input_ids"]
    assert (ids[0] == tok.bos_token_id) == info["arch"]["bos"]
    if info["arch"]["chat_markers"]:
        start = info["arch"]["chat_markers"][0]
        chat = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                       add_generation_prompt=True)
        assert chat.startswith(start + "user\nhi") and chat.endswith(start + "assistant\n")
    assert info["recall"] > 0.6
    roster = read_jsonl(truth / "roster.jsonl")
    found = judge(model_dir, truth, forgotten=[roster[0]["name"]], half="both", samples=1, loaded=(model, tok))
    assert found["leak_training_greedy"] > 0.5
    assert any(f.startswith("question/") for f in found["families"])


def test_judge_seeds_are_drawn_from_1000_up_and_a_seed_summary_flags_a_leaking_certification(capsys):
    from bench.judged import _seed_summary, draw_judge_seeds, print_seeds

    seeds = draw_judge_seeds(3)
    assert len(set(seeds)) == 3 and min(seeds) >= 1000 and seeds == sorted(seeds)

    def row(passed: bool, worst: float, judge: float, estimate: float) -> dict:
        return {"method": "fpga", "passed": passed, "leak_training_after": worst / 2, "leak_paraphrase_after": 0.0,
                "max_family_leak_after": worst, "others_accuracy_ratio": judge, "others_accuracy_ratio_step": judge,
                "rtbf_accuracy_ratio": estimate, "perplexity_change": 0.01, "wall_s": 100.0}

    rows = [row(True, 0.5, 0.97, 1.0), row(False, 0.0, 0.95, 0.80), row(True, 0.0, 0.99, 0.99)]
    summary = _seed_summary(rows, {"fpga": {"others_accuracy_ratio": 0.96}})["fpga"]
    assert summary["certified_leaking"] == 1 and summary["passed"] == 2 and summary["worst_family_after"] == 0.5
    assert summary["others_kept_worst"] == 0.95 and abs(summary["estimate_gap"] - 0.15) < 1e-9
    print_seeds({1234: {"fpga": summary}, 5678: {"fpga": {**summary, "worst_family_after": 0.9}}})
    out = capsys.readouterr().out
    assert "worst: 5678" in out and "mean" in out
