"""NPO (Zhang et al. 2024): bounded negative preference against the reference model, plus retain CE."""

from __future__ import annotations

from workers.engine import losses
from workers.engine.methods.base import Method, StepContext, logits_of


def loss(ctx: StepContext):
    labels = ctx.forget["labels"]
    nll = losses.sequence_nll(logits_of(ctx.model, ctx.forget), labels)
    nll_ref = losses.sequence_nll(ctx.reference.logits(ctx.forget), labels)
    forget = losses.npo_loss(nll, nll_ref, beta=ctx.params["beta"])
    retain = losses.cross_entropy(logits_of(ctx.model, ctx.retain), ctx.retain["labels"])
    return forget + ctx.params["alpha"] * retain, {"forget": forget.item(), "retain": retain.item()}


METHOD = Method(name="npo", summary="negative preference optimisation + retain cross-entropy (baseline)", loss=loss,
                lr=1e-3, defaults={"beta": 0.1, "alpha": 1.0}, needs_reference=True)
