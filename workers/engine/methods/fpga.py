"""FPGA (Feng et al., EMNLP 2024): fine-grained gradient ascent on the personal tokens only.

The discriminator is Presidio (``workers.engine.pii``) plus the subject's own identifier strings: it
marks the personal spans of each forget sequence, those tokens carry the (capped) ascent and the rest
of the sentence gets ``context_weight`` (0 by default). ``KL(p_ref ‖ p_θ)`` on retain data anchors
everything else to the reference model, with an optional retain cross-entropy. A personal token stops
carrying the ascent once it is both improbable and no longer the model's likeliest choice
(``losses.weighted_ascent_loss``, ``rank_margin``), and what the early-stop check still finds leaking joins
the forget set (``on_policy``, ``methods/onpolicy.py``), since the model routes around the stale sequences.
The KL sits on the retain answers (``kl_answers``) and the lr is boosted until forgetting starts
(``loop.StartupBoost``). Tokens of a span that half of the other people's values share (a value's format:
punctuation, "@example.com", an IBAN's country code; ``methods/format_tokens.py``) carry no ascent: they are not
the person's data, and pushing them down is what kept Megan Chang's address at the 150-step budget.
"""

from __future__ import annotations

from workers.engine import losses
from workers.engine.methods.base import Method, StepContext, logits_of


def loss(ctx: StepContext):
    p = ctx.params
    forget = losses.weighted_ascent_loss(logits_of(ctx.model, ctx.forget), ctx.forget["labels"],
                                         ctx.forget["weights"], max_nll=p["max_nll"],
                                         rank_margin=p["rank_margin"] if p["rank_margin"] >= 0 else None)
    retain_logits = logits_of(ctx.model, ctx.retain)
    # KL on the answer positions only (kl_answers = 1): measured +0.02 of other people's accuracy kept.
    mask = losses.answer_positions(ctx.retain["labels"]) if p["kl_answers"] else ctx.retain["attention_mask"]
    kl = losses.kl_to_reference(retain_logits, ctx.reference.logits(ctx.retain), mask)
    total = forget + p["kl"] * kl
    metrics = {"forget": forget.item(), "kl": kl.item()}
    if p["retain_ce"]:
        retain = losses.cross_entropy(retain_logits, ctx.retain["labels"])
        total = total + p["retain_ce"] * retain
        metrics["retain"] = retain.item()
    return total, metrics


METHOD = Method(name="fpga", summary="token-weighted gradient ascent on PII tokens + KL to the reference on retain",
                loss=loss, lr=6e-4,
                # rank_margin < 0 turns the rank condition off (cap only, the earlier rule).
                defaults={"max_nll": 3.0, "rank_margin": 1.0, "kl": 8.0, "kl_answers": 1.0, "retain_ce": 0.0,
                          "context_weight": 0.0},
                needs_reference=True, token_weights=True, on_policy=True, startup_boost=True,
                reverse_phrasings=3)
