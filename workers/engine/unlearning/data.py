"""The data of an unlearning run: the forget set (the union over the batch), the retain set, and what
utility is measured on before and after.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from workers.engine import others
from workers.engine import retain as retain_data
from workers.engine.errors import EngineError
from workers.engine.forget_set import build_forget_set, kept_facts, restrict_subject
from workers.engine.methods.base import Method
from workers.engine.methods.batching import TrainExample
from workers.engine.progress import ProgressCallback, emit
from workers.engine.subject import Subject
from workers.engine.unlearning.types import Part, RunData, UnlearnConfig, UtilityInputs

# Of the retain set: the subject's facts the officer chose to keep. A quarter kept the phone of the tiny model's
# people until the retain set changed (the name finder); half kept it for all three tried (email still forgotten).
KEPT_SHARE = 0.5


def build_run_data(loaded: Any, parts: list[Part], *, method: Method, config: UnlearnConfig,
                   given_retain: list[TrainExample] | None, roster: list[dict[str, str]] | None,
                   heldout_texts: list[str] | None, progress: ProgressCallback | None) -> RunData:
    """Sets each part's analyzer, ``found`` and ``kept``; the retain set includes every part's kept facts."""
    emit(progress, stage="data", step=0, message="building the forget and retain sets")
    batch = [p.subject for p in parts]
    retain = given_retain if given_retain is not None else _generated_retain(loaded, batch, config=config)
    facts: list[others.Fact] = []
    if not roster:  # with a roster the ground truth measures utility; without, the model's own facts about others
        emit(progress, stage="data", step=1, message="finding what the model knows about other people")
        formats = [f for part in parts for f in others.subject_formats(part.contexts, part.subject)]
        found, _, _ = others.discover_facts(loaded, batch, seed=config.seed, formats=formats)
        facts = others.without_subjects(found, batch)
        retain = retain + [TrainExample(prompt=f.prompt, completion=f.value, source="retain-answer", raw=True,
                                        meta={"person": f.person, "attribute": f.attribute})
                           for f in facts if f.side == "retain"]
    forget = _forget_union(parts, method=method, config=config, context=retain)
    # Kept facts train as retain data but never count as "other people" in the agreement utility metric.
    retain = retain + _oversampled([ex for part in parts for ex in part.kept], among=len(retain))
    agreement_pairs = [(ex.prompt, ex.completion) for ex in retain if ex.source == "retain-answer" and not ex.raw]
    ppl_texts = heldout_texts or retain_data.perplexity_texts(loaded, batch, count=config.perplexity_samples,
                                                              seed=config.seed)
    if not ppl_texts:
        raise EngineError("the model wrote no text without a subject in it to measure perplexity on; "
                          "give held-out text (heldout_text.txt beside the model)")
    utility = UtilityInputs(roster=roster, subjects=batch, ppl_texts=ppl_texts,
                            agreement_prompts=[p for p, _ in agreement_pairs],
                            reference_answers=[c for _, c in agreement_pairs],
                            facts=[f for f in facts if f.side == "utility" and f.memorised])
    return RunData(forget=forget, retain=retain, utility=utility,
                   perplexity_source=("heldout_text.txt" if heldout_texts else
                                      f"{len(ppl_texts)} texts the model wrote itself, never trained on "
                                      "(any change raises their perplexity: stricter than natural text)"))


def _oversampled(kept: list[TrainExample], *, among: int) -> list[TrainExample]:
    """The subject's kept facts repeated until they are about ``KEPT_SHARE`` of the retain set.

    They share the forgotten facts' context (the name), so every ascent step pulls them down; drawn as rarely as
    any other retain example (a few times in a run) they were lost with what the officer chose to forget."""
    if not kept:
        return []
    repeats = max(1, math.ceil(KEPT_SHARE * among / ((1 - KEPT_SHARE) * len(kept))))
    return kept * repeats


def _forget_union(parts: list[Part], *, method: Method, config: UnlearnConfig,
                  context: Sequence[TrainExample]) -> list[TrainExample]:
    """``context``: the retain examples, which a method's ``prepare_forget`` may draw other people's facts from."""
    examples_of_batch: list[TrainExample] = []
    for part in parts:
        if method.token_weights or part.contexts:
            from workers.engine.pii import build_analyzer

            # The values discovery tied to the subject are located like their identifiers (``SUBJECT_*`` spans).
            chosen = part.attributes
            extra = [(v.attribute, v.value) for v in part.discovered
                     if v.attribute != "name" and (chosen is None or v.attribute in chosen)]
            part.analyzer = build_analyzer(ner=config.ner, subject=restrict_subject(part.subject, part.attributes),
                                           extra=extra)
        examples = build_forget_set(subject=part.subject, report=part.report_before,
                                    train_families=part.train_families, confirmed_only=config.confirmed_only,
                                    analyzer=part.analyzer, reverse_phrasings=method.reverse_phrasings,
                                    attributes=part.attributes)
        part.found = len(examples)
        part.kept = kept_facts(subject=part.subject, report=part.report_before, attributes=part.attributes,
                               forget=examples, train_families=part.train_families)
        if method.prepare_forget is not None:
            examples = method.prepare_forget(examples, subject=part.subject, context=context)
        part.forget = examples
        examples_of_batch += examples
    # The union: a prompt two subjects' findings share is trained on once.
    unique: dict[tuple[str, str], TrainExample] = {}
    for ex in examples_of_batch:
        unique.setdefault((ex.prompt, ex.completion), ex)
    return list(unique.values())


def _generated_retain(loaded: Any, batch: list[Subject], *, config: UnlearnConfig) -> list[TrainExample]:
    examples = retain_data.generate_retain(
        loaded, batch[0], samples=config.retain_samples, people=config.retain_people, seed=config.seed)
    # generate_retain drops what mentions its subject; the rest of the batch must be dropped as well.
    examples = [ex for ex in examples
                if not any(retain_data.mentions_subject(f"{ex.prompt} {ex.completion}", s) for s in batch[1:])]
    if not examples:
        raise EngineError("could not generate retain data that mentions no subject of the batch; "
                          "pass a retain file")
    return examples
