"""The optimisation loop shared by every method: batches side by side, early stop on a verification check."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from workers.engine.methods.base import Batch, Method, Reference, StepContext
from workers.engine.progress import ProgressCallback, emit


@dataclass
class LoopResult:
    steps: int
    stopped: str  # "check_passed" | "budget" | "nothing_to_forget"
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    checks: list[dict[str, float]] = field(default_factory=list)
    restored_step: int | None = None  # the check whose weights were kept instead of the last step's (BestCheck)


@dataclass
class BestCheck:
    """Keep the trainable weights of the cleanest early-stop check, for a run that ends on its budget.

    For methods whose leak rate oscillates from check to check (ReLearn, positive training only: Robin Levy,
    steps 120-150, 0.056, 0.056, 0.056, 0.056, 0.028, 0.056, 0.000; docs/benchmarks.md), the last step is
    not the best state the run reached. Ties go to the later check, which has trained longer. Only trainable
    tensors are copied (a LoRA adapter: ~1% of the model).
    """

    leak: float = float("inf")
    step: int | None = None
    weights: dict[str, torch.Tensor] | None = None

    def offer(self, leak: float, step: int, model: Any) -> None:
        if leak <= self.leak:
            self.leak, self.step = leak, step
            self.weights = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}

    def restore_if_better(self, last_leak: float | None, model: Any) -> int | None:
        """Put back the best check's weights when the run's last check leaked more; returns its step."""
        if self.weights is None or last_leak is None or last_leak <= self.leak:
            return None
        with torch.no_grad():
            for name, param in model.named_parameters():
                if name in self.weights:
                    param.copy_(self.weights[name])
        return self.step


@dataclass
class StartupBoost:
    """Raise the learning rate while the early-stop check shows no progress yet, then drop back to it for good.

    LoRA's ``B`` starts at zero, so the first updates barely move the model: measured on the small demo
    model (FPGA, Robin Levy), the leak rate sat at 0.78 for 50 steps; the run then needed 150 steps and kept
    0.93 of other people's accuracy, with this boost 115 steps and 0.987. While the leak rate is above
    ``threshold`` x its first value, each check multiplies the lr by ``factor`` (up to ``cap`` x); the first
    check below it ends the boost. Only the start is boosted: a plateau later on is a stubborn leak, where
    a larger lr costs other people's accuracy instead.
    """

    factor: float = 1.5
    cap: float = 4.0
    threshold: float = 0.9
    scale: float = 1.0
    first: float | None = None
    active: bool = True

    def update(self, leak: float, optimizer: torch.optim.Optimizer, base_lr: float) -> None:
        if not self.active:
            return
        self.first = leak if self.first is None else self.first
        if leak > self.threshold * self.first:
            self.scale = min(self.cap, self.scale * self.factor)
        else:
            self.scale, self.active = 1.0, False
        for group in optimizer.param_groups:
            group["lr"] = base_lr * self.scale


def train(*, model: Any, method: Method, params: Mapping[str, float], forget: list[Batch], retain: list[Batch],
          reference: Reference, lr: float, max_steps: int, eval_every: int, min_steps: int = 0,
          check: Callable[[], float] | None = None, progress: ProgressCallback | None = None,
          margin_steps: int = 0, passes_needed: int = 1) -> LoopResult:
    """Minimise the method's loss; every ``eval_every`` steps ``check()`` returns the current leak rate and
    training stops once it is 0 (after ``min_steps``) on ``passes_needed`` checks in a row, then runs
    ``margin_steps`` more steps (within ``max_steps``) so that the removal does not sit right at the edge of
    what the check can see. More than one pass is for methods whose leak rate oscillates (ReLearn: a check
    at 0 followed by leaks again, docs/benchmarks.md). ``method.keep_best_check``: a run that ends on its budget
    keeps the weights of its cleanest check (``BestCheck``) when the last check leaked more."""
    started = time.perf_counter()
    if not forget:
        return LoopResult(steps=0, stopped="nothing_to_forget", seconds=0.0)
    if method.uses_retain and not retain:
        raise ValueError(f"method {method.name} needs retain data")
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr, betas=(0.9, 0.98), weight_decay=0.0)
    result = LoopResult(steps=0, stopped="budget", seconds=0.0)
    model.train()
    stop_at: int | None = None
    passes = 0
    boost = StartupBoost() if method.startup_boost else None
    best = BestCheck() if method.keep_best_check and check is not None else None
    last_leak: float | None = None
    for step in range(1, max_steps + 1):
        ctx = StepContext(model=model, forget=forget[(step - 1) % len(forget)],
                          retain=retain[(step - 1) % len(retain)] if retain else None, params=params,
                          reference=reference)
        loss, metrics = method.loss(ctx)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        result.steps = step
        row = {"step": float(step), "loss": loss.item(), **metrics}
        result.history.append(row)
        leak: float | None = None
        if stop_at is None and check is not None and (step % eval_every == 0 or step == max_steps) \
                and step >= min_steps:
            model.eval()
            leak = check()
            model.train()
            result.checks.append({"step": float(step), "leak_rate": leak, "lr": optimizer.param_groups[0]["lr"]})
            last_leak = leak
            if best is not None:
                best.offer(leak, step, model)
            if boost is not None:
                boost.update(leak, optimizer, lr)
        emit(progress, stage="unlearn", step=step, total=max_steps,
             metrics={"loss": loss.item(), **({"leak_rate": leak} if leak is not None else {})})
        if leak is not None:
            passes = passes + 1 if leak == 0.0 else 0
        if leak == 0.0 and passes >= passes_needed:
            result.stopped = "check_passed"
            stop_at = step + margin_steps
        if stop_at is not None and step >= stop_at:
            break
    if best is not None and result.stopped == "budget":
        result.restored_step = best.restore_if_better(last_leak, model)
    model.eval()
    result.seconds = time.perf_counter() - started
    return result
