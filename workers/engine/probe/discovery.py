"""Discovery: everything rtbf does to find what a model reveals about a subject, in one report.

Three sources, each recorded in the findings' family and in the report's coverage:
- ``corpus``: when the model's training corpus is known, the text just before each of the subject's values
  there (exact training prefixes; ``probe.corpus``);
- ``elicited``: continuations of the subject's name and identifiers, and of the contexts they lead to
  (``probe.elicit``), which needs no knowledge of how the model was trained;
- the template families (``probe.families``), judged with every value the first two tied to the subject.

The discovered contexts are split into a share unlearning may train on and a share it never sees, which
verification asks again (``probe.contexts``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from workers.engine.pii import build_analyzer
from workers.engine.probe.config import ProbeConfig
from workers.engine.probe.contexts import Context, assign_splits
from workers.engine.probe.elicit import ElicitConfig, Elicitation, Generation, elicit
from workers.engine.probe.families import Prompt
from workers.engine.probe.report import Finding, ProbeReport
from workers.engine.probe.runner import _analyzer_for, _extra, all_known, assemble_report, finding, judge, run_probe
from workers.engine.probe.values import KnownValue, merge
from workers.engine.progress import ProgressCallback, emit, nested
from workers.engine.subject import Subject


def _corpus(path: str | Path, subject: Subject, analyzer: Any, progress: ProgressCallback | None
            ) -> tuple[list[Context], list[KnownValue], dict[str, Any]]:
    from workers.engine.probe.corpus import search_corpus

    emit(progress, stage="corpus", step=0, message="searching the training corpus")
    search = search_corpus(path, subject, analyzer=analyzer)
    contexts: dict[str, Context] = {}
    values: list[KnownValue] = []
    for found in search.contexts:
        prompt = found.prompt.rstrip()
        if not prompt:
            continue
        attribute = found.attribute or "other"
        contexts.setdefault(prompt, Context(prompt=prompt, origin="corpus", attribute=attribute,
                                            group=f"corpus/{found.document}",
                                            value=found.prompt[len(prompt):] + found.value))
        if found.basis == "corpus" and found.attribute:
            values.append(KnownValue(found.attribute, found.value, "corpus"))
    summary = {**search.summary(), "contexts": len(contexts)}
    emit(progress, stage="corpus", step=1, message=f"{len(contexts)} corpus context(s)")
    return list(contexts.values()), merge(values), summary


def generation_findings(generations: list[Generation], subject: Subject, *, known: list[KnownValue],
                        analyzer: Any, attributes: tuple[str, ...], families: dict[str, str]) -> list[Finding]:
    """Every continuation discovery wrote, judged like a probe answer; its family says where its prompt came
    from and on which side of the split (``families``: prompt -> family of the context it continued)."""
    cache: dict[str, Any] = {}
    out: list[Finding] = []
    for gen in generations:
        family = families.get(gen.prompt, gen.origin)
        prompt = Prompt(family, f"{gen.origin}-r{gen.round}", None, gen.prompt)
        # (``judge`` treats every family of discovered text alike: ``probe.contexts.is_context_family``)
        out += [finding(prompt, gen.completion, gen.decoding, key, verdict) for key, verdict in
                judge(prompt, gen.completion, analyzer=analyzer, subject=subject, known=known, attributes=attributes,
                      cache=cache)]
        if gen.source not in ("name", "context") and subject.name.casefold() not in gen.prompt.casefold():
            # From an identifier alone: does the model name the subject?
            back = Prompt(family, f"{gen.origin}-r{gen.round}", gen.source, gen.prompt, target="name")
            out += [finding(back, gen.completion, gen.decoding, key, verdict) for key, verdict in
                    judge(back, gen.completion, analyzer=analyzer, subject=subject, known=known,
                          attributes=attributes, cache=cache)]
    return out


_DEFAULT = ElicitConfig()
TEXT_DRAWS = 2  # of the model's unprompted documents (``slots.model_texts``), each from its own seed


def run_discovery(loaded: Any, subject: Subject, *, config: ProbeConfig | None = None,
                  elicitation: ElicitConfig | None = _DEFAULT, corpus: str | Path | None = None,
                  progress: ProgressCallback | None = None) -> ProbeReport:
    """The subject's discovery report: templates, self-elicitation (``elicitation=None``: none, templates only) and,
    when ``corpus`` is given, the training corpus."""
    config = config or ProbeConfig()
    if elicitation is _DEFAULT:
        elicitation = ElicitConfig(seed=config.seed)
    started = time.perf_counter()
    analyzer = build_analyzer(ner=config.ner, subject=subject)
    coverage: dict[str, Any] = {"corpus_missing": corpus is None}
    corpus_contexts: list[Context] = []
    corpus_values: list[KnownValue] = []
    if corpus is not None:
        corpus_contexts, corpus_values, coverage["corpus"] = _corpus(corpus, subject, analyzer, progress)
    if elicitation is not None:
        from workers.engine.probe import attribution, slots as slot_finder

        emit(progress, stage="discover", step=0, message="reading what the model writes unprompted")
        # Two draws: each found formats the other missed (a register's "Surname, First name" rows, person 0 of
        # the foreign model's roster, in one of three seeds' 192 documents).
        texts = [t for k in range(TEXT_DRAWS) for t in slot_finder.model_texts(loaded, seed=elicitation.seed + k)]
        names = slot_finder.people_in(texts, [subject], limit=24)  # 12 left the first row of a table out
        texts += [lead + more for lead, more in slot_finder.record_walk(loaded, texts, seed=elicitation.seed)]
        found = elicit(loaded, subject, analyzer=analyzer, config=elicitation, extra=corpus_contexts,
                       progress=nested(progress, "discover"),
                       slots=slot_finder.expected_slots(loaded, texts, names, subject, limit=elicitation.slots),
                       people=attribution.controls(names, count=elicitation.strangers, seed=elicitation.seed),
                       own_slots=slot_finder.own_text_slots(texts, subject))
        coverage["elicited"] = found.coverage
    else:  # templates only, but corpus contexts are still asked (once each, in the template probe's way)
        found = Elicitation(generations=[], contexts=list(corpus_contexts), values=[], coverage={})
    discovered = [v for v in merge([*corpus_values, *found.values])]
    found_contexts = found.contexts
    if elicitation is not None:
        theirs = slot_finder.others_values(texts, [v.value for v in discovered if v.basis == "model"], subject)
        discovered = [v for v in discovered if v.value not in theirs]
        found_contexts = [c for c in found_contexts if not (c.value and c.value.strip() in theirs)]
        coverage["elicited"]["values_of_others"] = len(theirs)
    contexts = assign_splits(found_contexts)
    coverage["contexts"] = {split: sum(c.split == split for c in contexts) for split in ("train", "heldout")}
    coverage["contexts"]["by_origin"] = {o: sum(c.origin == o for c in contexts) for o in ("elicited", "corpus")}

    templates = run_probe(loaded, subject, config=config, discovered=discovered, progress=progress,
                          contexts=[] if found.generations else contexts)
    known = all_known(subject, discovered)
    judged_with = _analyzer_for(subject.model_dump_json(), config.ner, _extra(discovered))
    findings = templates.findings + generation_findings(
        found.generations, subject, known=known, analyzer=judged_with, attributes=config.attributes,
        families={c.prompt: c.family for c in contexts})
    coverage["templates"] = {"families": list(config.families),
                             "prompts": len({f.prompt for f in templates.findings})}
    timings = {**{f"templates_{k}": v for k, v in templates.timings.items()},
               "elicitation_s": found.coverage.get("seconds", 0.0)}
    return assemble_report(loaded, subject, findings=findings, membership=templates.membership, config=config,
                           timings=timings, started=started, contexts=contexts, discovered=discovered,
                           coverage=coverage)


VERIFY_SAMPLES = 24  # fresh continuations of the name and of each identifier, at verification
VERIFY_SLOTS = 24  # fresh name slots, from documents the checked model writes, at verification
VERIFY_SLOT_SAMPLES = 2  # sampled continuations of each, besides the greedy one
_VERIFY_TEXT_SEED = 50_021  # no seed discovery draws documents with


def verification_probe(loaded: Any, subject: Subject, *, config: ProbeConfig, contexts: list[Context],
                       discovered: list[KnownValue], samples: int = VERIFY_SAMPLES, slots: int = VERIFY_SLOTS,
                       progress: ProgressCallback | None = None) -> ProbeReport:
    """Probe a model after unlearning: every template family, every discovered context (both shares of the split),
    and, with seeds discovery never used (``elicited-verify``), fresh continuations of the name and identifiers and
    of fresh name slots: the formats of documents the checked model writes now, with the subject's name in them.
    Those formats were never trained on, and some were never discovered: a model that forgot the subject only in
    the formats discovery happened to see fails here. The records the checked model writes after each record it
    wrote (``slots.record_walk``) give those slots the rows before the subject's, and any of them that is the
    subject's own is judged too. All judged with every value discovery tied to the subject."""
    from workers.engine.probe import slots as slot_finder
    from workers.engine.probe.attribution import find_anchors
    from workers.engine.probe.contexts import VERIFY_FAMILY
    from workers.engine.probe.elicit import _seeds
    from workers.engine.probe.runner import continue_texts

    started = time.perf_counter()
    report = run_probe(loaded, subject, config=config, contexts=contexts, discovered=discovered, progress=progress)
    if not contexts or samples < 1:
        return report
    seeds = _seeds(subject)
    outs = continue_texts(loaded, [t for _, t in seeds], samples=samples, temperature=config.temperature,
                          top_p=config.top_p, max_new_tokens=2 * config.max_new_tokens, batch_size=config.batch_size,
                          seed=config.seed + 99_991, progress=progress, stage="probe.verify")
    generations = [Generation(text, c, "sampled", 1, f"verify/{source}", source, VERIFY_FAMILY)
                   for (source, text), completions in zip(seeds, outs, strict=True) for c in completions]
    fresh: list[str] = []
    walk: list[tuple[str, str]] = []
    if slots > 0:
        texts = slot_finder.model_texts(loaded, seed=config.seed + _VERIFY_TEXT_SEED)
        names = slot_finder.people_in(texts, [subject], limit=24)
        walk = slot_finder.record_walk(loaded, texts, seed=config.seed + _VERIFY_TEXT_SEED)
        texts += [lead + more for lead, more in walk]
        # The subject's record written unprompted after another's is judged as it stands.
        generations += [Generation(lead, more, "sampled", 1, "verify/walk", "context", VERIFY_FAMILY)
                        for lead, more in walk if find_anchors(more, subject)]
        asked = {c.prompt for c in contexts}
        fresh = [s for s in slot_finder.expected_slots(loaded, texts, names, subject, limit=slots + len(asked))
                 if s not in asked][:slots]
        if fresh:
            greedy = continue_texts(loaded, fresh, max_new_tokens=2 * config.max_new_tokens,
                                    batch_size=config.batch_size)
            sampled = continue_texts(loaded, fresh, samples=VERIFY_SLOT_SAMPLES, temperature=config.temperature,
                                     top_p=config.top_p, max_new_tokens=2 * config.max_new_tokens,
                                     batch_size=config.batch_size, seed=config.seed + 99_989, progress=progress,
                                     stage="probe.verify")
            for index, (slot, first, more) in enumerate(zip(fresh, greedy, sampled, strict=True)):
                generations.append(Generation(slot, first[0], "greedy", 1, f"verify/slot{index}", "context",
                                              VERIFY_FAMILY))
                generations += [Generation(slot, c, "sampled", 1, f"verify/slot{index}", "context", VERIFY_FAMILY)
                                for c in more]
    known = all_known(subject, discovered)
    analyzer = _analyzer_for(subject.model_dump_json(), config.ner, _extra(discovered))
    extra = generation_findings(generations, subject, known=known, analyzer=analyzer, attributes=config.attributes,
                                families={})
    timings = {**report.timings, "fresh_continuations": len(generations)}
    return assemble_report(loaded, subject, findings=report.findings + extra, membership=report.membership,
                           config=config, timings=timings, started=started, contexts=contexts, discovered=discovered,
                           coverage={"verification": {"contexts": len(contexts), "fresh_slots": len(fresh),
                                                      "record_walk": len(walk),
                                                      "fresh_continuations": len(generations)}})
