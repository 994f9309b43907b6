import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workers.cli import app
from workers.engine.probe import ProbeReport

runner = CliRunner()


@pytest.fixture()
def subject_file(tmp_path: Path, tiny_memorised) -> Path:
    person = tiny_memorised[0]  # someone the tiny model is proven to know
    path = tmp_path / "subject.json"
    path.write_text(json.dumps({"name": person.name, "identifiers": {"email": person.email}}))
    return path


def _bad(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.output.count("\n") <= 2


def test_probe_writes_report_and_prints_table(tiny_model_dir: Path, subject_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["probe", "--model", str(tiny_model_dir), "--subject", str(subject_file),
                                 "--out", str(out), "--families", "direct,inverse", "--samples", "0",
                                 "--threads", "1", "--discovery-budget", "0"])
    assert result.exit_code == 0, result.output
    assert "CONFIRMED" in result.output and "direct" in result.output
    report = ProbeReport.from_dict(json.loads(out.read_text()))
    assert {f.family for f in report.findings} == {"direct", "inverse"}
    assert report.rates["email"]["direct"]["confirmed"] > 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_missing_model_dir(subject_file: Path, tmp_path: Path) -> None:
    _bad(["probe", "--model", str(tmp_path / "absent"), "--subject", str(subject_file)], "model directory not found")


def test_malformed_subject(tiny_model_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{name: nope")
    _bad(["probe", "--model", str(tiny_model_dir), "--subject", str(bad)], "not valid JSON")


def test_empty_name(tiny_model_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "empty.json"
    bad.write_text('{"name": ""}')
    _bad(["probe", "--model", str(tiny_model_dir), "--subject", str(bad)], "name")


def test_unknown_family(tiny_model_dir: Path, subject_file: Path) -> None:
    _bad(["probe", "--model", str(tiny_model_dir), "--subject", str(subject_file), "--families", "direct,psychic"],
         "unknown prompt family 'psychic'")


def test_missing_output_folder(tiny_model_dir: Path, subject_file: Path, tmp_path: Path) -> None:
    _bad(["probe", "--model", str(tiny_model_dir), "--subject", str(subject_file),
          "--out", str(tmp_path / "no" / "r.json")], "output folder does not exist")


def test_train_demo_rejects_bad_input(tmp_path: Path) -> None:
    _bad(["model", "train-demo", "--out", str(tmp_path / "m"), "--size", "huge"], "unknown demo size")
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    _bad(["model", "train-demo", "--out", str(full), "--size", "tiny"], "not empty")


def test_train_demo_builds_a_model(tmp_path: Path) -> None:
    result = runner.invoke(app, ["model", "train-demo", "--out", str(tmp_path / "m"), "--size", "tiny",
                                 "--people", "4", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "greedy recall" in result.output
    assert (tmp_path / "m" / "model.safetensors").is_file()
    assert len((tmp_path / "m" / "roster.jsonl").read_text().splitlines()) == 4


def test_cli_module_imports_without_torch() -> None:
    import os
    import subprocess
    import sys

    code = ("import sys, workers.engine.cli; "
            "heavy = [m for m in ('torch', 'transformers', 'presidio_analyzer', 'spacy') if m in sys.modules]; "
            "assert not heavy, heavy")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env=env, timeout=60)


def test_progress_off_a_terminal_is_plain_lines_with_percent_and_time_left():
    """Building the demo model under `rtbf up` logs its progress (a log is no terminal: no bar there)."""
    from workers.engine.cli import ProgressLines
    from workers.engine.progress import ProgressEvent

    lines: list[str] = []
    now = [0.0]
    progress = ProgressLines("training", lines.append, every=30.0, clock=lambda: now[0])
    progress(ProgressEvent(stage="train", step=0, total=200))
    for step in range(1, 201):
        now[0] += 1.0
        progress(ProgressEvent(stage="train", step=step, total=200))
    assert lines[0] == "training: train"
    assert lines[1] == "training: train 5% (10/200), about 3 min left"
    assert lines[-1] == "training: train 100% (200/200)"
    assert 10 <= len(lines) <= 25  # every 5 points (or 30 s), not every step
