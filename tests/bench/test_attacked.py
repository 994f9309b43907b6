"""The judge under attack (``bench.attacked``), on the tiny foreign GPT-2 that memorised its people: every
attacked copy (int8 and 4-bit rounding of Conv1D weights, a short relearning, many samples) still gives a person
back that the model was never made to forget, so the judge measures the attacked models, not broken ones."""

from __future__ import annotations


def test_the_judge_finds_a_memorised_person_in_every_attacked_copy(foreign_tiny):
    from bench.attacked import judge_attacked
    from bench.foreign.judge import read_jsonl

    model_dir, truth = foreign_tiny / "model", foreign_tiny / "truth"
    name = read_jsonl(truth / "roster.jsonl")[0]["name"]
    found = judge_attacked(model_dir, truth, forgotten=[name], half="both", exclude=[name], seed=0, device="cpu")
    assert set(found) == {"int8", "int4", "multiquery", "relearn-unrelated"}
    for variant, result in found.items():
        assert result["leak_training"] > 0.2, variant


def test_quantising_a_gpt2_rounds_its_conv1d_weights(foreign_tiny):
    import torch

    from workers.engine.attacks.quantize import GROUP, quantized_copy
    from workers.engine.modelio import load_model

    loaded = load_model(foreign_tiny / "model", device="cpu")
    for variant, levels in (("int8", 256), ("int4", 16)):
        q = quantized_copy(loaded, variant)
        conv = next(m for m in q.model.modules() if type(m).__name__ == "Conv1D")
        original = next(m for m in loaded.model.modules() if type(m).__name__ == "Conv1D")
        assert not torch.equal(conv.weight, original.weight)
        group = conv.weight.detach()[:GROUP, 0]  # Conv1D stores (inputs, outputs): one output's first inputs
        assert len(torch.unique(group)) <= levels
