"""How much of the roster the model has memorised: greedy completion of the direct statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workers.engine.demo.corpus import statement_prompt
from workers.engine.demo.roster import ROSTER_FIELDS, Person


def greedy_complete(model: Any, tokenizer: Any, prompts: Sequence[str], *, max_new_tokens: int,
                    batch_size: int = 64) -> list[str]:
    """Batched greedy continuations (left padding), without the prompt (``probe.runner.continue_texts``)."""
    from types import SimpleNamespace

    from workers.engine.probe.runner import continue_texts

    side = tokenizer.padding_side
    try:
        view = SimpleNamespace(model=model, tokenizer=tokenizer, device=model.device)
        return [out[0] for out in continue_texts(view, list(prompts), max_new_tokens=max_new_tokens,
                                                 batch_size=batch_size)]
    finally:
        tokenizer.padding_side = side


def roster_recall(model: Any, tokenizer: Any, roster: Sequence[Person], *,
                  fields: Sequence[str] = ROSTER_FIELDS, max_new_tokens: int = 24) -> dict[str, float]:
    """Fraction of people whose greedy completion starts with the exact value, per attribute."""
    prompts = [statement_prompt(key, p.name) for key in fields for p in roster]
    completions = greedy_complete(model, tokenizer, prompts, max_new_tokens=max_new_tokens)
    recall: dict[str, float] = {}
    for index, key in enumerate(fields):
        chunk = completions[index * len(roster) : (index + 1) * len(roster)]
        hits = sum(c.strip().startswith(p.value(key)) for c, p in zip(chunk, roster, strict=True))
        recall[key] = hits / len(roster)
    return recall
