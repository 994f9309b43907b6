"""Other people the model knows, in its own words: the retain data and the utility measure of a model with no roster.

Unlearning must leave everyone else's data where it was, and a user's model comes with no list of who it knows.
So ask the model: sample text from it with no prompt (the start of a training document), take the names in
it, continue each name as discovery continues the subject's (``probe.elicit``: values the model states because
of that person), and keep each (text before the value, value) that the model's greedy decoding reproduces: a fact
it has memorised about someone else, in the phrasing it was trained on. Facts of one share of these people anchor
training (retain data); the other share is never trained on and measures what unlearning kept (``accuracy``), the
way an auditor with the real training data would: does the model still complete its own training text with
the right value. Facts asked in a subject's own formats are retain data only: measured, they made the estimate
fall 2.7-8.6 points below the judge's on the foreign model, since they sit where forgetting pulls hardest.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workers.engine.probe import attribution
from workers.engine.probe.names import Mention, NameFinder, is_named, mentions, name_key, written_like
from workers.engine.probe.slots import model_texts, people_in, record_walk
from workers.engine.probe.values import ValueMatcher, fold, submitted_values
from workers.engine.subject import Subject

UTILITY_SHARE = 2  # one in two people the facts come from is held out of training and measures utility
# A fact counts as memorised when every token of its value is this likely given its prompt (p >= 0.8). One the
# model reproduces at the edge of a tie flips at the least change of the weights and says nothing about what it
# knows: on the foreign model (fpga, one person), all 49 held-out facts said 0.837 of them were kept while the
# judge, on the model's training text, measured 0.954; the 27 with p >= 0.8 said 0.963.
MEMORISED_LOGP = -0.22


@dataclass(frozen=True)
class Fact:
    person: str
    attribute: str
    prompt: str  # the model's own text before the value (raw: no chat template)
    value: str  # what follows it: the gap and the value, as the model writes it
    confidence: float = 0.0  # the least log-probability of the value's tokens given the prompt, before unlearning
    # Asked in a subject's format (``formats``), not found in the others' own text: such facts anchor training but
    # never measure it, since they over-sample where forgetting the subject pulls hardest.
    in_subject_format: bool = False

    @property
    def memorised(self) -> bool:
        return self.confidence >= MEMORISED_LOGP

    @property
    def side(self) -> str:
        """"utility" (never trained on: measures what is kept) or "retain" (anchors training), by person."""
        if self.in_subject_format:
            return "retain"
        return "utility" if zlib.crc32(self.person.encode("utf-8")) % UTILITY_SHARE == 0 else "retain"


# The subjects' own formats asked of this many of the others, so both sides of the split get some. 12 people x 16
# formats left ReLearn at 0.913 of others' facts kept (judge, foreign model, dev half); 16 x 32: 0.972, FPGA 0.977.
FORMAT_PEOPLE = 16
MAX_FORMATS = 32


def discover_facts(loaded: Any, exclude: Sequence[Subject], *, people: int = 48, samples: int = 192,
                   per_person: int = 4, seed: int = 0, formats: Sequence[tuple[str, Mention | None]] = (),
                   ) -> tuple[list[Fact], list[str], dict[str, Any]]:
    """Memorised facts about up to ``people`` others (never anyone in ``exclude``), the model's unprompted samples
    (generic text for retain data), and counts of what was done.

    ``formats``: the text before a subject's name in the contexts discovery found about them (``subject_formats``),
    asked with other people's names in its place. Forgetting a value after "Contact sheet: <subject>\n- e-mail:"
    also pulls the others' values after the same lead-in, which facts from elsewhere neither anchor nor see (the
    foreign model, fpga: the judge measured 0.897 of others' facts kept, mostly in the subject's list and table
    formats, while facts from the others' own contexts said 0.970). Each lead-in comes with how the subject's name
    was written after it (a ``names.Mention``: "Berg, Jan", "BERG Jan"; None: as given), and another's name is
    written the same way there."""
    from workers.engine.pii import build_analyzer
    from workers.engine.probe.elicit import ElicitConfig, Generation
    from workers.engine.probe.mining import Miner
    from workers.engine.probe.runner import continue_texts

    started = time.perf_counter()
    texts = model_texts(loaded, samples=samples, seed=seed)
    names = people_in(texts, exclude, limit=people)
    # Their records as the model writes them after the records before (a table's next row): the formats in which
    # forgetting a subject's row pulled the others' rows with it (ReLearn on the foreign model: 43 of the 92
    # facts of others it lost were table rows) and which the others' own names alone never lead to.
    walked = [lead + more for lead, more in record_walk(loaded, texts, seed=seed)]
    analyzer = build_analyzer()
    config = ElicitConfig(seed=seed)
    greedy = continue_texts(loaded, names, max_new_tokens=64)
    sampled = continue_texts(loaded, names, samples=per_person, temperature=0.7, max_new_tokens=64, seed=seed + 29)
    formats = list(dict.fromkeys(formats))[:MAX_FORMATS]
    asked = [(name, lead + (written_like(name, style) if style else name))
             for name in names[:FORMAT_PEOPLE] for lead, style in formats]
    finder = NameFinder.learn(texts, known=names)
    documents = [(text, finder.mentions(text)) for text in [*texts, *walked]]
    in_format: dict[str, list[tuple[str, str]]] = {}
    for (name, prompt), out in zip(asked, continue_texts(loaded, [p for _, p in asked], max_new_tokens=48),
                                   strict=True):
        in_format.setdefault(name, []).append((prompt, out[0]))
    facts: list[Fact] = []
    for name, first, more in zip(names, greedy, sampled, strict=True):
        people_like = attribution.controls([n for n in names if n != name], count=config.strangers, seed=seed)
        miner = Miner(loaded, Subject(name=name), analyzer, config, people_like)
        gens = [Generation(name, c, d, 1, f"{name}/{i}", "name")
                for i, (c, d) in enumerate([(first[0], "greedy"), *((c, "sampled") for c in more)])]
        # The model's own documents that name them: its training text about them, as it remembers it.
        key = name_key(name)
        for i, (text, mentions) in enumerate(documents):
            hit = next((m for m in mentions if m.key == key), None)  # in any form: "Bell, Ann", "BELL Ann"
            if hit is not None:
                gens.append(Generation(text[:hit.end], text[hit.end:], "sampled", 1, f"{name}/doc{i}", "name"))
        gens += [Generation(prompt, out, "greedy", 1, f"{name}/format{i}", "name")
                 for i, (prompt, out) in enumerate(in_format.get(name, []))]
        miner.mine(gens)
        for prompt, (attribute, _, basis) in miner.context_values.items():
            context = miner.contexts[prompt]
            if basis == "model" and attribute not in ("name", "other") and context.value:
                facts.append(Fact(person=name, attribute=attribute, prompt=prompt, value=context.value,
                                  in_subject_format="/format" in context.group))
    facts = _memorised(loaded, list({(f.prompt, f.value): f for f in facts}.values()))
    coverage = {"samples": len(texts), "walked": len(walked), "names": len(names), "facts": len(facts),
                "formats": len(formats),
                "people": len({f.person for f in facts}), "seconds": round(time.perf_counter() - started, 3)}
    return facts, [t for t in texts if t.strip()], coverage


def _memorised(loaded: Any, facts: list[Fact]) -> list[Fact]:
    """The facts the model's greedy decoding reproduces from their prompt (what it knows, not what it sampled),
    each with how sure the model is of its value (``Fact.confidence``)."""
    from dataclasses import replace

    from workers.engine.probe.attribution import token_logprobs

    kept = [f for f, ok in zip(facts, reproduced(loaded, facts), strict=True) if ok]
    scores = token_logprobs(loaded, [f.prompt + f.value for f in kept])
    out = []
    for fact, tokens in zip(kept, scores, strict=True):
        begin = len(fact.prompt) + len(fact.value) - len(fact.value.lstrip())
        inside = [lp for a, b, lp in tokens if b > begin]
        out.append(replace(fact, confidence=min(inside) if inside else float("-inf")))
    return out


def reproduced(loaded: Any, facts: Sequence[Fact]) -> list[bool]:
    """Whether greedy decoding from each fact's prompt produces its value (normalised, within the first tokens)."""
    from workers.engine.probe.runner import continue_texts

    if not facts:
        return []
    outs = continue_texts(loaded, [f.prompt for f in facts], max_new_tokens=24)
    hits = []
    for fact, out in zip(facts, outs, strict=True):
        value = fact.value.strip()
        hits.append(fold(out[0]).startswith(fold(value)) if fold(value) else False)
    return hits


