"""Self-elicitation: let the model say what it knows about the subject, from their name and identifiers alone.

A model that memorised a person completes their name with its own training text about them, in whatever
phrasing that text had. So instead of guessing templates: sample many continuations of the subject's name and
of each submitted identifier (several seeds, temperatures, short and long), find the subject's values in them
(their identifiers; values Presidio types, or runs of tokens, that the model states *because of* the subject:
``attribution``), and make the text just before each value a new probe prompt (a discovered ``Context``).
Later rounds continue those contexts greedily and sampled, which finds the values that follow them, and so on,
within a budget of continuations. The result is the model's own phrasings about the subject, with no template
involved, plus the values it ties to the subject (``KnownValue``, basis ``model``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from workers.engine.errors import EngineError
from workers.engine.probe import attribution
from workers.engine.probe.contexts import SEED_GROUP, Context
from workers.engine.probe.values import KnownValue, fold, merge
from workers.engine.progress import ProgressCallback, emit
from workers.engine.subject import Subject

DEFAULT_BUDGET = 480
MIN_BUDGET = 16
MIN_SUPPORT = 2
# A value of an attribute stated far less often than the attribute's most stated value is a slip, not a claim.
MIN_SHARE_OF_TOP = 0.2
# Kinds one person has one value of, mostly: a different value marks a drift to another person.
_CONFLICT_KINDS = ("email", "phone", "iban", "national_id", "dob")
# Kinds whose value is words: one that is (or holds) the subject's name is not a value of theirs. An email may
# hold the name and still be theirs.
_NAMED_KINDS = ("employer", "address", "other")


@dataclass(frozen=True)
class ElicitConfig:
    budget: int = DEFAULT_BUDGET  # continuations generated over all rounds (``--discovery-budget``)
    rounds: int = 3
    temperatures: tuple[float, ...] = (0.7, 1.0)
    lengths: tuple[int, ...] = (24, 64)  # short and long continuations
    first_round_share: float = 0.4  # of the budget, for the name and identifiers; the rest for contexts
    context_samples: int = 2  # sampled continuations of each discovered context, besides the greedy one
    context_temperature: float = 0.8
    max_context_chars: int = 400
    strangers: int = attribution.STRANGERS
    slots: int = 24  # name slots from the model's unprompted text (``probe.slots``)
    batch_size: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        if self.budget < MIN_BUDGET:
            raise EngineError(f"the discovery budget must be at least {MIN_BUDGET} continuations")
        if self.rounds < 1 or not self.temperatures or not self.lengths or self.context_samples < 0:
            raise EngineError("elicitation needs at least one round, one temperature and one length")
        if any(not 0 < t <= 5 for t in self.temperatures) or any(n < 1 for n in self.lengths):
            raise EngineError("temperatures must be in (0, 5] and lengths positive")


@dataclass
class Generation:
    """One continuation the model wrote, and what it was asked."""

    prompt: str
    completion: str
    decoding: str  # "greedy" | "sampled"
    round: int
    group: str  # the id shared by the contexts mined from this continuation
    source: str  # "name" | an identifier key | "context"
    origin: str = "elicited"  # where its prompt came from: "elicited", or "corpus" for a corpus context

    @property
    def text(self) -> str:
        return self.prompt + self.completion


@dataclass
class Elicitation:
    generations: list[Generation]
    contexts: list[Context]
    values: list[KnownValue]  # basis "model": what the model ties to the subject (submitted ones not included)
    coverage: dict[str, Any] = field(default_factory=dict)


_WORD_START = re.compile(r"\s\S")


def context_prompt(text: str, start: int, anchors: Sequence[attribution.Anchor], *, max_chars: int) -> str | None:
    """The text before ``start`` as a probe prompt: without trailing space (tokenizers attach it to the next
    word), at most ``max_chars`` cut at a word start, yet always holding an anchor of the subject (a prompt that
    names nobody proves nothing). None when no anchor precedes ``start``."""
    head = text[:start].rstrip()
    before = [a for a in anchors if a.end <= len(head)]
    if not before or not head:
        return None
    cut = max(0, len(head) - max_chars)
    if cut:
        match = _WORD_START.search(head, cut)
        cut = match.start() + 1 if match else cut
    cut = min(cut, before[-1].start)
    return head[cut:]


def guess_attribute(piece: str) -> str:
    """An attribute for a subject-dependent value no recognizer typed (``other`` when nothing fits)."""
    from workers.engine.attributes import normalise_date

    digits = sum(ch.isdigit() for ch in piece)
    if "@" in piece:
        return "email"
    groups = re.findall(r"\d+", piece)
    if (len(groups) >= 2 or re.search(r"[^\W\d_]{3,}", piece)) and re.fullmatch(r"\d{4}-\d{2}-\d{2}",
                                                                              normalise_date(piece)):
        return "dob"
    if digits >= 7 and digits >= 0.6 * len(re.sub(r"\s", "", piece)):
        return "phone"
    if digits and any(ch.isalpha() for ch in piece) and " " in piece:
        return "address"
    return "other"


def _conflict_at(spans: Sequence[Any], known: dict[str, list[str]], begin: int) -> int | None:
    """Where a continuation stops being about the subject: the first identifier of a kind the subject has a
    value for that is not that value (sampling slipped into someone else's record: "Phone: (351) 517-..." after
    the subject's email). Nothing after it is the subject's."""
    from workers.engine.attributes import ATTRIBUTES, values_match

    for span in sorted(spans, key=lambda s: s.start):
        key = span.attribute
        if span.start < begin or span.entity_type.startswith("SUBJECT_") or key not in known \
                or key not in ATTRIBUTES:
            continue
        if not any(values_match(ATTRIBUTES[key], span.text, value) for value in known[key]):
            return span.start
    return None


class _Miner:
    """Finds the subject's values in continuations and turns each into a context."""

    def __init__(self, loaded: Any, subject: Subject, analyzer: Any, config: ElicitConfig,
                 people: Sequence[dict[str, str]] | None = None) -> None:
        self.loaded, self.subject, self.analyzer, self.config = loaded, subject, analyzer, config
        self.people = people
        self.values: list[KnownValue] = []
        self.contexts: dict[str, Context] = {}
        self.context_values: dict[str, tuple[str, str, str]] = {}  # prompt -> (attribute, folded value, basis)
        self.attributed = 0
        self.untyped = 0
        self.corrected = 0  # contexts made by putting the subject's identifier where the model wrote another's
        self.seen: dict[tuple[str, str], list[str]] = {}  # (attribute, folded value) -> decodings it came from
        # Identifier kinds whose value is known (the subject's, then the model's greedy claims): a different value
        # of such a kind marks where a continuation drifted to someone else (``_conflict_at``).
        self.known: dict[str, list[str]] = {k: [v] for k, v in subject.identifiers.items() if k in _CONFLICT_KINDS}

    def supported(self, value: KnownValue) -> bool:
        """A value stated in two continuations, or in a greedy one: the model's own claim, not a sampling slip."""
        decodings = self.seen.get((value.attribute, fold(value.value)), [])
        return len(decodings) >= MIN_SUPPORT or "greedy" in decodings

    def mine(self, generations: Sequence[Generation]) -> list[Context]:
        """New contexts from ``generations`` (already known prompts are skipped); values go to ``self.values``."""
        from workers.engine.pii import find_pii

        texts = [g.text for g in generations]
        anchors = [attribution.find_anchors(t, self.subject) for t in texts]
        scores = attribution.dependence(self.loaded, texts, anchors, count=self.config.strangers,
                                        seed=self.config.seed, people=self.people)
        spans_of: list[list[Any]] = []
        stops: list[int | None] = []
        hits_of: list[list[tuple[int, int, str, str]]] = []
        for gen, text, found, tokens in zip(generations, texts, anchors, scores, strict=True):
            begin = len(gen.prompt)
            spans = [s for s in find_pii(self.analyzer, text) if s.end > begin]
            stop = _conflict_at(spans, self.known, begin)
            spans_of.append(spans)
            stops.append(stop)
            hits_of.append(self._hits(text, begin, found, tokens, spans, stop, found))
        self._chained(generations, texts, anchors, spans_of, stops, hits_of)
        fresh: list[Context] = []
        for gen, text, found, spans, stop, hits in zip(generations, texts, anchors, spans_of, stops, hits_of,
                                                       strict=True):
            named_in_prompt = any(x.kind == "name" and x.end <= len(gen.prompt) for x in found)
            for start, end, key, basis in hits:
                if key == "name" and named_in_prompt:
                    continue  # the name again after the name: no identifier -> name evidence
                if basis == "submitted":  # counted, so that another value of that kind must compete with it
                    self.seen.setdefault((key, "\0submitted"), []).append(gen.decoding)
                if basis == "model":
                    self.attributed += 1
                    self.seen.setdefault((key, fold(text[start:end])), []).append(gen.decoding)
                    self.values.append(KnownValue(key, text[start:end], "model"))
                prompt = context_prompt(text, start, found, max_chars=self.config.max_context_chars)
                if prompt is None or prompt in self.contexts:
                    continue
                context = Context(prompt=prompt, origin=gen.origin, attribute=key, group=gen.group,
                                  round=gen.round + 1, value=text[len(text[:start].rstrip()):end])
                self.contexts[prompt] = context
                self.context_values[prompt] = (key, fold(text[start:end]), basis)
                fresh.append(context)
            corrected = self._corrected(gen, text, found, spans, stop)
            if corrected is not None:
                fresh.append(corrected)
        self._learn_kinds()
        return fresh

    def _hits(self, text: str, begin: int, found: Sequence[attribution.Anchor], tokens: Sequence[Any],
              spans: Sequence[Any], stop: int | None, own: Sequence[attribution.Anchor]
              ) -> list[tuple[int, int, str, str]]:
        """(start, end, attribute, basis) of the subject's values in ``text``: their identifiers (``submitted``)
        and the values the model states because of them (``model``), up to where it drifted (``stop``).
        ``found``: what the counterfactual swapped; ``own``: the subject's name and identifiers in the text."""
        hits: list[tuple[int, int, str, str]] = []
        for span in spans:
            key = span.attribute
            if key is None or (stop is not None and span.start >= stop):
                continue
            if span.entity_type.startswith("SUBJECT_"):
                hits.append((span.start, span.end, "name" if key == "name" else key, "submitted"))
                continue
            if key in _NAMED_KINDS and any(x.start < span.end and span.start < x.end for x in own):
                continue  # "Chang Group": a value built on the subject's own name says nothing new
            score = attribution.span_score(tokens, span.start, span.end)
            if score is not None and score.attributed:
                hits.append((span.start, span.end, key, "model"))
        typed = [(a, b) for a, b, _, _ in hits]
        for a, b in attribution.dependent_runs(text, tokens, begin=begin):
            if stop is not None and a >= stop:
                break
            if not any(a < e and s < b for s, e in typed) and not any(x.start < b and a < x.end for x in found):
                key = guess_attribute(text[a:b])
                if self._conflicts(key, text[a:b]):  # an untyped "347 4223053" where the phone is known
                    stop = a
                    break
                hits.append((a, b, key, "model"))
                self.untyped += 1
        return [h for h in hits if stop is None or h[0] < stop]

    def _conflicts(self, key: str, piece: str) -> bool:
        from workers.engine.attributes import ATTRIBUTES, values_match

        return key in self.known and key in ATTRIBUTES and not any(
            values_match(ATTRIBUTES[key], piece, value) for value in self.known[key])

    def _chained(self, generations: Sequence[Generation], texts: list[str],
                 anchors: list[list[attribution.Anchor]], spans_of: list[list[Any]], stops: list[int | None],
                 hits_of: list[list[tuple[int, int, str, str]]]) -> None:
        """Values that follow from a value the model already tied to the subject in the same text. The
        counterfactual keeps that value ("Employer: Börner & Weiß ... Date of birth:"), and from it the model
        writes the birth date for anyone put in the subject's place, so the date seems nobody's. Swapped out as
        well, it shows whose the date is. One more scoring pass, only for texts with such a value and something
        typed after it that is not yet tied to anyone."""
        todo = []
        for i, (hits, spans) in enumerate(zip(hits_of, spans_of, strict=True)):
            tied = [(a, b) for a, b, _, basis in hits if basis == "model"]
            taken = {(a, b) for a, b, _, _ in hits}
            stop = stops[i] if stops[i] is not None else len(texts[i])
            if tied and any(s.attribute and min(a for a, _ in tied) <= s.start < stop
                            and (s.start, s.end) not in taken for s in spans):
                todo.append(i)
        if not todo:
            return
        wider = [sorted([*anchors[i], *(attribution.Anchor(a, b, key) for a, b, key, basis in hits_of[i]
                                       if basis == "model" and not any(x.start < b and a < x.end
                                                                       for x in anchors[i]))],
                        key=lambda x: (x.start, -x.end)) for i in todo]
        rescored = attribution.dependence(self.loaded, [texts[i] for i in todo], wider,
                                          count=self.config.strangers, seed=self.config.seed, people=self.people)
        for i, found, tokens in zip(todo, wider, rescored, strict=True):
            more = self._hits(texts[i], len(generations[i].prompt), found, tokens, spans_of[i], stops[i],
                              anchors[i])
            taken = [(a, b) for a, b, _, _ in hits_of[i]]
            hits_of[i] += [h for h in more if not any(h[0] < e and s < h[1] for s, e in taken)]
            hits_of[i].sort()

    def _corrected(self, gen: Generation, text: str, found: Sequence[attribution.Anchor], spans: Sequence[Any],
                   stop: int | None) -> Context | None:
        """Where the model wrote someone else's identifier in the subject's record ("Contact sheet: <subject>
        - e-mail: <another's email>"), the same text with the subject's own one put there: a prompt in the model's
        own format that holds what its training text held before the next value. Continued next round."""
        if stop is None:
            return None
        conflict = next((s for s in spans if s.start == stop and self.known.get(s.attribute)), None)
        if conflict is None or not any(x.kind == "name" and x.end <= stop for x in found):
            return None
        value = self.known[conflict.attribute][0]  # the subject's own, else the model's greedy claim
        prompt = context_prompt(text[:stop] + value, stop + len(value), found, max_chars=self.config.max_context_chars)
        if prompt is None or prompt in self.contexts:
            return None
        context = Context(prompt=prompt, origin=gen.origin, attribute=None, group=gen.group, round=gen.round + 1)
        self.contexts[prompt] = context
        self.corrected += 1
        return context

    def _learn_kinds(self) -> None:
        """The model's greedy claims about the subject join the conflict check for the next rounds."""
        for (key, folded), decodings in self.seen.items():
            if key in _CONFLICT_KINDS and key not in self.known and "greedy" in decodings:
                self.known[key] = [v.value for v in self.values if v.attribute == key and fold(v.value) == folded][:1]


def _seeds(subject: Subject, slots: Sequence[str] = ()) -> list[tuple[str, str]]:
    seeds = [("name", subject.name)]
    seeds += [(key, value) for key, value in subject.identifiers.items() if len(value) >= 4]
    seeds += [(f"slot{i}", slot) for i, slot in enumerate(slots)]
    return seeds


def _first_round(loaded: Any, subject: Subject, config: ElicitConfig, progress: ProgressCallback | None,
                 slots: Sequence[str] = ()) -> list[Generation]:
    from workers.engine.probe.runner import continue_texts

    seeds = _seeds(subject, slots)
    budget = max(2 * len(seeds), int(config.budget * config.first_round_share))
    per_seed = max(2, budget // len(seeds))
    texts = [text for _, text in seeds]
    # One greedy continuation per seed, long: a short greedy one would be its prefix.
    generations = [Generation(text, outs[0], "greedy", 1, f"{source}/greedy", source) for (source, text), outs in
                   zip(seeds, continue_texts(loaded, texts, max_new_tokens=max(config.lengths),
                                             batch_size=config.batch_size), strict=True)]
    sampled = per_seed - 1
    runs = [(t, n) for t in config.temperatures for n in config.lengths]
    for index, (temperature, length) in enumerate(runs):
        count = sampled // len(runs) + (1 if index < sampled % len(runs) else 0)
        if count < 1:
            continue
        outs = continue_texts(loaded, texts, samples=count, temperature=temperature, max_new_tokens=length,
                              batch_size=config.batch_size, seed=config.seed + 101 * (index + 1),
                              progress=progress, stage="elicit.generate")
        for (source, text), completions in zip(seeds, outs, strict=True):
            generations += [Generation(text, c, "sampled", 1, f"{source}/t{temperature}/n{length}/{k}", source)
                            for k, c in enumerate(completions)]
    return generations


def _context_round(loaded: Any, contexts: Sequence[Context], number: int, config: ElicitConfig,
                   progress: ProgressCallback | None) -> list[Generation]:
    from workers.engine.probe.runner import continue_texts

    prompts = [c.prompt for c in contexts]
    length = max(config.lengths)
    out: list[Generation] = []
    for c, outs in zip(contexts, continue_texts(loaded, prompts, max_new_tokens=length,
                                                batch_size=config.batch_size), strict=True):
        out.append(Generation(c.prompt, outs[0], "greedy", number, c.group, "context", c.origin))
    if config.context_samples:
        sampled = continue_texts(loaded, prompts, samples=config.context_samples,
                                 temperature=config.context_temperature, max_new_tokens=length,
                                 batch_size=config.batch_size, seed=config.seed + 7919 * number, progress=progress,
                                 stage="elicit.generate")
        for c, completions in zip(contexts, sampled, strict=True):
            out += [Generation(c.prompt, x, "sampled", number, c.group, "context", c.origin) for x in completions]
    return out


def elicit(loaded: Any, subject: Subject, *, analyzer: Any, config: ElicitConfig | None = None,
           extra: Sequence[Context] = (), progress: ProgressCallback | None = None, slots: Sequence[str] = (),
           people: Sequence[dict[str, str]] | None = None) -> Elicitation:
    """Rounds of continuations within ``config.budget``: the first from the name, each identifier and each name
    slot (``slots``: the model's own formats ending with the subject's name), the next ones from the contexts the
    previous round found (and ``extra`` ones, e.g. from the training corpus, which are continued in round 2
    alongside). ``people``: who takes the subject's place in the counterfactual (``attribution.controls``). Raw
    text: no chat template, since the aim is the model's own text."""
    config = config or ElicitConfig()
    started = time.perf_counter()
    miner = _Miner(loaded, subject, analyzer, config, people)
    emit(progress, stage="elicit", step=1, total=config.rounds, message="continuing the name and identifiers")
    generations = _first_round(loaded, subject, config, progress, slots)
    # Greedy first: its claims join the drift check (``_conflict_at``) before the sampled continuations are mined.
    frontier = miner.mine([g for g in generations if g.decoding == "greedy"])
    frontier += miner.mine([g for g in generations if g.decoding != "greedy"])
    for source, text in _seeds(subject, slots):  # the seeds themselves: prompts re-asked after unlearning
        # Always trained on, slots included: a format whose lead is held out is a format unlearning never sees,
        # and on the foreign model FPGA's check then passed at step 65 with the person's list and table rows
        # still leaking (37.5% and 50%, judged). What the seeds lead to is split, so every format is still
        # verified on contexts training never saw.
        miner.contexts.setdefault(text, Context(prompt=text, origin="elicited", attribute=None,
                                                group=f"{SEED_GROUP}{source}", round=1))
    for context in extra:
        miner.contexts.setdefault(context.prompt, context)
    frontier = [*extra, *frontier]
    rounds, stopped = 1, "rounds"
    per_context = 1 + config.context_samples
    for number in range(2, config.rounds + 1):
        room = (config.budget - len(generations)) // per_context
        if not frontier:
            stopped = "no new contexts"
            break
        if room < 1:
            stopped = "budget"
            break
        emit(progress, stage="elicit", step=number, total=config.rounds,
             message=f"continuing {min(room, len(frontier))} discovered contexts")
        batch, frontier = frontier[:room], frontier[room:]
        produced = _context_round(loaded, batch, number, config, progress)
        generations += produced
        frontier = miner.mine(produced) + frontier
        rounds = number
    submitted = {k[0]: len(d) for k, d in miner.seen.items() if k[1] == "\0submitted"}
    values = _claims([v for v in merge(miner.values) if miner.supported(v)], subject, submitted)
    kept = {(v.attribute, fold(v.value)) for v in values}
    # A context stays only if what followed it is the subject's: a submitted identifier, their name, or a value
    # that passed the support filters (one that did not was explored, but is someone else's or a slip).
    contexts = [c for p, c in miner.contexts.items() if p not in miner.context_values
                or miner.context_values[p][2] == "submitted" or miner.context_values[p][:2] in kept]
    coverage = {"seeds": len(_seeds(subject, slots)), "name_slots": len(slots), "rounds": rounds, "generations": len(generations),
                "budget": config.budget, "stopped": stopped, "contexts": len(contexts),
                "contexts_dropped": len(miner.contexts) - len(contexts),
                "contexts_not_continued": len(frontier), "attributed_values": miner.attributed,
                "untyped_values": miner.untyped,
                "corrected_contexts": miner.corrected, "seconds": round(time.perf_counter() - started, 3)}
    return Elicitation(generations=generations, contexts=contexts, values=values, coverage=coverage)


def _claims(values: list[KnownValue], subject: Subject, submitted: dict[str, int] | None = None
            ) -> list[KnownValue]:
    """The model's values about the subject: well supported relative to their attribute's most stated value (the
    subject's own, for a kind they submitted: ``submitted`` counts how often it was stated), and not one the
    subject submitted (those are known already)."""
    top: dict[str, int] = dict(submitted or {})
    for v in values:
        top[v.attribute] = max(top.get(v.attribute, 0), v.support)
    return [v for v in values if v.support >= MIN_SHARE_OF_TOP * top.get(v.attribute, 0)
            and not _is_submitted(v, subject)]


def _is_submitted(value: KnownValue, subject: Subject) -> bool:
    if value.attribute == "name":
        return fold(value.value) == fold(subject.name)
    given = subject.identifiers.get(value.attribute)
    return given is not None and fold(given) == fold(value.value)
