"""``run_probe``: ask the model about a subject in every family, judge every answer."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from workers.engine.modelio import LoadedModel, format_prompt, weights_sha256
from workers.engine.pii import build_analyzer, find_pii
from workers.engine.probe.classify import classify_attribute, classify_name
from workers.engine.probe.config import ProbeConfig
from workers.engine.probe.families import Prompt, build_prompts
from workers.engine.probe.membership import min_k_plus_plus
from workers.engine.probe.report import Finding, ProbeReport, compute_rates, write_summary
from workers.engine.progress import ProgressCallback, emit
from workers.engine.subject import Subject


@lru_cache(maxsize=8)
def _analyzer_for(subject_json: str, ner: bool) -> Any:
    # Unlearning re-probes every few steps; building Presidio each time would dominate the cost.
    return build_analyzer(ner=ner, subject=Subject.model_validate_json(subject_json))


def generate(loaded: LoadedModel, prompts: Sequence[str], *, config: ProbeConfig, sampled: bool,
             progress: ProgressCallback | None = None, stage: str = "probe.generate") -> list[list[str]]:
    """Continuations per prompt: one greedy, or ``config.samples`` sampled; batched with left padding."""
    import torch

    tokenizer, model = loaded.tokenizer, loaded.model
    tokenizer.padding_side = "left"
    per_prompt = config.samples if sampled else 1
    texts = [format_prompt(tokenizer, p) for p in prompts]
    # Similar lengths together: less padding per batch; results go back to the original order.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batch = max(1, config.batch_size // per_prompt)
    results: list[list[str]] = [[] for _ in texts]
    generator_seed = config.seed + (1 if sampled else 0)
    total = (len(order) + batch - 1) // batch
    for number, start in enumerate(range(0, len(order), batch), 1):
        indices = order[start : start + batch]
        enc = tokenizer([texts[i] for i in indices], return_tensors="pt", padding=True)
        enc = {k: v.to(loaded.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        options: dict[str, Any] = {"max_new_tokens": config.max_new_tokens, "pad_token_id": tokenizer.pad_token_id}
        if sampled:
            torch.manual_seed(generator_seed + start)
            options |= {"do_sample": True, "temperature": config.temperature, "top_p": config.top_p,
                        "top_k": 0, "num_return_sequences": per_prompt}
        else:
            options |= {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        with torch.no_grad():
            out = model.generate(**enc, **options)
        decoded = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        for row, text in enumerate(decoded):
            results[indices[row // per_prompt]].append(text)
        emit(progress, stage=stage, step=number, total=total)
    return results


def _judge(prompt: Prompt, completion: str, analyzer: Any, subject: Subject, attributes: Sequence[str],
           cache: dict[str, Any]) -> list[tuple[str, Any]]:
    if completion not in cache:
        cache[completion] = find_pii(analyzer, completion)
    spans = cache[completion]
    if prompt.target == "name":
        return [(prompt.attribute, classify_name(completion=completion, spans=spans, subject=subject))]
    keys = [prompt.attribute] if prompt.attribute else list(attributes)
    return [(key, classify_attribute(key=key, completion=completion, spans=spans, subject=subject)) for key in keys]


def run_probe(
    loaded: LoadedModel,
    subject: Subject,
    *,
    config: ProbeConfig | None = None,
    families: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> ProbeReport:
    """Probe ``loaded`` for personal data about ``subject``; the report names prompts, answers, verdicts."""
    config = (config or ProbeConfig()).with_families(families)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    analyzer = _analyzer_for(subject.model_dump_json(), config.ner)
    timings["analyzer_s"] = time.perf_counter() - started

    prompts = build_prompts(subject, families=config.families, attributes=config.attributes)
    texts = [p.text for p in prompts]
    tick = time.perf_counter()
    greedy = generate(loaded, texts, config=config, sampled=False, progress=progress)
    sampled = (generate(loaded, texts, config=config, sampled=True, progress=progress, stage="probe.sample")
               if config.samples else [[] for _ in texts])
    timings["generation_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    findings: list[Finding] = []
    cache: dict[str, Any] = {}
    for index, prompt in enumerate(prompts):
        runs = [("greedy", c) for c in greedy[index]] + [("sampled", c) for c in sampled[index]]
        for decoding, completion in runs:
            for key, verdict in _judge(prompt, completion, analyzer, subject, config.attributes, cache):
                findings.append(Finding(
                    attribute=key, family=prompt.family, template_id=prompt.template_id, prompt=prompt.text,
                    completion=completion, decoding=decoding, verdict=verdict.verdict, matched=verdict.matched,
                    score=verdict.score, spans=list(verdict.spans)))
        emit(progress, stage="probe.analyse", step=index + 1, total=len(prompts))
    timings["analysis_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    scores = min_k_plus_plus(loaded.model, loaded.tokenizer, subject.texts, k=config.min_k) if subject.texts else []
    membership = {"method": "min_k_plus_plus", "k": config.min_k, "scores": [round(s, 4) for s in scores],
                  "mean": round(sum(scores) / len(scores), 4) if scores else None}
    timings["membership_s"] = time.perf_counter() - tick

    rates = compute_rates(findings)
    submitted = [k for k in config.attributes if k in subject.identifiers]
    judged = [f for f in findings if f.attribute in submitted]
    confirmed_rate = round(sum(f.verdict == "confirmed" for f in judged) / len(judged), 4) if judged else 0.0
    timings["total_s"] = time.perf_counter() - started
    timings = {k: round(v, 3) for k, v in timings.items()}
    summary = write_summary(findings=findings, rates=rates, submitted=submitted, membership=membership, config=config)
    return ProbeReport(findings=findings, rates=rates, confirmed_rate=confirmed_rate, membership=membership,
                       summary=summary, config=config, model_sha256=weights_sha256(loaded.path), timings=timings,
                       submitted=submitted)
