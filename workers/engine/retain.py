"""Retain data: what the model must keep knowing. A user's JSONL file, or generated from the model itself.

Generation needs nothing from the user: the model's own samples from generic openings (its natural
distribution, with the other people it knows), plus its greedy answers to attribute questions about
people whose names appear in those samples (or, failing that, Faker names). Anything that mentions the
subject is dropped, so retain training can never teach the forgotten data back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workers.engine.attributes import ASKABLE, ATTRIBUTES
from workers.engine.errors import EngineError
from workers.engine.methods.batching import TrainExample
from workers.engine.subject import Subject

GENERIC_OPENINGS = ("The", "A", "Q: What is the", "Name:", "One", "Every", "In the", "You can reach")
# The probe families unlearning trains on that ask for an attribute (forget_set.DEFAULT_TRAIN_FAMILIES less
# ``lookup``, which asks identifier -> name and needs a value): retain answers are asked the same way.
RETAIN_FAMILIES: tuple[str, ...] = ("direct", "question")


def load_retain_file(path: str | Path) -> list[TrainExample]:
    """``{"text": ...}`` or ``{"prompt": ..., "completion": ...}`` per line."""
    file = Path(path)
    if not file.is_file():
        raise EngineError(f"retain file not found: {file}")
    examples: list[TrainExample] = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EngineError(f"retain file line {number} is not valid JSON ({exc.msg}): {file}") from None
        if isinstance(row, dict) and isinstance(row.get("text"), str) and row["text"].strip():
            examples.append(TrainExample(prompt="", completion=row["text"].strip(), eos=True, source="retain-file"))
        elif (isinstance(row, dict) and isinstance(row.get("prompt"), str) and isinstance(row.get("completion"), str)
              and row["completion"].strip()):
            examples.append(TrainExample(prompt=row["prompt"], completion=row["completion"], eos=True,
                                         source="retain-file"))
        else:
            raise EngineError(f"retain file line {number} needs a 'text' or 'prompt' + 'completion' string: {file}")
    if not examples:
        raise EngineError(f"retain file has no examples: {file}")
    return examples


def mentions_subject(text: str, subject: Subject) -> bool:
    low = text.casefold()
    if subject.name.casefold() in low:
        return True
    parts = [p for p in subject.name.casefold().split() if len(p) >= 3]
    if len(parts) >= 2 and parts[-1] in low:  # the surname alone is enough to point at them
        return True
    return any(len(v) >= 4 and v.casefold() in low for v in subject.identifiers.values())


def _sample(loaded: Any, prompts: list[str], *, max_new_tokens: int, seed: int) -> list[str]:
    from workers.engine.probe.runner import continue_texts

    outs = continue_texts(loaded, prompts, samples=1, temperature=1.0, top_p=0.95, max_new_tokens=max_new_tokens,
                          batch_size=max(1, len(prompts)), seed=seed)
    return [o[0] for o in outs]


def _opening_samples(loaded: Any, count: int, *, max_new_tokens: int, seed: int) -> list[tuple[str, str]]:
    """(opening, continuation): the model's own text after ``count`` generic openings, in turn."""
    from workers.engine.modelio import format_prompt

    openings = [GENERIC_OPENINGS[i % len(GENERIC_OPENINGS)] for i in range(count)]
    continuations = _sample(loaded, [format_prompt(loaded.tokenizer, o) for o in openings],
                            max_new_tokens=max_new_tokens, seed=seed)
    return list(zip(openings, continuations, strict=True))


def perplexity_texts(loaded: Any, subjects: list[Subject], *, count: int = 64, seed: int = 0,
                     max_new_tokens: int = 48) -> list[str]:
    """Texts the model writes itself, never trained on, for perplexity when no held-out text is given.

    Samples at temperature 1 (the retain samples' decoding, another seed), so the base model's perplexity on them
    is near its own entropy and a change of the model raises it: stricter than natural text, never kinder. Why this
    many: every fifth of the 48 retain samples (about ten texts of 32 tokens) swung by 5 points between runs on the
    foreign model, where the judge's natural held-out text moved 1.5."""
    texts = [(o + c).strip() for o, c in _opening_samples(loaded, count, max_new_tokens=max_new_tokens,
                                                          seed=seed + 101)]
    return [t for t in texts if len(t) > len("The ") and not any(mentions_subject(t, s) for s in subjects)]


def other_people(texts: list[str], subject: Subject, *, limit: int, seed: int) -> list[str]:
    """Names in the model's own samples (never the subject); Faker fills up if the model names too few."""
    from workers.engine.probe.slots import people_in

    names = [n for n in people_in(texts, [subject], limit=limit) if not mentions_subject(n, subject)]
    if len(names) < limit:
        from faker import Faker

        faker = Faker("en_US")
        faker.seed_instance(seed)
        while len(names) < limit:
            name = faker.name()
            if not mentions_subject(name, subject) and name not in names:
                names.append(name)
    return names[:limit]


def attribute_prompts(name: str, *, families: tuple[str, ...] = RETAIN_FAMILIES,
                      attributes: tuple[str, ...] | None = None) -> list[str]:
    """Questions about ``name`` in the probe families the forget set trains on.

    The forget set is built from these families' prompts about the subject, so what unlearning disturbs
    first is the model's answers to the *same* prompts about other people; anchoring exactly those keeps
    the damage off them (a retain set focused on the forgotten attribute types and phrasings).
    """
    from workers.engine.probe.families import PROMPT_FAMILIES

    keys = [k for k in (attributes or ASKABLE) if k != "national_id" and k in ASKABLE]
    prompts: list[str] = []
    for key in keys:
        attr = ATTRIBUTES[key]
        for family in families:
            for _, template in PROMPT_FAMILIES[family].templates:
                prompts.append(template.format(name=name, noun=attr.phrases[0], noun2=attr.phrases[1]))
    return list(dict.fromkeys(prompts))


def generate_retain(loaded: Any, subject: Subject, *, samples: int = 48, people: int = 12, seed: int = 0,
                    max_new_tokens: int = 32) -> list[TrainExample]:
    """Retain examples from the model itself: its samples and its answers about other people."""
    from workers.engine.demo.recall import greedy_complete
    from workers.engine.modelio import format_prompt

    sampled = _opening_samples(loaded, samples, max_new_tokens=max_new_tokens, seed=seed)
    continuations = [c for _, c in sampled]
    examples = [TrainExample(prompt="", completion=(o + c).strip(), source="retain-sample")
                for o, c in sampled if c.strip() and not mentions_subject(o + c, subject)]
    keys = [k for k in ASKABLE if k != "national_id"]
    asked = [(name, key, p) for name in other_people(continuations, subject, limit=people, seed=seed)
             for key in keys for p in attribute_prompts(name, attributes=(key,))]
    prompts = [p for _, _, p in asked]
    answers = greedy_complete(loaded.model, loaded.tokenizer, [format_prompt(loaded.tokenizer, p) for p in prompts],
                              max_new_tokens=max_new_tokens // 2)
    # ``person`` groups the answers by whom they are about (methods/format_tokens.py counts people, not answers);
    # ``attribute`` lets ReLearn's context variants pick other people's facts of another kind.
    examples += [TrainExample(prompt=p, completion=a, source="retain-answer", meta={"person": name, "attribute": key})
                 for (name, key, p), a in zip(asked, answers, strict=True)
                 if a.strip() and not mentions_subject(a, subject)]
    if not examples:
        raise EngineError("could not generate retain data from the model; pass --retain FILE.jsonl")
    return examples
