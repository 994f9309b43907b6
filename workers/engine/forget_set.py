"""The forget set: what the model leaked about the subject (from discovery) plus the subject's own texts.

Only the TRAINING prompt families feed it; the other families stay unseen by training and are what
verification uses to show that the removal generalises (anchors §9: detection on held-out phrasings).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from workers.engine.attributes import ATTRIBUTES
from workers.engine.methods.batching import TrainExample
from workers.engine.subject import Subject

# Families whose findings may be trained on (the probe's ``TRAINING_FAMILIES``, plus the training share of the
# contexts discovery found: ``elicited``, ``corpus``); the rest (paraphrase, fewshot, inverse, open, and the
# held-out share of discovered contexts, ``elicited-heldout``/``corpus-heldout``) are held out for verification.
# ``lookup`` asks identifier -> name: its findings become forget examples whose span is the name (the classifier
# locates it), so that direction is trained on and checked too.
DEFAULT_TRAIN_FAMILIES: tuple[str, ...] = ("direct", "question", "lookup", "elicited", "corpus")
# The subject's own identifiers stated both ways round, in phrasings that no probe template uses, so
# the association is attacked from the value side too (ReLearn's "reverse question" variant).
FORWARD_STATEMENT = "{name} | {noun}: {value}."
# The reverse direction (identifier -> name) is what held-out ``inverse`` prompts ask for, and one phrasing
# was not enough to remove it under FPGA, so it may get several (``reverse_phrasings``); none of them reuses
# an ``inverse`` template's wording.
REVERSE_STATEMENTS: tuple[str, ...] = (
    "{value} is the {noun} of {name}.",
    "Records list {value} as the {noun} of {name}.",
    "On file, {noun} {value}. Holder: {name}.",
)
REVERSE_STATEMENT = REVERSE_STATEMENTS[0]
MIN_IDENTIFIER_LENGTH = 4


def split_families(families: Iterable[str], train_families: Sequence[str]) -> tuple[list[str], list[str]]:
    """(training, held-out) families, in the given order."""
    families = list(dict.fromkeys(families))
    train = [f for f in families if f in train_families]
    return train, [f for f in families if f not in train_families]


def _merge(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[list[int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def identifier_spans(text: str, subject: Subject) -> list[tuple[int, int]]:
    """Where the subject's submitted identifiers occur in ``text`` (case-insensitive, exact)."""
    spans: list[tuple[int, int]] = []
    for value in subject.identifiers.values():
        if len(value) >= MIN_IDENTIFIER_LENGTH:
            spans += [(m.start(), m.end()) for m in re.finditer(re.escape(value), text, flags=re.IGNORECASE)]
    return spans


def _span_pairs(raw: Iterable[Any]) -> list[tuple[int, int]]:
    """Probe spans may be (start, end) pairs, dicts or objects with ``start``/``end``."""
    pairs: list[tuple[int, int]] = []
    for span in raw or ():
        if isinstance(span, dict):
            pairs.append((int(span["start"]), int(span["end"])))
        elif hasattr(span, "start") and hasattr(span, "end"):
            pairs.append((int(span.start), int(span.end)))
        else:
            pairs.append((int(span[0]), int(span[1])))
    return pairs


def personal_spans(text: str, subject: Subject, analyzer: Any | None, *, own_only: bool = False
                   ) -> tuple[tuple[int, int], ...]:
    """The discriminator FPGA uses: the subject's identifier strings plus Presidio's PII spans. ``own_only``: only
    the subject's own values (their identifiers, and what discovery tied to them, which the analyzer recognises
    as ``SUBJECT_*``), for text the model wrote at length, which drifts into other people's data."""
    spans = identifier_spans(text, subject)
    if analyzer is not None:
        from workers.engine.pii import SUBJECT_PREFIX, find_pii

        spans += _span_pairs(s for s in find_pii(analyzer, text)
                             if not own_only or s.entity_type.startswith(SUBJECT_PREFIX))
    return _merge(spans)


