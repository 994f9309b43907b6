"""What the stages of an unlearning run share: its settings (``UnlearnConfig`` and the probe settings derived from
them), each subject's ``Part``, the run's data, the training's and the verification's results, and the result
the caller gets. The stages (``subjects``, ``data``, ``training``, ``evidence``, ``files``) import this and never
each other; ``pipeline`` calls them in order."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workers.engine import others, verify
from workers.engine.errors import EngineError
from workers.engine.forget_set import DEFAULT_TRAIN_FAMILIES
from workers.engine.methods import METHODS, loop
from workers.engine.methods.batching import TrainExample
from workers.engine.subject import Subject
from workers.engine.verify import Bounds

INITS = ("default", "fila")


@dataclass
class UnlearnConfig:
    method: str = "fpga"
    lora: bool = True
    rank: int = 4
    alpha: int = 8
    lr: float | None = None  # None: the method's tuned default
    max_steps: int = 150
    eval_every: int = 5
    min_steps: int = 0
    margin_steps: int = 15  # extra steps once the early-stop check passes
    check_seed_offset: int = 1000  # the check samples with other seeds than the final verification
    check_samples: int = 8  # sampled answers per prompt at the early-stop check (the verification draws 3)
    forget_batch_size: int = 16
    retain_batch_size: int = 16
    seed: int = 0
    confirmed_only: bool = False
    init: str = "default"
    train_families: tuple[str, ...] = DEFAULT_TRAIN_FAMILIES
    params: dict[str, float] = field(default_factory=dict)  # method-specific, over the method's defaults
    retain_samples: int = 48
    retain_people: int = 12
    perplexity_samples: int = 64  # without held-out text: how many of the model's own texts measure it
    bounds: Bounds = field(default_factory=Bounds)
    ner: bool = False
    # The officer's choice of what to forget (attribute keys, e.g. ("email", "iban")): forgotten attributes,
    # forget set and verdict are restricted to them. None keeps the default: every confirmed leak, plus the
    # candidate leaks unless ``confirmed_only``. ``attributes`` applies to every subject of a batch;
    # ``attributes_per_subject`` (one entry per subject, in batch order) overrides it per subject, an entry
    # of None falling back to ``attributes``.
    attributes: tuple[str, ...] | None = None
    attributes_per_subject: tuple[tuple[str, ...] | None, ...] | None = None
    # Discovery when no report is given (``probe.discovery``): the self-elicitation budget in continuations
    # (0: templates only) and the model's training corpus, when known.
    discovery_budget: int = 480
    corpus: str | None = None
    # Attack checks run on the saved model after verification (``workers.engine.attacks``); the ones in
    # ``gating_attacks`` fail the verdict when they get a forgotten detail back, the others only report.
    attacks: tuple[str, ...] = ()
    gating_attacks: tuple[str, ...] = ("quantize", "multiquery")

    def __post_init__(self) -> None:
        # Callers (the worker) pass JSON lists; tuples keep the config hashable-looking and printable.
        if self.attributes is not None:
            self.attributes = tuple(self.attributes)
        if self.attributes_per_subject is not None:
            self.attributes_per_subject = tuple(None if a is None else tuple(a) for a in self.attributes_per_subject)
        self.attacks, self.gating_attacks = tuple(self.attacks), tuple(self.gating_attacks)

    def attributes_for(self, index: int) -> tuple[str, ...] | None:
        """The attribute choice for the subject at ``index`` of the batch (None: no restriction)."""
        if self.attributes_per_subject is not None and self.attributes_per_subject[index] is not None:
            return self.attributes_per_subject[index]
        return self.attributes

    def validate(self, subjects: int | None = None) -> None:
        """Raise EngineError on a bad setting; ``subjects`` (the batch size) also checks the per-subject list."""
        from workers.engine.attributes import ATTRIBUTES

        for chosen in (self.attributes, *(self.attributes_per_subject or ())):
            if chosen is None:
                continue
            if not chosen:
                raise EngineError("attributes, when given, must name at least one attribute to forget")
            unknown_keys = [a for a in chosen if a not in ATTRIBUTES]
            if unknown_keys:
                raise EngineError(f"unknown attribute {', '.join(map(repr, unknown_keys))}; "
                                  f"known: {', '.join(ATTRIBUTES)}")
        if subjects is not None and self.attributes_per_subject is not None \
                and len(self.attributes_per_subject) != subjects:
            raise EngineError(f"attributes_per_subject has {len(self.attributes_per_subject)} entries for "
                              f"{subjects} subject(s)")

        from workers.engine.attacks import parse_attacks

        parse_attacks(self.attacks)
        parse_attacks(self.gating_attacks)
        exact = self.bounds.max_exact_leak
        if (exact is not None and not 0 < exact <= 1) or self.bounds.exact_leak_draws < 1:
            raise EngineError("the exact leak bound must be in (0, 1] (or none) and its draws at least 1")
        if self.method not in METHODS:
            raise EngineError(f"unknown method {self.method!r}; choose one of: {', '.join(METHODS)}")
        if self.init not in INITS:
            raise EngineError(f"unknown init {self.init!r}; choose one of: {', '.join(INITS)}")
        if self.init == "fila" and not self.lora:
            raise EngineError("--init fila initialises LoRA adapters; it cannot be combined with full fine-tuning")
        if self.init == "fila" and METHODS[self.method].needs_reference:
            raise EngineError(f"--init fila rewrites the base weights, so {self.method} (which compares against "
                              "the original model) cannot use it; use it with ihl, ga or graddiff")
        if self.max_steps < 1 or self.eval_every < 1 or self.rank < 1 or self.margin_steps < 0 \
                or self.check_samples < 1:
            raise EngineError("max_steps, eval_every, rank and check_samples must be positive, margin_steps not "
                              "negative")
        if self.discovery_budget != 0:
            from workers.engine.probe.elicit import MIN_BUDGET

            if self.discovery_budget < MIN_BUDGET:
                raise EngineError(f"the discovery budget must be 0 (templates only) or at least {MIN_BUDGET}")
        if self.corpus is not None and not Path(self.corpus).exists():
            raise EngineError(f"corpus not found: {self.corpus}")
        if self.lr is not None and not 0 < self.lr < 1:
            raise EngineError("lr must be between 0 and 1")
        unknown = set(self.params) - set(METHODS[self.method].defaults)
        if unknown:
            raise EngineError(f"unknown parameter(s) for {self.method}: {', '.join(sorted(unknown))}")


def elicit_config(config: UnlearnConfig) -> Any:
    from workers.engine.probe.elicit import ElicitConfig

    return ElicitConfig(budget=config.discovery_budget, seed=config.seed) if config.discovery_budget else None


def probe_config(config: UnlearnConfig, *, greedy_only: bool = False) -> Any:
    from workers.engine.probe import ProbeConfig

    cfg = ProbeConfig(seed=config.seed, ner=config.ner)
    if greedy_only:
        cfg = dataclasses.replace(cfg, samples=0)
    return cfg


@dataclass
class Part:
    """One subject of the run and everything computed about it."""

    index: int
    subject: Subject
    attributes: tuple[str, ...] | None
    report_before: Any = None
    train_families: list[str] = field(default_factory=list)
    heldout_families: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    analyzer: Any = None  # the PII analyzer of the forget set, reused for the on-policy forget set
    found: int = 0
    forget: list[Any] = field(default_factory=list)  # this subject's forget examples, as the method prepared them
    kept: list[Any] = field(default_factory=list)  # the subject's facts the officer chose to keep: retain data
    report_after: Any = None

    @property
    def contexts(self) -> list[Any]:
        """What discovery found beyond the templates (``probe.contexts.Context``), both shares of the split."""
        return list(getattr(self.report_before, "contexts", None) or [])

    @property
    def discovered(self) -> list[Any]:
        """The values discovery tied to the subject beyond what they submitted (``probe.values.KnownValue``)."""
        return list(getattr(self.report_before, "discovered", None) or [])


@dataclass(frozen=True)
class UtilityInputs:
    """What utility is measured on; the same inputs before and after, so the two are comparable.

    Other people's accuracy, in order of preference: the model's roster (the demo model's ground truth); the
    facts the model itself reproduced about people held out of training (``others``: what a model with no roster
    offers); agreement with its own answers to the template questions (when it produced no such facts)."""

    roster: list[dict[str, str]] | None
    subjects: Sequence[Subject]
    ppl_texts: list[str]
    agreement_prompts: list[str]
    reference_answers: list[str]
    facts: Sequence[Any] = ()  # others.Fact of the utility share

    def measure(self, loaded: Any) -> dict[str, Any]:
        if self.roster:  # every subject of the batch is being forgotten, so none of them counts as "other people"
            util = verify.roster_accuracy(loaded, self.roster, exclude=[s.name for s in self.subjects])
            util["how"] = "greedy answers to the demo's own statement of each attribute, against its roster"
        elif len(self.facts) >= MIN_FACTS:
            util = others.accuracy(loaded, self.facts)
            util["how"] = (f"greedy continuations of {util['n']} statements the model itself made and reproduced, "
                           f"each value with every token at p >= 0.8, about {util['people']} other people, none of "
                           "them trained on")
        else:
            util = verify.agreement(loaded, self.agreement_prompts, self.reference_answers)
            util["how"] = "agreement with the model's own greedy answers to template questions about other people"
        acc, n = util.get("accuracy"), util.get("n")
        if isinstance(n, int) and n > 0 and acc is not None and not math.isnan(acc):
            util["interval95"] = list(verify.wilson_interval(round(acc * n), n))
        util["perplexity"] = verify.perplexity(loaded, self.ppl_texts)
        return util


MIN_FACTS = 12  # fewer held-out facts than this make too coarse an estimate of other people's accuracy


@dataclass
class RunData:
    forget: list[TrainExample]
    retain: list[TrainExample]
    utility: UtilityInputs
    perplexity_source: str  # as the evidence names it


@dataclass
class TrainingRun:
    model: Any  # the trained module (a peft model with LoRA)
    outcome: loop.LoopResult
    max_abs_weight_change: float
    forget_batches: int  # including the batches the on-policy forget set added during training
    on_policy_examples: int
    format_tokens: int
    check_baseline: float | None = None  # the early-stop check's leak rate on the model before training
    check_blind: bool = False  # it saw nothing there although discovery found leaks: early stop was off


@dataclass(frozen=True)
class EarlierErasure:
    """A person an earlier version of this model was made to forget, and what it forgot about them: the new
    version must not give it back (forgetting one person can bring a little of an earlier one back: ReLearn,
    5 people one after another, docs/benchmarks.md)."""

    subject: Any  # workers.engine.subject.Subject
    attributes: tuple[str, ...]
    label: str = ""  # how a failure reason names it (the product: the request's reference); never personal data
    # What discovery found about them then (``probe.contexts.Context``, ``probe.values.KnownValue``): asked again.
    contexts: tuple[Any, ...] = ()
    discovered: tuple[Any, ...] = ()


@dataclass
class Verification:
    verdict: verify.Verdict  # overall: passes only if every subject passes, no earlier erasure came back, and
    # utility holds
    verdicts: list[verify.Verdict]  # per subject, in batch order
    utility_after: dict[str, Any]
    earlier: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # per earlier erasure, no personal data
    attacks: dict[str, Any] = dataclasses.field(default_factory=dict)  # per attack check (``attacks.run_attacks``)
    exact: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # per subject (``probe.exact``)
    # What fails the whole model whoever it is about: utility, an earlier erasure back, a gating attack (pooled
    # over the batch). Without any, a subject whose own verdict passed is forgotten by this model.
    shared_reasons: list[str] = dataclasses.field(default_factory=list)

    @property
    def subjects_passed(self) -> list[bool]:
        return [v.passed and not self.shared_reasons for v in self.verdicts]


@dataclass
class UnlearnResult:
    passed: bool
    out_dir: Path
    model_dir: Path
    adapter_dir: Path | None
    evidence_path: Path
    evidence: dict[str, Any]
    report_after: Any = None  # subject 0's after-probe (the only one for a single subject)
    reports_after: list[Any] = field(default_factory=list)  # one per subject, in batch order
    reports_before: list[Any] = field(default_factory=list)  # the discovery reports the run used, in batch order
