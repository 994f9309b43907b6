"""On-policy forget set: what the model leaks *now*, found by the early-stop check, joins the forget set.

Why: the forget set is the model's completions before unlearning. Token-level ascent raises the NLL of
exactly those token sequences under teacher forcing, and the model soon finds another free-running path
to the same value; measured on the small demo model (FPGA, Vanessa Patel, step 90):
``Question: Can you tell me the bank account number of ...?\\nAnswer:`` -> `` BE BE BE BE BE BE BE BE BE BE
BE88 1578 1565 9387.`` (the ascent had pushed down "88" right after the first "BE"). Ascending further on
the stale completions only damages everyone else (other people's accuracy 0.95 -> 0.80 of before over
steps 90-145 while that one leak persisted). Adding each check's new leaking completions targets the path
the model actually takes. Only training-family findings are ever passed in, so held-out families stay
unseen by training.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from workers.engine.methods.base import Batch, Method
from workers.engine.methods.batching import TrainExample, make_batches


@dataclass
class OnPolicyForget:
    """Turns a check's probe report into extra forget batches (new confirmed leaks only, each once).

    ``known`` are the (prompt, completion) pairs already in the forget set. ``build`` makes raw forget
    examples from a report-like object (``forget_set.build_forget_set`` bound to the run's subject,
    families and analyzer); the method's ``prepare_forget`` (ReLearn's rewrites) is applied after it.
    """

    method: Method
    build: Callable[[Any], list[TrainExample]]
    attributes: Iterable[str]
    tokenizer: Any
    device: Any
    batch_size: int
    context_weight: float = 0.0
    seed: int = 0
    prepare_kwargs: dict[str, Any] = field(default_factory=dict)
    known: set[tuple[str, str]] = field(default_factory=set)
    format_tokens: frozenset[int] = frozenset()
    added: int = 0

    def __post_init__(self) -> None:
        self.attributes = set(self.attributes)

    def new_examples(self, report: Any) -> list[TrainExample]:
        fresh = [f for f in report.findings if f.verdict == "confirmed" and f.attribute in self.attributes
                 and (f.prompt, f.completion) not in self.known]
        if not fresh:
            return []
        examples = [ex for ex in self.build(SimpleNamespace(findings=fresh)) if ex.source.startswith("finding")]
        self.known.update((ex.prompt, ex.completion) for ex in examples)
        if self.method.prepare_forget is not None:
            examples = self.method.prepare_forget(examples, **self.prepare_kwargs)
        return examples

    def extend(self, report: Any, forget_batches: list[Batch]) -> int:
        """Append batches for the report's new leaks to ``forget_batches`` (the loop cycles over the list,
        so they are trained on from the next round); returns how many examples were added."""
        examples = self.new_examples(report)
        if not examples:
            return 0
        forget_batches += make_batches(self.tokenizer, examples, batch_size=self.batch_size, device=self.device,
                                       context_weight=self.context_weight, seed=self.seed + len(forget_batches),
                                       format_tokens=self.format_tokens)
        self.added += len(examples)
        return len(examples)
