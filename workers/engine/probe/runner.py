"""``run_probe``: ask the model about a subject in every family, judge every answer."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from workers.engine.modelio import LoadedModel, format_prompt, weights_sha256
from workers.engine.pii import build_analyzer, find_pii
from workers.engine.attributes import ATTRIBUTES
from workers.engine.probe.classify import CONFIRMED, NONE, Verdict, classify_attribute, classify_name
from workers.engine.probe.config import ProbeConfig
from workers.engine.probe.contexts import Context, is_context_family
from workers.engine.probe.families import Prompt, build_prompts
from workers.engine.probe.membership import min_k_plus_plus
from workers.engine.probe.report import Finding, ProbeReport, compute_rates, write_summary
from workers.engine.probe.values import KnownValue, ValueMatcher, merge, submitted_values
from workers.engine.progress import ProgressCallback, emit
from workers.engine.subject import Subject


@lru_cache(maxsize=8)
def _analyzer_for(subject_json: str, ner: bool, extra: tuple[tuple[str, str], ...] = ()) -> Any:
    # Unlearning re-probes every few steps; building Presidio each time would dominate the cost.
    return build_analyzer(ner=ner, subject=Subject.model_validate_json(subject_json), extra=extra)


def continue_texts(loaded: LoadedModel, texts: Sequence[str], *, samples: int = 0, temperature: float = 0.8,
                   top_p: float = 0.95, max_new_tokens: int = 32, batch_size: int = 128, seed: int = 0,
                   progress: ProgressCallback | None = None, stage: str = "probe.generate") -> list[list[str]]:
    """Continuations of already formatted ``texts``: one greedy each (``samples=0``) or ``samples`` sampled.

    Batched with left padding and the KV cache; similar lengths share a batch (less padding) and results go back
    to the input order. A text too long for the model's context keeps its end (what the continuation follows)."""
    import torch
    from transformers import LogitsProcessorList

    from workers.engine.modelio import context_limit
    from workers.engine.probe.nucleus import Sampler

    tokenizer, model = loaded.tokenizer, loaded.model
    tokenizer.padding_side = "left"
    per_prompt = max(1, samples)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batch = max(1, batch_size // per_prompt)
    results: list[list[str]] = [[] for _ in texts]
    room = max(8, context_limit(loaded) - max_new_tokens)
    side = getattr(tokenizer, "truncation_side", "right")
    tokenizer.truncation_side = "left"
    total = (len(order) + batch - 1) // batch
    was_training = model.training
    model.eval()
    try:
        for number, start in enumerate(range(0, len(order), batch), 1):
            indices = order[start : start + batch]
            enc = tokenizer([texts[i] for i in indices], return_tensors="pt", padding=True, truncation=True,
                            max_length=room)
            enc = {k: v.to(loaded.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
            options: dict[str, Any] = {"max_new_tokens": max_new_tokens, "pad_token_id": tokenizer.pad_token_id,
                                       "do_sample": False, "temperature": None, "top_p": None, "top_k": None}
            rows = enc
            if samples:
                torch.manual_seed(seed + start)
                # Sampled by ``Sampler`` inside greedy decoding: the built-in sampler's top-p sorts the vocabulary
                # every step and its draw is torch.multinomial, together most of the cost (probe/nucleus.py).
                rows = {k: v.repeat_interleave(per_prompt, dim=0) for k, v in enc.items()}
                options["logits_processor"] = LogitsProcessorList([Sampler(temperature, top_p)])
            with torch.no_grad():
                out = model.generate(**rows, **options)
            width = enc["input_ids"].shape[1]
            prompts = tokenizer.batch_decode(enc["input_ids"], skip_special_tokens=True)
            fulls = tokenizer.batch_decode(out, skip_special_tokens=True)
            tails = tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
            for row, (full, tail) in enumerate(zip(fulls, tails, strict=True)):
                # The continuation as it reads after the prompt: decoded alone, a SentencePiece continuation loses
                # its leading space (" Kaasmarkt 14" -> "Kaasmarkt 14").
                prompt = prompts[row // per_prompt]
                text = full[len(prompt):] if full.startswith(prompt) else tail
                results[indices[row // per_prompt]].append(text)
            emit(progress, stage=stage, step=number, total=total)
    finally:
        tokenizer.truncation_side = side
        model.train(was_training)
    return results


def generate(loaded: LoadedModel, prompts: Sequence[str], *, config: ProbeConfig, sampled: bool,
             progress: ProgressCallback | None = None, stage: str = "probe.generate") -> list[list[str]]:
    """Continuations per prompt (formatted as the model expects): one greedy, or ``config.samples`` sampled."""
    texts = [format_prompt(loaded.tokenizer, p) for p in prompts]
    return continue_texts(loaded, texts, samples=config.samples if sampled else 0, temperature=config.temperature,
                          top_p=config.top_p, max_new_tokens=config.max_new_tokens, batch_size=config.batch_size,
                          seed=config.seed + (1 if sampled else 0), progress=progress, stage=stage)


def judge(prompt: Prompt, completion: str, *, analyzer: Any, subject: Subject, known: Sequence[KnownValue],
          attributes: Sequence[str], cache: dict[str, Any]) -> list[tuple[str, Any]]:
    """(attribute, verdict) pairs for one completion. A template prompt is judged on its attribute (an open one on
    every attribute); a discovered context on the attribute it was seen to produce, plus any attribute of which
    the completion holds a known value or Presidio types a value."""
    if completion not in cache:
        cache[completion] = find_pii(analyzer, completion)
    spans = cache[completion]
    if prompt.target == "name":
        return [(prompt.attribute, classify_name(completion=completion, spans=spans, subject=subject))]
    if is_context_family(prompt.family):
        matcher = _matcher(tuple(known))
        keys = list(dict.fromkeys([k for k in [prompt.attribute] if k in ATTRIBUTES]
                                  + [v.attribute for v in matcher.find(completion)]
                                  + [sp.attribute for sp in spans if sp.attribute in ATTRIBUTES]))
        if not keys:
            return [(prompt.attribute or "other", Verdict(NONE, None, 0.0, ()))]
    else:
        keys = [prompt.attribute] if prompt.attribute else list(attributes)
    return [(key, classify_attribute(key=key, completion=completion, spans=spans, values=known)) for key in keys]


def fast_judge(prompt: Prompt, completion: str, *, subject: Subject, known: Sequence[KnownValue]
               ) -> list[tuple[str, Any]]:
    """What the early-stop check needs, without Presidio: which known values the completion holds (the name, for
    a prompt that asks from an identifier back to it). Exact normalised matches only (``values.ValueMatcher``)."""
    matcher = _matcher(tuple(known))
    if prompt.target == "name":
        hit = matcher.names(completion)
        return [(prompt.attribute, Verdict(CONFIRMED if hit else NONE, "name" if hit else None, float(hit), (),
                                           "submitted" if hit else None))]
    hits = matcher.find(completion)
    if not hits:
        return [(prompt.attribute or "other", Verdict(NONE, None, 0.0, ()))]
    return [(v.attribute, Verdict(CONFIRMED, v.attribute, 1.0, (), v.basis)) for v in hits]


@lru_cache(maxsize=8)
def _matcher(known: tuple[KnownValue, ...]) -> ValueMatcher:
    return ValueMatcher(known)


def context_prompts(contexts: Sequence[Context], subject: Subject) -> list[Prompt]:
    """Discovered contexts as prompts. One that leads to the name is reported, like ``inverse`` prompts, under
    the kind of identifier it starts from."""
    def via(context: Context) -> str:
        text = context.prompt.casefold()
        return next((k for k, v in subject.identifiers.items() if v.casefold() in text), "name")

    return [Prompt(c.family, c.key, via(c) if c.target == "name" else c.attribute, c.prompt, c.target)
            for c in contexts]


def all_known(subject: Subject, discovered: Sequence[KnownValue]) -> list[KnownValue]:
    """The submitted values first, then what discovery tied to the subject."""
    return merge([*submitted_values(subject.name, subject.identifiers), *discovered])


def run_probe(
    loaded: LoadedModel,
    subject: Subject,
    *,
    config: ProbeConfig | None = None,
    families: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    contexts: Sequence[Context] = (),
    discovered: Sequence[KnownValue] = (),
    templates: bool = True,
    fast: bool = False,
) -> ProbeReport:
    """Probe ``loaded`` for personal data about ``subject``; the report names prompts, answers, verdicts.

    Asks the template ``families`` (unless ``templates`` is False) and the discovered ``contexts`` (raw text, as
    the model wrote it or its corpus holds it); a completion is confirmed when it holds a submitted identifier or
    one of the ``discovered`` values. ``fast``: no Presidio, exact known-value matches only (the early-stop
    check; candidates are then never reported)."""
    config = (config or ProbeConfig()).with_families(families)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    known = all_known(subject, discovered)
    analyzer = None if fast else _analyzer_for(subject.model_dump_json(), config.ner, _extra(discovered))
    timings["analyzer_s"] = time.perf_counter() - started

    prompts = build_prompts(subject, families=config.families, attributes=config.attributes) if templates else []
    asked = context_prompts(contexts, subject)
    tick = time.perf_counter()
    greedy = generate(loaded, [p.text for p in prompts], config=config, sampled=False, progress=progress)
    sampled = (generate(loaded, [p.text for p in prompts], config=config, sampled=True, progress=progress,
                        stage="probe.sample") if config.samples else [[] for _ in prompts])
    if asked:  # discovered contexts are raw model text: no chat template around them
        raw = [p.text for p in asked]
        greedy += continue_texts(loaded, raw, max_new_tokens=config.max_new_tokens, batch_size=config.batch_size,
                                 progress=progress)
        sampled += (continue_texts(loaded, raw, samples=config.samples, temperature=config.temperature,
                                   top_p=config.top_p, max_new_tokens=config.max_new_tokens,
                                   batch_size=config.batch_size, seed=config.seed + 2, progress=progress,
                                   stage="probe.sample") if config.samples else [[] for _ in asked])
    prompts += asked
    timings["generation_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    findings: list[Finding] = []
    cache: dict[str, Any] = {}
    for index, prompt in enumerate(prompts):
        runs = [("greedy", c) for c in greedy[index]] + [("sampled", c) for c in sampled[index]]
        for decoding, completion in runs:
            verdicts = (fast_judge(prompt, completion, subject=subject, known=known) if fast else
                        judge(prompt, completion, analyzer=analyzer, subject=subject, known=known,
                              attributes=config.attributes, cache=cache))
            findings += [finding(prompt, completion, decoding, key, verdict) for key, verdict in verdicts]
        emit(progress, stage="probe.analyse", step=index + 1, total=len(prompts))
    timings["analysis_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    scores = (min_k_plus_plus(loaded.model, loaded.tokenizer, subject.texts, k=config.min_k)
              if subject.texts and not fast else [])
    membership = {"method": "min_k_plus_plus", "k": config.min_k, "scores": [round(s, 4) for s in scores],
                  "mean": round(sum(scores) / len(scores), 4) if scores else None}
    timings["membership_s"] = time.perf_counter() - tick
    return assemble_report(loaded, subject, findings=findings, membership=membership, config=config,
                           timings=timings, started=started, contexts=list(contexts), discovered=list(discovered))


def finding(prompt: Prompt, completion: str, decoding: str, key: str, verdict: Any) -> Finding:
    return Finding(attribute=key, family=prompt.family, template_id=prompt.template_id, prompt=prompt.text,
                   completion=completion, decoding=decoding, verdict=verdict.verdict, matched=verdict.matched,
                   score=verdict.score, spans=list(verdict.spans), basis=verdict.basis)


def assemble_report(loaded: LoadedModel, subject: Subject, *, findings: list[Finding], membership: dict[str, Any],
                    config: ProbeConfig, timings: dict[str, float], started: float, contexts: list[Context],
                    discovered: list[KnownValue], coverage: dict[str, Any] | None = None) -> ProbeReport:
    rates = compute_rates(findings)
    submitted = [k for k in config.attributes if k in subject.identifiers]
    judged = [f for f in findings if f.attribute in submitted]
    confirmed_rate = round(sum(f.verdict == "confirmed" for f in judged) / len(judged), 4) if judged else 0.0
    timings["total_s"] = time.perf_counter() - started
    timings = {k: round(v, 3) for k, v in timings.items()}
    summary = write_summary(findings=findings, rates=rates, submitted=submitted, membership=membership, config=config,
                            discovered=discovered, coverage=coverage or {})
    return ProbeReport(findings=findings, rates=rates, confirmed_rate=confirmed_rate, membership=membership,
                       summary=summary, config=config, model_sha256=weights_sha256(loaded.path), timings=timings,
                       submitted=submitted, contexts=contexts, discovered=discovered, coverage=coverage or {})


def _extra(discovered: Sequence[KnownValue]) -> tuple[tuple[str, str], ...]:
    return tuple((v.attribute, v.value) for v in discovered if v.attribute != "name")
