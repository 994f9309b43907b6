"""IHL (Cha et al., ICLR 2025): inverted hinge loss on the forget set plus retain CE; pairs with FILA."""

from __future__ import annotations

from workers.engine import losses
from workers.engine.methods.base import Method, StepContext, logits_of


def loss(ctx: StepContext):
    forget = losses.inverted_hinge_loss(logits_of(ctx.model, ctx.forget), ctx.forget["labels"])
    retain = losses.cross_entropy(logits_of(ctx.model, ctx.retain), ctx.retain["labels"])
    return forget + ctx.params["alpha"] * retain, {"forget": forget.item(), "retain": retain.item()}


METHOD = Method(name="ihl", summary="inverted hinge loss + retain cross-entropy (use --init fila for FILA)",
                loss=loss, lr=1e-3, defaults={"alpha": 1.0})
