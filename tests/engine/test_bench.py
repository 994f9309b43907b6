"""The benchmark's own input checks (the benchmark itself is too slow for the suite; docs/benchmarks.md)."""

from __future__ import annotations

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
