"""ReLearn (Xu et al., ACL 2025; anchors §2): unlearning by learning safe, vague answers.

The forget set is augmented the way ReLearn's ``dataAugument`` pipeline does, without an LLM API:
question variants (as asked, lower-cased, with a conversational lead-in, with typo-like noise), context
variants (the question after two other people's answered facts, drawn from the retain set) and answers
whose personal spans presidio-anonymizer replaces by a vague phrase; plus ReLearn's "cut" samples (the first
quarter of the rewritten answer becomes the prompt). Training is positive on them, with the reference
implementation's ``relearn_klr_gdr`` terms on retain data.

The original leaking sequences stay in the forget set as *negatives*, as in the reference implementation's
``relearn_dpo`` variants (``baselines/src/iterative_trainer.py``: the augmented answer is the positive, the
original answer the negative; anchors §2.1). Here the negative is token-level: only its personal tokens (the
value after a name, the name after an identifier; Presidio's spans and the subject's identifiers, less the
format tokens most people's values share, ``methods/format_tokens.py``) get FPGA's capped, rank-aware ascent:

``L = CE_θ(x_f⁺) + λ_n·L_asc(x_f⁻) + λ_kl·KL(p_ref ‖ p_θ)(answers of x_r) + CE_θ(x_r)``.

``negative_ascent = 0`` gives the paper's objective. Why the negatives: positive training on vague answers
alone removes the leaks on the prompts it trains on, but on the demo model the held-out phrasings kept
leaking (held-out leak 0.003-0.028 for two of three people after 150 steps; docs/benchmarks.md, session 3),
and the attribute direction oscillated from check to check.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Sequence

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
# Forget examples that ask from the name for an attribute, with a prompt: negatives on the value, context variants.
ATTRIBUTE_DIRECTION = ("finding:direct", "finding:question", "identifier-forward")
# Discovered contexts (the model's own text, the training corpus) go either way: the finding says which.
DISCOVERED = ("finding:elicited", "finding:corpus")


def direction(ex: TrainExample) -> str | None:
    """"attribute" (name -> value), "name" (identifier -> name) or None (the subject's own texts, ...)."""
    if ex.source in DISCOVERED:
        return "name" if ex.meta.get("target") == "name" else "attribute"
    if ex.source in ATTRIBUTE_DIRECTION:
        return "attribute"
    return "name" if ex.source in NAME_DIRECTION else None


def _negative(ex: TrainExample, name: str | None) -> TrainExample | None:
    """The leaking example itself as a negative: name -> value examples keep their personal spans; identifier
    -> name examples get their spans narrowed to the name (the only tokens of theirs that ascend)."""
    if direction(ex) == "attribute":
        return TrainExample(prompt=ex.prompt, completion=ex.completion, spans=ex.spans, eos=ex.eos,
                            source="relearn-negative", meta=ex.meta, raw=ex.raw)
    if not name or direction(ex) != "name":
        return None
    spans = tuple((m.start(), m.end()) for m in re.finditer(re.escape(name), ex.completion, flags=re.IGNORECASE))
    if not spans:
        return None
    return TrainExample(prompt=ex.prompt, completion=ex.completion, spans=spans, eos=ex.eos,
                        source="relearn-negative", meta=ex.meta, raw=ex.raw)


CONTEXT_VARIANTS = 2  # per attribute-direction example, each with two other people's facts in front
CONTEXT_FACTS = 2


def context_facts(context: Sequence[TrainExample]) -> list[tuple[str, str, str]]:
    """(attribute, person, "prompt answer.") from the retain set's answers about other people: the model's own
    greedy answers, cut at their first full stop (an answer without one was cut mid-value and is skipped)."""
    facts: list[tuple[str, str, str]] = []
    for ex in context:
        attribute, person = ex.meta.get("attribute"), ex.meta.get("person")
        if ex.source != "retain-answer" or not attribute or not person:
            continue
        answer = _first_sentence(ex.completion)
        if answer.endswith(".") and len(answer.strip()) > 1:
            facts.append((attribute, person, f"{ex.prompt}{answer}"))
    return facts


def context_variants(ex: TrainExample, safe: str, facts: Sequence[tuple[str, str, str]]) -> list[TrainExample]:
    """The example's question after other people's facts, still answered vaguely.

    Why: after positive training the subject's question alone gets the vague answer, but preceded by other
    people's answered facts the model went back to the true value (held-out ``fewshot`` leaks, Megan Chang and
    Robin Levy, docs/benchmarks.md). The facts in front are of *another* attribute than the question's, so
    a variant is never an instance of a ``fewshot`` template (those repeat one attribute's wording for all
    three people), and ``fewshot`` stays held out.
    """
    attribute = ex.meta.get("attribute")
    pool = [f for f in facts if f[0] != attribute]
    people = sorted({person for _, person, _ in pool})
    if len(people) < CONTEXT_FACTS:
        return []
    rng = random.Random(zlib.crc32(ex.prompt.encode()))
    out = []
    for _ in range(CONTEXT_VARIANTS):
        chosen = rng.sample(people, CONTEXT_FACTS)
        lead = [rng.choice([text for _, person, text in pool if person == who]) for who in chosen]
        out.append(TrainExample(prompt=" ".join([*lead, ex.prompt]), completion=safe, eos=True,
                                source="relearn-context", raw=ex.raw))
    return out


def augment(examples: list[TrainExample], subject: object = None, context: Sequence[TrainExample] = (),
            **_: object) -> list[TrainExample]:
    """Safe vague rewrites of every forget example that holds personal data (question variants, context
    variants drawn from ``context``, the retain set, and cut samples), plus the examples themselves as
    negatives (``relearn-negative``: the only examples with spans; see ``_negative``)."""
    name = getattr(subject, "name", None)
    facts = context_facts(context)
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
            out.append(TrainExample(prompt=prompt, completion=safe, eos=True, source="relearn", raw=ex.raw))
        if direction(ex) == "attribute" and ex.prompt:
            out += context_variants(ex, safe, facts)
        words = (ex.prompt + safe).split(" ")
        if len(words) >= 8:  # "cut" sample: first quarter of the text is the prompt
            k = max(1, len(words) // 4)
            out.append(TrainExample(prompt=" ".join(words[:k]), completion=" " + " ".join(words[k:]), eos=True,
                                    source="relearn-cut", raw=ex.raw))
    return list(dict.fromkeys(out))


def loss(ctx: StepContext):
    p = ctx.params
    forget, ascent = losses.relearn_forget_loss(logits_of(ctx.model, ctx.forget), ctx.forget["labels"],
                                                ctx.forget["weights"], negative_ascent=p["negative_ascent"],
                                                max_nll=p["max_nll"])
    retain_logits = logits_of(ctx.model, ctx.retain)
    # KL on the answer positions (kl_answers = 1), as FPGA: the anchor sits on other people's values.
    mask = losses.answer_positions(ctx.retain["labels"]) if p["kl_answers"] else ctx.retain["attention_mask"]
    kl = losses.kl_to_reference(retain_logits, ctx.reference.logits(ctx.retain), mask)
    retain = losses.cross_entropy(retain_logits, ctx.retain["labels"])
    total = forget + p["negative_ascent"] * ascent + p["kl"] * kl + p["retain_ce"] * retain
    return total, {"forget": forget.item(), "negative_ascent": ascent.item(), "kl": kl.item(),
                   "retain": retain.item()}


# Measured on the small demo model (docs/benchmarks.md, session 3), single runs, held-out leak / accuracy kept:
# the session-2 defaults (negatives on the name only, kl 3 on every position, 120-step minimum) left
# 0.003 / 0.980 (Megan Chang) and 0.028 / 0.977 (Robin Levy). Negatives on the values too: held-out 0 for
# all, but Vanessa Patel kept 0.938; KL on the answers at kl 8: 0.954; context variants are what keeps it
# (without them Megan Chang leaked inverse-email again and Vanessa Patel kept 0.939); negative_ascent 2 removed
# Megan Chang's last inverse-email leak. Checks pass from step 60 on with these, and the longer 120-step
# minimum only cost accuracy (Vanessa Patel 0.938 at 140 steps vs 0.947 at 80). Two passing checks in a row
# before stopping, and a run that ends on its budget keeps its cleanest check's weights, since ReLearn's
# leak rate can oscillate.
METHOD = Method(name="relearn", summary="positive training on vague rewrites (+ capped ascent on the original "
                "personal tokens) + KL and CE on retain",
                loss=loss, lr=4e-3,
                defaults={"kl": 8.0, "kl_answers": 1.0, "retain_ce": 1.0, "negative_ascent": 2.0, "max_nll": 3.0},
                needs_reference=True, prepare_forget=augment, token_weights=True, stable_checks=2, min_steps=60,
                keep_best_check=True)
