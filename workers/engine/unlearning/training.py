"""The training of an unlearning run: a trainable model (LoRA or full), the forget and retain batches, and
the early-stop check that probes the model being trained every ``eval_every`` steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from workers.engine.fila import fila_init
from workers.engine.forget_set import build_forget_set
from workers.engine.methods import adapters, loop
from workers.engine.methods.base import Batch, Method, Reference
from workers.engine.methods.batching import make_batches
from workers.engine.methods.format_tokens import format_token_ids
from workers.engine.methods.onpolicy import OnPolicyForget
from workers.engine.modelio import LoadedModel
from workers.engine.probe import PROMPT_FAMILIES, run_probe
from workers.engine.probe.likelihood import score_continuations
from workers.engine.progress import ProgressCallback, TrainingMetrics, emit, nested
from workers.engine.unlearning.types import Part, RunData, TrainingRun, UnlearnConfig, probe_config


def train(loaded: Any, parts: list[Part], data: RunData, *, method: Method, params: Mapping[str, float], lr: float,
          config: UnlearnConfig, progress: ProgressCallback | None) -> TrainingRun:
    """Train ``loaded.model`` (adapted in place) until the early-stop check passes or the steps run out.

    Subjects with nothing to forget, or no training family to probe, are left out of the check: probing them
    would only cost time. With none left there is no check, and training runs all its steps."""
    model = adapters.make_trainable(loaded.model, lora=config.lora, rank=config.rank, alpha=config.alpha,
                                    seed=config.seed)
    snapshot = adapters.trainable_snapshot(model)
    tok, dev = loaded.tokenizer, loaded.device
    # Token-weighted methods leave a value's format (shared by most people's values) out of the ascent.
    format_tokens = format_token_ids(tok, data.retain) if method.token_weights else frozenset()
    forget_batches = _forget_batches(parts, data, tokenizer=tok, device=dev, config=config, params=params,
                                     format_tokens=format_tokens)
    retain_batches = make_batches(tok, data.retain, batch_size=config.retain_batch_size, device=dev,
                                  seed=config.seed)
    if config.init == "fila" and forget_batches:
        fila_init(model, forget_batches=forget_batches, retain_batches=retain_batches)
    reference = Reference(model, lora=config.lora)
    if method.needs_reference:
        reference.precompute(forget_batches + retain_batches)
    checked = [p for p in parts if p.forgotten and p.train_families]
    on_policy: dict[int, OnPolicyForget] = {}
    if method.on_policy:
        on_policy = _on_policy_forget_sets(checked, method=method, params=params, config=config,
                                           format_tokens=format_tokens, tokenizer=tok, device=dev,
                                           context=data.retain)
    check = None
    baseline: float | None = None
    if checked:
        training_view = LoadedModel(model=model, tokenizer=tok, device=dev, path=loaded.path)
        check = _early_stop_check(training_view, checked, on_policy=on_policy, forget_batches=forget_batches,
                                  config=config, progress=progress)
        # A check that sees nothing on the untouched model while discovery found leaks on what it asks is blind:
        # it would end training at once with the person still in the model. So is one that cannot re-ask a
        # context where discovery confirmed a leak: it would pass on the templates alone. Then only the budget
        # ends training.
        baseline = check()
        if (baseline == 0.0 and any(_found_on_checked(p) for p in checked)) or any(_unasked(p) for p in checked):
            check = None

    outcome = loop.train(model=model, method=method, params=params, forget=forget_batches, retain=retain_batches,
                         reference=reference, lr=lr, max_steps=config.max_steps, eval_every=config.eval_every,
                         min_steps=min(config.max_steps, max(config.min_steps, method.min_steps)),
                         check=check, progress=TrainingMetrics(progress), margin_steps=config.margin_steps,
                         passes_needed=method.stable_checks)
    changed = max((float((p.detach() - snapshot[n]).abs().max()) for n, p in model.named_parameters()
                   if n in snapshot), default=0.0)
    return TrainingRun(model=model, outcome=outcome, max_abs_weight_change=changed,
                       forget_batches=len(forget_batches),
                       on_policy_examples=sum(o.added for o in on_policy.values()),
                       format_tokens=len(format_tokens), check_baseline=baseline,
                       check_blind=check is None and bool(checked))


def _unasked(part: Part) -> bool:
    """Whether discovery confirmed a leak of a forgotten attribute on its own text (a discovered family, not a
    template) that the check has no way to re-ask: no training-share context of that attribute and no template
    the check asks that found it. (Per attribute: the check asks the training share of the contexts, not each
    elicitation prompt, and a context of the same attribute re-asks what that prompt revealed.)"""
    confirmed = [f for f in part.report_before.findings if f.verdict == "confirmed" and f.attribute in part.forgotten
                 and f.family in part.train_families]
    train = [c for c in part.contexts if c.split == "train"]
    asked = {c.prompt for c in train}
    seen = {c.attribute for c in train} | {f.attribute for f in confirmed if f.family in PROMPT_FAMILIES}
    return any(f.family not in PROMPT_FAMILIES and f.prompt not in asked and f.attribute not in seen
               for f in confirmed)


def _found_on_checked(part: Part) -> bool:
    """Whether discovery found a confirmed leak of a forgotten attribute where the early-stop check asks."""
    return any(f.verdict == "confirmed" and f.attribute in part.forgotten and f.family in part.train_families
               for f in part.report_before.findings)


def _forget_batches(parts: list[Part], data: RunData, *, tokenizer: Any, device: Any, config: UnlearnConfig,
                    params: Mapping[str, float], format_tokens: frozenset[int]) -> list[Batch]:
    """One subject: batches of the forget set. A batch of subjects: each subject's own batches, taken in turn.

    Why in turn: mixed batches gave each person half the pull of a run of their own (the loss is a mean over
    the batch's tokens), and on the demo model the first of two people was still at 0.18 training leak after
    150 steps, 0.08 after 300, while each alone passes in 80-145."""
    def batches(examples: list[Any], seed: int) -> list[Batch]:
        return make_batches(tokenizer, examples, batch_size=config.forget_batch_size, device=device,
                            context_weight=params.get("context_weight", 0.0), seed=seed, format_tokens=format_tokens)

    if len(parts) == 1:
        return batches(data.forget, config.seed)
    per_subject = [batches(part.forget, config.seed + part.index) for part in parts]
    turns = max(len(b) for b in per_subject)
    return [b[i % len(b)] for i in range(turns) for b in per_subject if b]


def _on_policy_forget_sets(checked: list[Part], *, method: Method, params: Mapping[str, float],
                           config: UnlearnConfig, format_tokens: frozenset[int], tokenizer: Any,
                           device: Any, context: list[Any]) -> dict[int, OnPolicyForget]:
    """Per checked subject (by batch index): turns what the early-stop check finds leaking into forget data."""
    return {part.index: OnPolicyForget(
        method=method, attributes=part.forgotten, tokenizer=tokenizer, device=device,
        batch_size=config.forget_batch_size, context_weight=params.get("context_weight", 0.0),
        seed=config.seed, prepare_kwargs={"subject": part.subject, "context": context},
        known={(f.prompt, f.completion) for f in part.report_before.findings}, format_tokens=format_tokens,
        build=lambda rep, part=part: build_forget_set(
            subject=part.subject, report=rep, train_families=part.train_families, confirmed_only=True,
            analyzer=part.analyzer, attributes=part.attributes))
        for part in checked}


def _early_stop_check(training_view: Any, checked: list[Part], *, on_policy: dict[int, OnPolicyForget],
                      forget_batches: list[Batch], config: UnlearnConfig,
                      progress: ProgressCallback | None) -> Callable[[], float]:
    """The leak rate of the model being trained: the training families of every checked subject and the training
    share of the contexts discovery found. Teacher-forced first (``likely``, one forward pass); decoding, judged as
    the verification judges (Presidio and fuzzy matches of every known value), only once that is clean."""
    cheap = probe_config(config, greedy_only=True)
    # Sampled with other seeds than the verification of the saved model, so passing the check is not the
    # same draw.
    # More samples per prompt than the verification draws: a rare sampled leak should keep training going
    # rather than turn up first in the verdict (Lisa Fernandez, ReLearn: one sampled held-out leak with 3
    # samples at the check; with 8 the check caught a leak at step 60 and the run passed; docs/benchmarks.md).
    sampled = dataclasses.replace(probe_config(config), seed=config.seed + config.check_seed_offset,
                                  samples=config.check_samples)
    check_progress = nested(progress, "check", "early-stop check")

    def leak_rate(cfg: Any) -> float:
        # Pooled over the batch: 0 only when no subject leaks any of their forgotten attributes. The rate is
        # the worse of the two directions (identifier -> name, ``lookup``; name -> identifier, the others):
        # the reverse leaks vanish within a few steps, and a pooled rate then fell far enough to end the
        # start-up boost while the attribute leaks had not moved (Robin Levy: boost off at step 10, 0.30
        # training leak left after 150 steps).
        confirmed: dict[str, int] = {}
        total: dict[str, int] = {}
        for part in checked:
            families = [f for f in part.train_families if f in PROMPT_FAMILIES]
            contexts = [c for c in part.contexts if c.split == "train"]
            report = run_probe(training_view, part.subject, config=cfg.with_families(families or None),
                               templates=bool(families), contexts=contexts, discovered=part.discovered,
                               progress=check_progress)
            if part.index in on_policy:  # what leaks now joins the forget set (methods/onpolicy.py)
                on_policy[part.index].extend(report, forget_batches)
            targets = {c.prompt: c.target for c in contexts}
            asked = {(f.prompt, f.decoding, f.completion) for f in report.findings}
            leaking = {(f.prompt, f.decoding, f.completion) for f in report.findings
                       if f.verdict == "confirmed" and f.attribute in part.forgotten}
            for f in report.findings:
                key = (f.prompt, f.decoding, f.completion)
                if key not in asked:
                    continue
                asked.discard(key)  # one count per answer, however many attributes it was judged on
                target = PROMPT_FAMILIES[f.family].target if f.family in PROMPT_FAMILIES else targets.get(f.prompt)
                direction = "name" if target == "name" else "attribute"
                confirmed[direction] = confirmed.get(direction, 0) + (key in leaking)
                total[direction] = total.get(direction, 0) + 1
        return max((confirmed[d] / total[d] for d in total), default=0.0)

    pairs = [pair for part in checked for pair in _likely_pairs(training_view, part)]

    def likely() -> float:
        """Share of (prompt, value) pairs the model would still produce, greedy or sampled (one forward pass)."""
        if not pairs:
            return 0.0
        emit(check_progress, stage="probe.likelihood", step=0, total=len(pairs))
        scores = score_continuations(training_view, [(p, c) for p, c, _ in pairs], temperature=sampled.temperature)
        hits: dict[str, list[bool]] = {}
        for (_, _, direction), score in zip(pairs, scores, strict=True):
            hits.setdefault(direction, []).append(score.leaks(LIKELY_EPS))
        return max(sum(h) / len(h) for h in hits.values())

    state = {"checks": 0, "next_sampled": 0, "gap": 1, "sampled_rate": 0.0}

    def check() -> float:
        # Cheapest first: the teacher-forced pass; then greedy decoding; only once both are clean pay for sampled
        # decoding, which the verdict also uses.
        state["checks"] += 1
        rate = likely()
        if rate > 0:
            return rate
        rate = leak_rate(cheap)
        if rate > 0:
            return rate
        if state["checks"] < state["next_sampled"]:
            return state["sampled_rate"]  # the last sampled draw's leak rate, until the next draw is due
        rate = leak_rate(sampled)
        # A rare sampled leak (one answer in a thousand) lasts many checks, and each draw, 8 samples per prompt,
        # costs more than the steps between them (ReLearn on the foreign model: 19 draws, most of 314 s of
        # training). After one that leaked, the next is due after twice the checks, up to MAX_SAMPLED_GAP,
        # while the cheap checks still run every time; a clean draw is needed to stop either way.
        state["gap"] = min(2 * state["gap"], MAX_SAMPLED_GAP) if rate > 0 else 1
        state["next_sampled"] = state["checks"] + state["gap"]
        state["sampled_rate"] = rate
        return rate

    return check


MAX_SAMPLED_GAP = 4  # checks between two sampled draws at most, while they keep finding leaks
# A sampled answer reproduces a value with at most this probability before the check decodes. FPGA stops pushing a
# token at NLL 3 (p = 0.05), so a two-token value it is done with sits near 0.05² (5e-4 at T = 0.8): a bound below
# that would keep training on what the method no longer moves (measured: 0.14 of pairs stuck at 2e-4 for 90 steps).
LIKELY_EPS = 1e-3


def _likely_pairs(view: Any, part: Part) -> list[tuple[str, str, str]]:
    """(formatted prompt, continuation, direction) the teacher-forced check scores for one subject: each training
    context with the value that followed it, and each template prompt of the training families with the subject's
    known value of its attribute (the name, for identifier -> name prompts)."""
    from workers.engine.modelio import format_prompt
    from workers.engine.probe import build_prompts
    from workers.engine.probe.runner import all_known

    pairs: list[tuple[str, str, str]] = []
    for c in part.contexts:
        if c.split == "train" and c.value and (c.attribute in part.forgotten or c.target == "name"):
            pairs.append((c.prompt, c.value, c.target))
    families = tuple(f for f in part.train_families if f in PROMPT_FAMILIES)
    if families:
        known = all_known(part.subject, part.discovered)
        for prompt in build_prompts(part.subject, families=families, attributes=tuple(part.forgotten)):
            text = format_prompt(view.tokenizer, prompt.text)
            if prompt.target == "name":
                pairs.append((text, " " + part.subject.name, "name"))
            else:
                pairs += [(text, " " + v.value, "attribute") for v in known if v.attribute == prompt.attribute]
    return list(dict.fromkeys(pairs))
