"""GradDiff: gradient ascent on the forget set plus descent on retain data (anchors §1.2)."""

from __future__ import annotations

from workers.engine import losses
from workers.engine.methods.base import Method, StepContext, logits_of


def loss(ctx: StepContext):
    forget_ce = losses.cross_entropy(logits_of(ctx.model, ctx.forget), ctx.forget["labels"])
    retain_ce = losses.cross_entropy(logits_of(ctx.model, ctx.retain), ctx.retain["labels"])
    total = losses.grad_diff_loss(forget_ce, retain_ce, gamma=ctx.params["gamma"], alpha=ctx.params["alpha"])
    return total, {"forget": -forget_ce.item(), "retain": retain_ce.item()}


METHOD = Method(name="graddiff", summary="gradient ascent + retain cross-entropy (baseline)", loss=loss, lr=1e-3,
                defaults={"gamma": 1.0, "alpha": 1.0})
