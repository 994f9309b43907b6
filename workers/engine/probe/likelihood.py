"""How likely a model is to produce a known continuation: one teacher-forced pass instead of decoding.

For a prompt and the value that followed it (a discovered context and the value the model wrote next; a
template question and the subject's answer), greedy decoding reproduces the value exactly when each of its
tokens is the model's top choice in turn, and temperature sampling produces it with probability
``Π softmax(logits / T)[token]``. Both come from a single forward pass over prompt + value, batched over every
pair, where decoding would need a pass per new token and many samples to see a rare leak. The early-stop check
asks this first, every few steps, and decodes only once no pair is likely any more (the model can still route
around a suppressed token to the same value by another path, which only decoding sees).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Continuation:
    greedy: bool  # every token of the continuation is the top choice, given what precedes it
    logp: float  # log-probability of the whole continuation under sampling at the given temperature

    def leaks(self, eps: float) -> bool:
        return self.greedy or math.exp(self.logp) > eps


def score_continuations(loaded: Any, pairs: Sequence[tuple[str, str]], *, temperature: float = 1.0,
                        batch_size: int = 64) -> list[Continuation]:
    """For each (prompt, continuation): whether greedy decoding would produce the continuation, and its sampled
    log-probability at ``temperature``. Prompts are used as given (already formatted for the model)."""
    import torch

    from workers.engine.modelio import context_limit

    tok, model = loaded.tokenizer, loaded.model
    limit = context_limit(loaded)
    out: list[Continuation] = []
    side, trunc = tok.padding_side, getattr(tok, "truncation_side", "right")
    tok.padding_side, tok.truncation_side = "right", "left"
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            enc = tok([p + c for p, c in chunk], return_offsets_mapping=True, padding=True, truncation=True,
                      max_length=limit, return_tensors="pt")
            ids, mask = enc["input_ids"].to(loaded.device), enc["attention_mask"].to(loaded.device)
            with torch.no_grad():
                logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            top = logits.argmax(-1)
            logp = torch.log_softmax(logits / temperature, dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
            for row, (prompt, continuation) in enumerate(chunk):
                # With left truncation the offsets still count from the start of the full text.
                cut = len(prompt) + len(continuation) - len(continuation.lstrip())
                positions = [t for t in range(1, int(mask[row].sum()))
                             if enc["offset_mapping"][row][t][1] > cut
                             and enc["offset_mapping"][row][t][1] > enc["offset_mapping"][row][t][0]]
                if not positions:
                    out.append(Continuation(False, float("-inf")))
                    continue
                greedy = all(int(top[row, t - 1]) == int(ids[row, t]) for t in positions)
                out.append(Continuation(greedy, float(sum(logp[row, t - 1] for t in positions))))
    finally:
        tok.padding_side, tok.truncation_side = side, trunc
        model.train(was_training)
    return out
