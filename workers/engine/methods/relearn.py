"""ReLearn (Xu et al., ACL 2025; anchors §2): unlearning by learning safe, vague answers.

The forget set is augmented the way ReLearn's ``dataAugument`` pipeline does, without an LLM API:
question variants (as asked, lower-cased, with a conversational lead-in, with typo-like noise) and
answers whose personal spans presidio-anonymizer replaces by a vague phrase; plus ReLearn's "cut"
samples (the first quarter of the rewritten answer becomes the prompt). Training is positive:
``L = CE_θ(x_f) + KL(p_ref ‖ p_θ)(x_r) + CE_θ(x_r)`` (``relearn_klr_gdr``, the repo's default).

One addition, for the identifier -> name direction only: positive training on vague answers does not unlink
an identifier from the name on the demo model (held-out ``inverse-1``, the corpus's own "The {noun} {value}
belongs to", still answered the name greedily after 150 steps; docs/benchmarks.md). So the original
identifier -> name sequences stay in the forget set as *negatives* whose name tokens get a capped
token-level ascent (``name_ascent`` x ``losses.weighted_ascent_loss``, the cap and rank rule of FPGA):
``L = CE_θ(x_f⁺) + λ_n·L_asc(x_f⁻) + KL(p_ref ‖ p_θ)(x_r) + CE_θ(x_r)``. The reference implementation has
the same idea in its ``relearn_dpo`` variants (``baselines/src/iterative_trainer.py``: the augmented answer is
the positive and the original answer the negative, anchors §2.1); here it is token-level and restricted to
the name after an identifier, so the attribute direction stays purely positive as in the paper.
``name_ascent = 0`` gives the paper's objective. What was tried and dropped: the same negatives for the attribute
direction as well (held-out leak 0, but 0.93-0.95 of other people's accuracy), a linear lr decay (HF Trainer's
default schedule: 0.04-0.13 held-out), three reverse phrasings (no better), name_ascent 2 (no better).
"""

from __future__ import annotations

import re

from workers.engine import losses
from workers.engine.methods.base import Method, StepContext, logits_of
from workers.engine.methods.batching import TrainExample

VAGUE_ANSWER = "not something I can share"
LEAD_INS = ("Tell me this: ", "Quick question. ")


def anonymise(text: str, spans: tuple[tuple[int, int], ...], *, new_value: str = VAGUE_ANSWER) -> str:
    """Replace every personal span by a vague phrase (presidio-anonymizer's ``replace`` operator)."""
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    results = [RecognizerResult(entity_type="PERSONAL_DATA", start=s, end=e, score=1.0) for s, e in spans]
    out = AnonymizerEngine().anonymize(text=text, analyzer_results=results,
                                       operators={"DEFAULT": OperatorConfig("replace", {"new_value": new_value})})
    return out.text


def _noisy(prompt: str) -> str:
    """Typo-like noise (ReLearn's ``inject_question_noise``): swap two letters inside the last long word."""
    words = prompt.split(" ")
    for i in range(len(words) - 1, -1, -1):
        w = words[i]
        if len(w) >= 5 and w.isalpha():
            words[i] = w[:2] + w[3] + w[2] + w[4:]
            return " ".join(words)
    return prompt


def question_variants(prompt: str) -> list[str]:
    if not prompt:
        return [""]
    variants = [prompt, prompt[0].lower() + prompt[1:], _noisy(prompt)] + [lead + prompt for lead in LEAD_INS]
    return list(dict.fromkeys(variants))


def _first_sentence(text: str) -> str:
    """Keep the rewritten answer up to its first full stop: the tail is the model's own unrelated run-on."""
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


# Forget examples that answer an identifier with the name: the trained reverse statements and ``lookup`` findings.
NAME_DIRECTION = ("identifier-reverse", "finding:lookup")


def _negative(ex: TrainExample, name: str | None) -> TrainExample | None:
    """The identifier -> name example itself, its spans narrowed to the name (the only tokens that ascend)."""
    if not name or ex.source not in NAME_DIRECTION:
        return None
    spans = tuple((m.start(), m.end()) for m in re.finditer(re.escape(name), ex.completion, flags=re.IGNORECASE))
    if not spans:
        return None
    return TrainExample(prompt=ex.prompt, completion=ex.completion, spans=spans, eos=ex.eos,
                        source="relearn-negative", meta=ex.meta)


def augment(examples: list[TrainExample], subject: object = None, **_: object) -> list[TrainExample]:
    """Safe vague rewrites of every forget example that holds personal data, plus the identifier -> name
    examples as negatives (``relearn-negative``: spans on the name, nothing else has spans)."""
    name = getattr(subject, "name", None)
    out: list[TrainExample] = []
    for ex in examples:
        if not ex.spans:
            continue
        negative = _negative(ex, name)
        if negative is not None:
            out.append(negative)
        safe = anonymise(ex.completion, ex.spans)
        if ex.prompt:
            safe = _first_sentence(safe)
        for prompt in question_variants(ex.prompt):
            out.append(TrainExample(prompt=prompt, completion=safe, eos=True, source="relearn"))
        words = (ex.prompt + safe).split(" ")
        if len(words) >= 8:  # "cut" sample: first quarter of the text is the prompt
            k = max(1, len(words) // 4)
            out.append(TrainExample(prompt=" ".join(words[:k]), completion=" " + " ".join(words[k:]), eos=True,
                                    source="relearn-cut"))
    return list(dict.fromkeys(out))


def loss(ctx: StepContext):
    p = ctx.params
    forget, ascent = losses.relearn_forget_loss(logits_of(ctx.model, ctx.forget), ctx.forget["labels"],
                                                ctx.forget["weights"], name_ascent=p["name_ascent"],
                                                max_nll=p["max_nll"])
    retain_logits = logits_of(ctx.model, ctx.retain)
    kl = losses.kl_to_reference(retain_logits, ctx.reference.logits(ctx.retain), ctx.retain["attention_mask"])
    retain = losses.cross_entropy(retain_logits, ctx.retain["labels"])
    total = forget + p["name_ascent"] * ascent + p["kl"] * kl + p["retain_ce"] * retain
    return total, {"forget": forget.item(), "name_ascent": ascent.item(), "kl": kl.item(), "retain": retain.item()}


# lr 4e-3 / kl 3 (was 2e-3 / 1): measured on the small demo model with the ``lookup`` training family, held-out
# leak 0.059 / 0.073 / 0.128 -> 0.035 / 0.035 / 0.073 for three people at 0.98 / 0.96 / 0.99 of other people's
# accuracy (lr 4e-3 with kl 1 kept only 0.94; docs/benchmarks.md). Two passing checks in a row before
# stopping, since ReLearn's leak rate oscillates (a check at 0 was followed by leaks again).
# name_ascent 1 with min_steps 120 (docs/benchmarks.md, part 3): single runs, held-out leak 0.035 / 0.035 / 0.073
# -> 0.003 / 0.000 / 0.028 at 0.980 / 0.974 / 0.977 of accuracy. Without min_steps the check passed at step 20
# (the name direction is gone within 15 steps) and the attribute direction relapsed after the margin (held-out
# 0.042); the paper trains for fixed epochs, so the early stop may only end the last 30 of the 150 steps.
METHOD = Method(name="relearn", summary="positive training on vague rewrites (+ capped ascent on the name after an "
                "identifier) + KL and CE on retain",
                loss=loss, lr=4e-3, defaults={"kl": 3.0, "retain_ce": 1.0, "name_ascent": 1.0, "max_nll": 3.0},
                needs_reference=True, prepare_forget=augment, stable_checks=2, min_steps=120)