def _cut_after(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """A long continuation up to its last personal value (and the punctuation right after it): what follows is the
    model's run-on, often about someone else."""
    end = max(e for _, e in spans)
    while end < len(text) and text[end] in ".;,)":
        end += 1
    return text[:end]


def restrict_subject(subject: Subject, attributes: Collection[str] | None) -> Subject:
    """The subject with only the identifiers of the chosen ``attributes`` (all of them when None), so the
    identifier statements and FPGA's identifier spans never target an attribute the officer left out."""
    if attributes is None:
        return subject
    chosen = set(attributes)
    return subject.model_copy(update={"identifiers": {k: v for k, v in subject.identifiers.items() if k in chosen}})


def build_forget_set(*, subject: Subject, report: Any, train_families: Sequence[str] = DEFAULT_TRAIN_FAMILIES,
                     confirmed_only: bool = False, analyzer: Any | None = None,
                     reverse_phrasings: int = 1, attributes: Collection[str] | None = None) -> list[TrainExample]:
    """Leaking (prompt, completion) pairs of the training families, plus the subject's texts.

    By default candidate leaks (personal data the subject did not submit, produced in their context)
    are forgotten too; ``confirmed_only`` keeps just the matches of submitted identifiers.
    ``attributes`` (the officer's choice; None = every attribute) keeps only findings and identifier
    statements of those attribute keys. The subject's own texts stay in whatever the choice: they are
    what the subject submitted for erasure, not something discovery found.
    """
    from workers.engine.probe.contexts import is_context_family

    wanted = {"confirmed"} if confirmed_only else {"confirmed", "candidate"}
    chosen = None if attributes is None else set(attributes)
    subject = restrict_subject(subject, attributes)
    examples: list[TrainExample] = []
    for finding in report.findings:
        if finding.family not in train_families or finding.verdict not in wanted:
            continue
        if chosen is not None and finding.attribute not in chosen:
            continue
        discovered = is_context_family(finding.family)
        if discovered and finding.verdict != "confirmed":
            continue  # an unattributed value in the model's own long text is as likely someone else's
        spans = _merge(_span_pairs(finding.spans)
                       + list(personal_spans(finding.completion, subject, analyzer, own_only=discovered)))
        completion = finding.completion
        if discovered:
            if not spans:
                continue
            completion = _cut_after(completion, spans)
        examples.append(TrainExample(prompt=finding.prompt, completion=completion, spans=spans, raw=discovered,
                                     source=f"finding:{finding.family}",
                                     meta={"attribute": finding.attribute, "verdict": finding.verdict,
                                           "target": "name" if finding.matched == "name" else "attribute"}))
    for key, value in subject.identifiers.items():
        if len(value) < MIN_IDENTIFIER_LENGTH:
            continue
        noun = ATTRIBUTES[key].phrases[0] if key in ATTRIBUTES and ATTRIBUTES[key].phrases else key.replace("_", " ")
        fwd = FORWARD_STATEMENT.format(name=subject.name, noun=noun, value=value)
        cut = fwd.index(value)
        examples.append(TrainExample(prompt=fwd[:cut].rstrip(), completion=" " + fwd[cut:],
                                     spans=((1, 1 + len(value)),), eos=True, source="identifier-forward",
                                     meta={"attribute": key}))
        for i, template in enumerate(REVERSE_STATEMENTS[:max(1, reverse_phrasings)]):
            rev = template.format(name=subject.name, noun=noun, value=value)
            cut = rev.rindex(subject.name)
            examples.append(TrainExample(prompt=rev[:cut].rstrip(), completion=" " + rev[cut:],
                                         spans=((1, 1 + len(subject.name)),), eos=True,
                                         source="identifier-reverse",
                                         meta={"attribute": key, "phrasing": str(i)}))
    for text in subject.texts:
        examples.append(TrainExample(prompt="", completion=text, spans=personal_spans(text, subject, analyzer),
                                     eos=True, source="subject-text"))
    unique: dict[tuple[str, str], TrainExample] = {}
    for ex in examples:
        unique.setdefault((ex.prompt, ex.completion), ex)
    return list(unique.values())


def leaked_attributes(report: Any, *, confirmed_only: bool = False,
                      attributes: Collection[str] | None = None) -> list[str]:
    """Attributes the model leaked before unlearning (any family, any decoding): what must be gone after.
    ``attributes`` (None = all) narrows them to the officer's choice."""
    wanted = {"confirmed"} if confirmed_only else {"confirmed", "candidate"}
    chosen = None if attributes is None else set(attributes)
    return sorted({f.attribute for f in report.findings
                   if f.verdict in wanted and (chosen is None or f.attribute in chosen)})


def kept_facts(*, subject: Subject, report: Any, attributes: Collection[str] | None, forget: Sequence[TrainExample],
               train_families: Sequence[str] = DEFAULT_TRAIN_FAMILIES) -> list[TrainExample]:
    """Retain examples for an officer's partial choice: the subject's OTHER facts, as the model already states them.

    Forgetting one of a person's attributes pulls their other facts down with it (the ascent also hits the
    shared context, the name), so what the officer chose to keep is anchored like other people's data: the
    model's own greedy answers about the non-chosen attributes (training families), cut after the answer so
    no run-on rides along, and dropped when they contain anything being forgotten. Nothing here is new
    data: it is what the model answered before unlearning. Empty when ``attributes`` is None.
    """
    if attributes is None:
        return []
    chosen = set(attributes)
    secrets = {ex.completion[s:e].strip().casefold() for ex in forget for s, e in ex.spans}
    secrets |= {v.casefold() for k, v in subject.identifiers.items() if k in chosen}
    secrets = {s for s in secrets if len(s) >= MIN_IDENTIFIER_LENGTH and s != subject.name.casefold()}
    kept: dict[tuple[str, str], TrainExample] = {}
    for finding in report.findings:
        if (finding.attribute in chosen or finding.family not in train_families or finding.decoding != "greedy"
                or finding.verdict == "none"):
            continue
        spans = _span_pairs(finding.spans)
        if not spans:
            continue
        completion = finding.completion[:max(end for _, end in spans)]
        text = f"{finding.prompt} {completion}".casefold()
        if any(secret in text for secret in secrets):
            continue
        kept.setdefault((finding.prompt, completion), TrainExample(
            prompt=finding.prompt, completion=completion, eos=False, source="retain-kept",
            meta={"attribute": finding.attribute}))
    return list(kept.values())
