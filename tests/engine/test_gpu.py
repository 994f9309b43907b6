"""Opt-in GPU checks (``pytest -m gpu`` on a CUDA machine): the same engine code path, bf16 on the GPU."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    return torch


def test_model_loads_in_bf16_on_the_gpu_and_probe_finds_the_planted_fact(cuda, tiny_model_dir, tiny_roster):
    from workers.engine.demo import roster_subject
    from workers.engine.modelio import load_model
    from workers.engine.probe import ProbeConfig, run_probe

    loaded = load_model(tiny_model_dir)
    assert loaded.device.type == "cuda"
    assert next(loaded.model.parameters()).dtype == cuda.bfloat16
    subject = roster_subject(tiny_roster[0], submit=("email", "phone"))
    report = run_probe(loaded, subject, config=ProbeConfig(samples=0, attributes=("email", "phone")),
                       families=["direct"])
    assert report.rates["email"]["direct"]["confirmed"] > 0


def test_fpga_unlearning_runs_on_the_gpu_and_writes_evidence(cuda, tiny_model_dir, tiny_roster, tmp_path):
    from workers.engine.demo import roster_subject
    from workers.engine.modelio import load_model
    from workers.engine.unlearning import UnlearnConfig, run_unlearning

    loaded = load_model(tiny_model_dir)
    subject = roster_subject(tiny_roster[1], submit=("email", "phone", "iban"))
    cuda.cuda.reset_peak_memory_stats()
    result = run_unlearning(loaded, subject, out_dir=tmp_path / "out", config=UnlearnConfig(method="fpga"))
    evidence = json.loads(result.evidence_path.read_text())
    assert (result.model_dir / "config.json").is_file()
    assert evidence["method"]["name"] == "fpga"
    assert cuda.cuda.max_memory_allocated() > 0
