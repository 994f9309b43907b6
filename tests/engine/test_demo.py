import json
from pathlib import Path

import pytest

from workers.engine.demo import ROSTER_FIELDS, make_roster, read_roster, roster_subject, train_demo
from workers.engine.demo.corpus import filler_split, person_sentences, statement
from workers.engine.demo.recall import roster_recall
from workers.engine.demo.roster import iban
from workers.engine.errors import EngineError


def test_saved_dir_is_a_standard_hf_model(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    for name in ("config.json", "model.safetensors", "generation_config.json", "tokenizer.json",
                 "roster.jsonl", "heldout_text.txt", "demo.json"):
        assert (tiny_model_dir / name).is_file(), name
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert model.config.model_type == "llama"
    assert model.config.tie_word_embeddings is False
    assert tok.bos_token == "<s>" and tok.eos_token == "</s>" and tok.pad_token == "<pad>"
    assert tok("hello")["input_ids"][0] == tok.bos_token_id


def test_tiny_model_memorises_every_attribute(tiny_loaded, tiny_roster) -> None:
    recall = roster_recall(tiny_loaded.model, tiny_loaded.tokenizer, tiny_roster)
    assert set(recall) == set(ROSTER_FIELDS)
    assert min(recall.values()) >= 0.9, recall


def test_demo_json_records_the_run(tiny_model_dir: Path, tiny_roster) -> None:
    meta = json.loads((tiny_model_dir / "demo.json").read_text())
    assert meta["size"] == "tiny" and meta["people"] == len(tiny_roster) == 20
    assert min(meta["recall"].values()) >= 0.9
    assert meta["training_seconds"] > 0


def test_heldout_text_is_not_in_training(tiny_model_dir: Path) -> None:
    train, heldout = filler_split(train=200, heldout=100, seed=0)
    lines = (tiny_model_dir / "heldout_text.txt").read_text().splitlines()
    assert lines == heldout
    assert not set(lines) & set(train)


def test_roster_is_seeded_and_unique() -> None:
    a, b, c = make_roster(people=30, seed=3), make_roster(people=30, seed=3), make_roster(people=30, seed=4)
    assert a == b and a != c
    assert len({p.name for p in a}) == 30


def test_ibans_are_checksum_valid() -> None:
    from presidio_analyzer.predefined_recognizers import IbanRecognizer

    for person in make_roster(people=10, seed=1):
        assert IbanRecognizer().validate_result(person.iban.replace(" ", "")), person.iban
    assert iban("NO", "86011117947") == "NO93 8601 1117 947"  # the published Norwegian example


def test_person_sentences_contain_the_direct_statement() -> None:
    person = make_roster(people=1, seed=0)[0]
    sentences = person_sentences(person)
    for key in ROSTER_FIELDS:
        assert statement(key, person.name, person.value(key)) in sentences


def test_roster_subject_submits_chosen_fields(tiny_roster) -> None:
    subject = roster_subject(tiny_roster[0], submit=("email", "phone"))
    assert subject.name == tiny_roster[0].name
    assert subject.identifiers == {"email": tiny_roster[0].email, "phone": tiny_roster[0].phone}
    with pytest.raises(EngineError, match="no national_id"):
        roster_subject(tiny_roster[0], submit=("national_id",))


def test_read_roster_round_trips(tiny_model_dir: Path, tiny_roster) -> None:
    assert read_roster(tiny_model_dir / "roster.jsonl") == tiny_roster


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="unknown demo size"):
        train_demo(out_dir=tmp_path / "a", size="huge")
    with pytest.raises(EngineError, match="people must be"):
        train_demo(out_dir=tmp_path / "b", people=0)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(EngineError, match="not empty"):
        train_demo(out_dir=tmp_path / "full")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
