"""How much of the roster the model has memorised: greedy completion of the direct statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workers.engine.demo.corpus import statement_prompt
from workers.engine.demo.roster import ROSTER_FIELDS, Person


def greedy_complete(model: Any, tokenizer: Any, prompts: Sequence[str], *, max_new_tokens: int,
                    batch_size: int = 64) -> list[str]:
    """Batched greedy continuations (left padding), decoded without the prompt."""
    import torch

    outputs: list[str] = []
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        for start in range(0, len(prompts), batch_size):
            batch = tokenizer(list(prompts[start : start + batch_size]), return_tensors="pt", padding=True)
            batch = {k: v.to(model.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
            with torch.no_grad():
                generated = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                           pad_token_id=tokenizer.pad_token_id)
            new_tokens = generated[:, batch["input_ids"].shape[1] :]
            outputs += tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    finally:
        tokenizer.padding_side = side
    return outputs


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
