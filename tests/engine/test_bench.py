"""The benchmark's input checks, and its sequential mode on the tiny model (the benchmark proper is too slow
for the suite; docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.engine.errors import EngineError


@pytest.mark.parametrize("methods,init,match", [
    (["fpga"], "fila", "--init fila rewrites the base weights"),  # fpga compares against the original model
    (["ihl"], "lora-magic", "unknown init"),
    (["telepathy"], "default", "unknown method"),
])
def test_bench_rejects_bad_settings_before_building_a_model(tmp_path, methods, init, match):
    from bench.unlearning import run_bench

    with pytest.raises(EngineError, match=match):
        run_bench(methods=methods, init=init, cache=tmp_path / "cache", out=tmp_path / "out.json")
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out.json").exists()


def test_sequential_bench_forgets_people_one_after_another_and_reprobes_them_on_the_last_version(
        tiny_model_dir, tiny_roster, tmp_path):
    from bench.unlearning import run_sequential
    from workers.engine.unlearning import files as run_files

    people = tiny_roster[:2]
    rows, summary = run_sequential(tiny_model_dir, people, "fpga", device="cpu", seed=0, init="default",
                                   workdir=tmp_path)
    assert [r["person"] for r in rows] == [p.name for p in people]
    passed = [r for r in rows if r["passed"]]
    # Versions count only passing runs; each passing run started from the previous passing one's model.
    assert summary["versions"] == 1 + len(passed)
    assert [r["version"] for r in passed] == list(range(2, 2 + len(passed)))
    assert set(summary["forgotten_people_on_final_model"]) == {r["person"] for r in passed}
    # The second run re-checked the first person when that erasure had passed (as the product's jobs do).
    assert len(rows[1]["earlier_erasures"]) == int(rows[0]["passed"])
    if passed:  # the last version's demo roster no longer lists anyone it forgot
        roster, _ = run_files.demo_extras(Path(summary["final_model"]))
        assert not {r["person"] for r in passed} & {row["name"] for row in roster}
    assert 0 < summary["others_accuracy_base"] <= 1 and summary["others_accuracy_final"] >= 0
