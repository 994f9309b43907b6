"""What every unlearning method provides, and the frozen reference model they may compare against."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from workers.engine.methods.batching import TrainExample

Batch = dict[str, torch.Tensor]


def logits_of(model: Any, batch: Batch) -> torch.Tensor:
    return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


class Reference:
    """The model as it was before unlearning.

    With LoRA it is the same module with the adapter switched off (``disable_adapter()``: exactly the base,
    measured max |Δlogits| = 0, offline-stack.md §4), so no copy is held. With full fine-tuning there is
    no switch, so the outputs the methods need are computed once before training and cached per batch.
    """

    def __init__(self, model: Any, *, lora: bool) -> None:
        self._model = model
        self._lora = lora
        self._cache: dict[int, torch.Tensor] = {}

    @torch.no_grad()
    def _compute(self, batch: Batch) -> torch.Tensor:
        if self._lora:
            with self._model.disable_adapter():
                return logits_of(self._model, batch).detach()
        return logits_of(self._model, batch).detach()

    def precompute(self, batches: list[Batch]) -> None:
        if not self._lora:
            for batch in batches:
                self._cache[id(batch["input_ids"])] = self._compute(batch)

    def logits(self, batch: Batch) -> torch.Tensor:
        if self._lora:
            return self._compute(batch)
        try:
            return self._cache[id(batch["input_ids"])]
        except KeyError:
            raise RuntimeError("full fine-tuning needs reference outputs precomputed for every batch") from None


@dataclass
class StepContext:
    model: Any
    forget: Batch
    retain: Batch | None
    params: Mapping[str, float]
    reference: Reference


LossFn = Callable[[StepContext], tuple[torch.Tensor, dict[str, float]]]
PrepareFn = Callable[..., list[TrainExample]]


@dataclass(frozen=True)
class Method:
    """One unlearning method: its loss on a (forget, retain) batch pair and its tuned defaults."""

    name: str
    summary: str
    loss: LossFn
    lr: float
    defaults: Mapping[str, float] = field(default_factory=dict)
    needs_reference: bool = False
    uses_retain: bool = True
    # ReLearn replaces the forget set by safe vague rewrites; others train on it as found.
    prepare_forget: PrepareFn | None = None
    # FPGA (and ReLearn's negatives) weight tokens by the PII discriminator; the others weigh every completion
    # token the same.
    token_weights: bool = False
    # How many identifier -> name phrasings (forget_set.REVERSE_STATEMENTS) the forget set gets. More remove the
    # held-out ``inverse`` leaks under FPGA; under plain ascent (ga) or ReLearn they cost retained accuracy.
    reverse_phrasings: int = 1
    # Whether each early-stop check's new leaking completions join the forget set (methods/onpolicy.py).
    # Only for methods whose loss compares with the reference on retain batches alone (the reference cache
    # of full fine-tuning cannot cover batches added mid-run).
    on_policy: bool = False
    # Raise the lr while the early-stop check shows no progress yet (loop.StartupBoost); measured on FPGA only.
    startup_boost: bool = False
    # Passing early-stop checks needed in a row before the margin starts (loop.train ``passes_needed``).
    stable_checks: int = 1
    # Steps trained before the early-stop check may end the run (the config's ``min_steps`` can raise it).
    min_steps: int = 0
    # A run that ends on its budget keeps its cleanest check's weights if the last check leaked more
    # (loop.BestCheck); for methods whose leak rate oscillates between checks.
    keep_best_check: bool = False
