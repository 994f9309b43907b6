"""FPGA (Feng et al., EMNLP 2024): fine-grained gradient ascent on the personal tokens only.

The discriminator is Presidio (``workers.engine.pii``) plus the subject's own identifier strings: it
marks the personal spans of each forget sequence, those tokens carry the (capped) ascent and the rest
of the sentence gets ``context_weight`` (0 by default). ``KL(p_ref ‖ p_θ)`` on retain data anchors
everything else to the reference model, with an optional retain cross-entropy.
"""

from __future__ import annotations

from workers.engine import losses
from workers.engine.methods.base import Method, StepContext, logits_of


def loss(ctx: StepContext):
    p = ctx.params
    forget = losses.weighted_ascent_loss(logits_of(ctx.model, ctx.forget), ctx.forget["labels"],
                                         ctx.forget["weights"], max_nll=p["max_nll"])
    retain_logits = logits_of(ctx.model, ctx.retain)
    kl = losses.kl_to_reference(retain_logits, ctx.reference.logits(ctx.retain), ctx.retain["attention_mask"])
    total = forget + p["kl"] * kl
    metrics = {"forget": forget.item(), "kl": kl.item()}
    if p["retain_ce"]:
        retain = losses.cross_entropy(retain_logits, ctx.retain["labels"])
        total = total + p["retain_ce"] * retain
        metrics["retain"] = retain.item()
    return total, metrics


METHOD = Method(name="fpga", summary="token-weighted gradient ascent on PII tokens + KL to the reference on retain",
                loss=loss, lr=6e-4, defaults={"max_nll": 3.0, "kl": 8.0, "retain_ce": 0.0, "context_weight": 0.0},
                needs_reference=True, token_weights=True,
                reverse_phrasings=3)
