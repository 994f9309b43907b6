"""ReLearn (Xu et al., ACL 2025; anchors §2): unlearning by learning safe, vague answers.

The forget set is augmented the way ReLearn's ``dataAugument`` pipeline does, without an LLM API:
question variants (as asked, lower-cased, with a conversational lead-in, with typo-like noise) and
answers whose personal spans presidio-anonymizer replaces by a vague phrase; plus ReLearn's "cut"
samples (the first quarter of the rewritten answer becomes the prompt). Training is positive:
``L = CE_θ(x_f) + KL(p_ref ‖ p_θ)(x_r) + CE_θ(x_r)`` (``relearn_klr_gdr``, the repo's default).
"""

from __future__ import annotations

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


def augment(examples: list[TrainExample], **_: object) -> list[TrainExample]:
    """Safe vague rewrites of every forget example that holds personal data."""
    out: list[TrainExample] = []
    for ex in examples:
        if not ex.spans:
            continue
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
    forget = losses.cross_entropy(logits_of(ctx.model, ctx.forget), ctx.forget["labels"])
    retain_logits = logits_of(ctx.model, ctx.retain)
    kl = losses.kl_to_reference(retain_logits, ctx.reference.logits(ctx.retain), ctx.retain["attention_mask"])
    retain = losses.cross_entropy(retain_logits, ctx.retain["labels"])
    total = forget + p["kl"] * kl + p["retain_ce"] * retain
    return total, {"forget": forget.item(), "kl": kl.item(), "retain": retain.item()}


# lr 4e-3 / kl 3 (was 2e-3 / 1): measured on the small demo model with the ``lookup`` training family, held-out
# leak 0.059 / 0.073 / 0.128 -> 0.035 / 0.035 / 0.073 for three people at 0.98 / 0.96 / 0.99 of other people's
# accuracy (lr 4e-3 with kl 1 kept only 0.94; docs/benchmarks.md). Two passing checks in a row before
# stopping, since ReLearn's leak rate oscillates (a check at 0 was followed by leaks again).
METHOD = Method(name="relearn", summary="positive training on vague rewrites + KL and CE on retain",
                loss=loss, lr=4e-3, defaults={"kl": 3.0, "retain_ce": 1.0}, needs_reference=True,
                prepare_forget=augment, stable_checks=2)
