"""Gradient ascent (Jang et al. 2022): the textbook baseline, ``L = −CE_θ(forget)``."""

from __future__ import annotations

from workers.engine import losses
from workers.engine.methods.base import Method, StepContext, logits_of


def loss(ctx: StepContext):
    forget = losses.gradient_ascent_loss(logits_of(ctx.model, ctx.forget), ctx.forget["labels"])
    return forget, {"forget": forget.item()}


METHOD = Method(name="ga", summary="gradient ascent on the forget set (baseline)", loss=loss, lr=1e-3,
                uses_retain=False)
