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

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from workers.engine.errors import EngineError
from workers.engine.probe import attribution
from workers.engine.probe.contexts import SEED_GROUP, Context
from workers.engine.probe.mining import Miner
from workers.engine.probe.values import KnownValue, fold, merge
from workers.engine.progress import ProgressCallback, emit
from workers.engine.subject import Subject

DEFAULT_BUDGET = 480
MIN_BUDGET = 16
# A value of an attribute stated far less often than the attribute's most stated value is a slip, not a claim.
MIN_SHARE_OF_TOP = 0.2


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
           people: Sequence[dict[str, str]] | None = None, own_slots: Sequence[str] = ()) -> Elicitation:
    """Rounds of continuations within ``config.budget``: the first from the name, each identifier and each name
    slot (``slots``: the model's own formats ending with the subject's name), the next ones from the contexts the
    previous round found (and ``extra`` ones, e.g. from the training corpus, which are continued in round 2
    alongside). ``people``: who takes the subject's place in the counterfactual (``attribution.controls``).
    ``own_slots``: those of ``slots`` where the model itself wrote the subject's name (``slots.own_text_slots``). Raw
    text: no chat template, since the aim is the model's own text."""
    config = config or ElicitConfig()
    started = time.perf_counter()
    miner = Miner(loaded, subject, analyzer, config, people, own_leads=own_slots)
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
                "untyped_values": miner.untyped, "record_values": miner.in_record,
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
