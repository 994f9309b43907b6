"""``rtbf verify`` on a model unlearned elsewhere: the untouched tiny model still knows a memorised person (exit
1, the plain probe and the attacks say so, the report holds none of their data), knows nothing of a stranger
(exit 0), and bad input exits 2 before any model is loaded."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from workers.engine.cli_verify import verify


def _app():
    import typer

    app = typer.Typer()
    app.command()(verify)
    return app


def _subject(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "subject.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_model_that_still_knows_the_person_fails_and_the_report_is_redacted(tmp_path, tiny_model_dir,
                                                                            tiny_memorised):
    person = tiny_memorised[0]
    subject = _subject(tmp_path, {"name": person.name, "identifiers": {"email": person.email, "phone": person.phone}})
    out = tmp_path / "verification.json"
    res = CliRunner().invoke(_app(), ["--model", str(tiny_model_dir), "--subject", str(subject), "--attacks",
                                      "multiquery,multihop", "--discovery-budget", "0", "--out", str(out)])
    assert res.exit_code == 1, res.output
    report = json.loads(out.read_text())
    assert not report["passed"] and report["leaks"]
    assert set(report["attacks"]) == {"multiquery", "multihop"}
    assert not report["attacks"]["multiquery"]["passed"]
    assert any(r.startswith("attack multiquery") for r in report["reasons"])
    text = out.read_text()
    assert person.email not in text and person.phone not in text


def test_a_stranger_is_not_found(tmp_path, tiny_model_dir):
    subject = _subject(tmp_path, {"name": "Zebedee Quartermaine",
                                  "identifiers": {"email": "zq.nobody@example.invalid", "phone": "+44 20 7946 0991"}})
    out = tmp_path / "verification.json"
    res = CliRunner().invoke(_app(), ["--model", str(tiny_model_dir), "--subject", str(subject), "--attacks",
                                      "multiquery", "--discovery-budget", "0", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["attacks"]["multiquery"]["passed"]


def test_unknown_attack_exits_2_and_writes_nothing(tmp_path, tiny_model_dir):
    subject = _subject(tmp_path, {"name": "Ann Bell", "identifiers": {"email": "ann@example.invalid"}})
    out = tmp_path / "verification.json"
    res = CliRunner().invoke(_app(), ["--model", str(tiny_model_dir), "--subject", str(subject), "--attacks",
                                      "quantise", "--out", str(out)])
    assert res.exit_code == 2 and "unknown attack 'quantise'" in res.output
    assert not out.exists()
