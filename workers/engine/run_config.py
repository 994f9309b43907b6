"""The settings of one unlearning run (``UnlearnConfig``) and the probe settings derived from them.

Kept apart from ``unlearn.py`` so that the run's parts (``run_subjects``, ``run_data``, ``run_training``,
``run_evidence``) can read them without importing the entry point that imports them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workers.engine.errors import EngineError
from workers.engine.forget_set import DEFAULT_TRAIN_FAMILIES
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

    def __post_init__(self) -> None:
        # Callers (the worker) pass JSON lists; tuples keep the config hashable-looking and printable.
        if self.attributes is not None:
            self.attributes = tuple(self.attributes)
        if self.attributes_per_subject is not None:
            self.attributes_per_subject = tuple(None if a is None else tuple(a) for a in self.attributes_per_subject)

    def attributes_for(self, index: int) -> tuple[str, ...] | None:
        """The attribute choice for the subject at ``index`` of the batch (None: no restriction)."""
        if self.attributes_per_subject is not None and self.attributes_per_subject[index] is not None:
            return self.attributes_per_subject[index]
        return self.attributes

    def validate(self, subjects: int | None = None) -> None:
        """Raise EngineError on a bad setting; ``subjects`` (the batch size) also checks the per-subject list."""
        from workers.engine.attributes import ATTRIBUTES
        from workers.engine.methods import METHODS

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