def accuracy(loaded: Any, facts: Sequence[Fact]) -> dict[str, Any]:
    """Share of the held-out facts the model still reproduces (each was reproduced before unlearning)."""
    hits = reproduced(loaded, facts)
    per: dict[str, list[bool]] = {}
    for fact, hit in zip(facts, hits, strict=True):
        per.setdefault(fact.attribute, []).append(hit)
    return {"kind": "memorised_facts_of_others", "accuracy": sum(hits) / len(hits) if hits else float("nan"),
            "per_attribute": {k: sum(v) / len(v) for k, v in per.items()}, "n": len(hits),
            "people": len({f.person for f in facts})}


def subject_formats(contexts: Sequence[Any], subject: Subject) -> list[tuple[str, Mention | None]]:
    """The text before the subject's name in each discovered context (``probe.contexts.Context``) that has it, the
    ones that led to a value first, with how the name was written there (None: as the request gives it): how the
    model's documents introduce a person, ready for another's name in the same form."""
    ranked = sorted(contexts, key=lambda c: c.attribute in (None, "name", "other"))
    found: dict[str, Mention | None] = {}
    for context in ranked:
        named = [m for m in mentions(context.prompt) if is_named(m, subject.name)]
        if named:
            found.setdefault(context.prompt[:named[-1].start], named[-1])
        elif (at := context.prompt.rfind(subject.name)) >= 0:
            found.setdefault(context.prompt[:at], None)
    return list(found.items())


def without_subjects(facts: Sequence[Fact], subjects: Sequence[Subject]) -> list[Fact]:
    """Facts that name or quote none of ``subjects`` (a fact about someone else may still mention the subject)."""
    from workers.engine.retain import mentions_subject

    matchers = [ValueMatcher(submitted_values(s.name, s.identifiers)) for s in subjects]
    return [f for f in facts if not any(mentions_subject(f.prompt + f.value, s) for s in subjects)
            and not any(m.find(f.prompt + f.value) for m in matchers)]
