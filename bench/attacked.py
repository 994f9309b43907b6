"""The judge's view of an unlearned model under attack (issue 11): the independent judge (``bench.foreign.judge``)
asks its own phrasings of a model that was quantised (int8, 4-bit), fine-tuned a little on unrelated text, or is
sampled many times. The attacks' weight transforms are the engine's (they are the attack, not the probe); what
counts as a leak is the judge's alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MULTIQUERY_SAMPLES = 20


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    return {"max_family_leak": result["max_family_leak"], "worst_family": result["worst_family"],
            "leak_training": result["leak_training"], "leak_paraphrase": result["leak_paraphrase"],
            "families": {k: v["exact_rate"] if "exact_rate" in v else v.get("exact") for k, v in
                         result["families"].items()}}


def judge_attacked(model_dir: Path, truth: Path, *, forgotten: list[str], half: str, exclude: list[str], seed: int,
                   device: str | None) -> dict[str, Any]:
    from bench.foreign.judge import judge
    from workers.engine.attacks.quantize import quantized_copy
    from workers.engine.attacks.relearn import relearned_copy
    from workers.engine.modelio import load_model

    out: dict[str, Any] = {}
    loaded = load_model(model_dir, device=device)
    for variant in ("int8", "int4"):
        q = quantized_copy(loaded, variant)
        out[variant] = _summary(judge(model_dir, truth, forgotten=forgotten, half=half, exclude=exclude, seed=seed,
                                      device=device, others_limit=200, loaded=(q.model, q.tokenizer)))
    out["multiquery"] = _summary(judge(model_dir, truth, forgotten=forgotten, half=half, exclude=exclude, seed=seed,
                                       device=device, samples=MULTIQUERY_SAMPLES, temperature=1.0, others_limit=200,
                                       loaded=(loaded.model, loaded.tokenizer)))
    held = truth / "heldout_text.txt"
    texts = [t for t in held.read_text(encoding="utf-8").splitlines() if t.strip()][:64] if held.is_file() else []
    if texts:
        r = relearned_copy(loaded, texts, steps=20, lr=1e-3, seed=seed)
        out["relearn-unrelated"] = _summary(judge(model_dir, truth, forgotten=forgotten, half=half, exclude=exclude,
                                                  seed=seed, device=device, others_limit=200,
                                                  loaded=(r.model, r.tokenizer)))
    return out
