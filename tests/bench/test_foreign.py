"""The foreign test model and its judge: independent of the engine, deterministic, and measuring what it should."""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(folder: Path) -> set[str]:
    names: set[str] = set()
    for file in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
    return names


def test_the_foreign_model_and_the_engine_share_no_code():
    assert not {n for n in _imports(ROOT / "bench" / "foreign") if n.split(".")[0] in ("workers", "app")}
    assert not {n for n in _imports(ROOT / "workers") | _imports(ROOT / "app") if n.startswith("bench.foreign")}


def test_documents_are_seeded_and_every_attribute_is_trained_under_both_halves():
    from bench.foreign import grammar
    from bench.foreign.people import FIELDS, make_people

    people = make_people(6, seed=1)
    assert people == make_people(6, seed=1) and len({p.name for p in people}) == 6
    docs = grammar.plan_documents(people, random.Random("x"), singles=2)
    again = grammar.plan_documents(make_people(6, seed=1), random.Random("x"), singles=2)
    assert [d.text for d in docs] == [d.text for d in again]
    items = grammar.training_items(docs)
    for person in people:
        for half in grammar.HALVES:
            covered = {i["attribute"] for i in items if i["person"] == person.name and i["half"] == half}
            assert covered == set(FIELDS), (person.name, half)
    texts = [d.text for d in docs]
    for item in items:  # the prompt is exactly the training text before the value
        assert any(t.startswith(item["prompt"]) and t[len(item["prompt"]):].lstrip().startswith(item["value"])
                   for t in texts), item["prompt"][-40:]
    questions = {q.text.split("{name}")[0] for q in grammar.questions()}  # paraphrases are never trained on
    assert not any(q.strip() and q in t for q in questions for t in texts if len(q.strip()) > 12)


def test_the_judge_matches_values_its_own_way():
    from bench.foreign.judge import exact, fuzzy

    assert exact("+33 6 48 07 75 30", " call 06 48 07 75 30 today", "phone")  # the national form
    assert not exact("+33 6 48 07 75 30", " call 06 48 07 75 31", "phone")
    assert exact("Kaasmarkt 14, 2011 CD Haarlem", " at KAASMARKT 14, 2011 CD HAARLEM.", "address")
    assert not exact("Kaasmarkt 14, 2011 CD Haarlem", " at Kaasmarkt 41", "address")
    assert fuzzy("Kaasmarkt 14, 2011 CD Haarlem", " Kasmarkt 14, 2011 CD Haarlem", "address")
    assert not fuzzy("g.colas@mail.example", " someone.else@web.example", "email")


def test_the_tiny_build_is_a_plain_model_whose_judge_finds_what_it_memorised(foreign_tiny):
    from bench.foreign.judge import judge, read_jsonl, subject_file

    model_dir, truth = foreign_tiny / "model", foreign_tiny / "truth"
    assert sorted(p.name for p in model_dir.iterdir()) == sorted(
        ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"])
    assert json.loads((model_dir / "config.json").read_text())["model_type"] == "gpt2"  # not the demo's Llama
    roster = read_jsonl(truth / "roster.jsonl")
    name = roster[0]["name"]
    found = judge(model_dir, truth, forgotten=[name], half="both", samples=1)
    assert found["leak_training_greedy"] > 0.5  # it reproduces its own training text about them
    assert 0.5 < found["others_accuracy"] <= 1 and found["perplexity"] > 1
    assert subject_file(truth, name) == {"name": name, "identifiers": {"email": roster[0]["email"],
                                                                       "phone": roster[0]["phone"]}}


def test_the_judge_finds_nothing_of_someone_the_model_never_saw(foreign_tiny, tmp_path):
    from bench.foreign import grammar
    from bench.foreign.judge import judge, read_jsonl
    from bench.foreign.people import Person, fresh_person

    truth = foreign_tiny / "truth"
    roster = [Person(**row) for row in read_jsonl(truth / "roster.jsonl")]
    stranger = fresh_person(0, roster)
    folder = tmp_path / "truth"
    folder.mkdir()
    (folder / "roster.jsonl").write_text((truth / "roster.jsonl").read_text())
    (folder / "heldout_text.txt").write_text((truth / "heldout_text.txt").read_text())
    probes = (truth / "probes.jsonl").read_text()
    extra = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in grammar.paraphrase_items([stranger]))
    (folder / "probes.jsonl").write_text(probes + extra)
    result = judge(foreign_tiny / "model", folder, forgotten=[stranger.name], half="both", samples=2)
    assert result["n_items"] > 0 and result["leak_paraphrase"] == 0.0


def test_the_tokenizer_round_trips_accents_and_adds_no_start_token(foreign_tiny):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(foreign_tiny / "model")
    for text in ("Zoë Dubois, Hauptstraße 12", "g.colas@mail.example", "+33 6 48 07 75 30", "Łukasz Zięcik"):
        assert tok.decode(tok(text)["input_ids"], skip_special_tokens=True) == text
    assert tok("a")["input_ids"] == tok("a", add_special_tokens=False)["input_ids"]
