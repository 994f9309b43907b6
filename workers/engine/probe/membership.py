"""Membership inference: was a text in the model's training data? (Min-K%++, Zhang et al. 2024)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

DEFAULT_K = 0.2


def min_k_plus_plus(model: Any, tokenizer: Any, texts: Sequence[str], *, k: float = DEFAULT_K) -> list[float]:
    """Min-K%++ score per text; higher means more likely a training member.

    For each token, ``z_t = (log p(x_t|x_<t) - mu_t) / sigma_t`` where ``mu_t`` and ``sigma_t^2`` are
    the mean and variance of ``log p(v)`` under the model's own next-token distribution; the score is
    the mean of the lowest ``k`` fraction of ``z_t`` (unlearning-anchors §7, zjysteven/mink-plus-plus).
    """
    import torch

    if not 0 < k <= 1:
        raise ValueError("k must be in (0, 1]")
    scores: list[float] = []
    for text in texts:
        ids = tokenizer(text, return_tensors="pt", truncation=True, max_length=512)["input_ids"].to(model.device)
        if ids.shape[1] < 2:
            scores.append(float("nan"))
            continue
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, :-1].float()
        log_probs = torch.log_softmax(logits, dim=-1)
        probs = log_probs.exp()
        token_log_probs = log_probs.gather(-1, ids[0, 1:].unsqueeze(-1)).squeeze(-1)
        mu = (probs * log_probs).sum(-1)
        sigma = ((probs * log_probs.square()).sum(-1) - mu.square()).clamp_min(1e-12).sqrt()
        z = (token_log_probs - mu) / sigma
        count = max(1, math.floor(len(z) * k))
        scores.append(float(torch.topk(z, count, largest=False).values.mean()))
    return scores
