"""``rtbf unlearn``: bad input exits 2 with one clear line and writes nothing; a real run writes its outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workers.engine.cli_unlearn import unlearn


def _app():
    import typer

    app = typer.Typer()
    app.command()(unlearn)
    return app


def _subject_file(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "subject.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


@pytest.fixture
def good_subject(tmp_path, tiny_memorised) -> Path:
    person = tiny_memorised[0]  # the run must find something to forget: someone the tiny model is proven to know
    return _subject_file(tmp_path, {"name": person.name, "identifiers": {"email": person.email,
                                                                          "phone": person.phone}})


def test_missing_model_dir_exits_2(tmp_path, good_subject):
    out = tmp_path / "out"
    res = CliRunner().invoke(_app(), ["--model", str(tmp_path / "nope"), "--subject", str(good_subject),
                                      "--method", "fpga", "--out", str(out)])
    assert res.exit_code == 2
    assert "model directory not found" in res.output
    assert not out.exists()


def test_malformed_subject_exits_2(tmp_path, tiny_model_dir):
    bad = _subject_file(tmp_path, "{not json")
    res = CliRunner().invoke(_app(), ["--model", str(tiny_model_dir), "--subject", str(bad), "--method", "fpga",
                                      "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "not valid JSON" in res.output
    empty_name = _subject_file(tmp_path, {"name": "", "identifiers": {}})
    res = CliRunner().invoke(_app(), ["--model", str(tiny_model_dir), "--subject", str(empty_name),
                                      "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "name" in res.output


def test_unknown_method_exits_2(tmp_path, tiny_model_dir, good_subject):
    res = CliRunner().invoke(_app(), ["--model", str(tiny_model_dir), "--subject", str(good_subject),
                                      "--method", "magic", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "unknown method 'magic'" in res.output
    assert "Traceback" not in res.output


def test_fila_with_reference_method_exits_2(tmp_path, tiny_model_dir, good_subject):
    res = CliRunner().invoke(_app(), ["--model", str(tiny_model_dir), "--subject", str(good_subject),
                                      "--method", "fpga", "--init", "fila", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "fila" in res.output


@pytest.mark.slow
def test_run_writes_model_adapter_evidence_and_exit_code_matches_verdict(tmp_path, tiny_model_dir, good_subject):
    from transformers import AutoModelForCausalLM

    out = tmp_path / "out"
    res = CliRunner().invoke(_app(), ["--model", str(tiny_model_dir), "--subject", str(good_subject),
                                      "--method", "fpga", "--out", str(out), "--max-steps", "60",
                                      "--attacks", "multihop,quantize"])
    assert res.exit_code in (0, 1), res.output
    evidence = json.loads((out / "evidence.json").read_text())
    assert res.exit_code == (0 if evidence["verdict"]["passed"] else 1)
    # The attack checks ran on the saved model; quantize gates the verdict by default, multihop only reports.
    attacks = evidence["attacks"]
    assert set(attacks) == {"quantize", "multihop"}
    assert attacks["quantize"]["gating"] and not attacks["multihop"]["gating"]
    assert [o["variant"] for o in attacks["quantize"]["subjects"][0]["outcomes"]] == ["int8", "int4"]
    quantize_failed = any("attack quantize" in r for r in evidence["verdict"]["reasons"])
    assert quantize_failed == (not attacks["quantize"]["passed"])
    assert not any("attack multihop" in r for r in evidence["verdict"]["reasons"])
    assert (out / "adapter" / "adapter_config.json").is_file()
    model = AutoModelForCausalLM.from_pretrained(out / "model", local_files_only=True)
    assert model.config.vocab_size > 0
    assert evidence["weights"]["base_sha256"] != evidence["weights"]["result_sha256"]
    assert evidence["training"]["steps"] >= 1 and evidence["training"]["max_abs_weight_change"] > 0
    assert evidence["probe_after"]["confirmed_rate"] < evidence["probe_before"]["confirmed_rate"]
    # the evidence proves the erasure without holding the erased data
    text = (out / "evidence.json").read_text()
    person_email = json.loads(good_subject.read_text())["identifiers"]["email"]
    assert person_email not in text
    assert {"torch", "transformers", "peft"} <= set(evidence["versions"])


def test_batch_naming_one_person_twice_exits_2(tmp_path, tiny_model_dir, good_subject):
    twin = tmp_path / "twin.json"
    twin.write_text(good_subject.read_text(), encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(_app(), ["--model", str(tiny_model_dir), "--subject", str(good_subject),
                                      "--subject", str(twin), "--out", str(out)])
    assert res.exit_code == 2
    assert "same person" in res.output
    assert not out.exists()


def test_unknown_attribute_exits_2(tmp_path, tiny_model_dir, good_subject):
    res = CliRunner().invoke(_app(), ["--model", str(tiny_model_dir), "--subject", str(good_subject),
                                      "--attribute", "email", "--attribute", "shoe_size",
                                      "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "unknown attribute 'shoe_size'" in res.output


@pytest.mark.parametrize("bound", ["0", "-0.1", "nope"])
def test_a_bad_exact_leak_bound_exits_2_before_loading_the_model(tmp_path, tiny_model_dir, good_subject, bound):
    res = CliRunner().invoke(_app(), ["--model", str(tiny_model_dir), "--subject", str(good_subject),
                                      "--max-exact-leak", bound, "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert not (tmp_path / "o").exists()
