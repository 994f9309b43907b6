"""Turn (prompt, completion) examples into padded training batches with labels and token weights."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from workers.engine.losses import IGNORE_INDEX


@dataclass(frozen=True)
class TrainExample:
    """One training sequence. Only completion tokens carry loss (prompt tokens get ``-100``).

    ``spans`` are character ranges *inside the completion* that hold personal data; the FPGA method
    puts its ascent on the tokens overlapping them. ``eos`` appends the end-of-sequence token, for
    complete sentences (not for probe completions cut at ``max_new_tokens``).
    """

    prompt: str
    completion: str
    spans: tuple[tuple[int, int], ...] = ()
    eos: bool = False
    source: str = "finding"
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    # The prompt is the model's own text (a discovered context, a fact about someone else), not a question to it:
    # never wrapped in a chat template.
    raw: bool = False


def encode_example(tokenizer: Any, example: TrainExample, *, max_length: int, context_weight: float = 0.0,
                   format_tokens: frozenset[int] = frozenset()) -> dict[str, list[float] | list[int]]:
    from workers.engine.modelio import format_prompt

    prompt = format_prompt(tokenizer, example.prompt) if example.prompt and not example.raw else example.prompt
    text = prompt + example.completion
    enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=True, truncation=True,
                    max_length=max_length - int(example.eos))
    ids: list[int] = list(enc["input_ids"])
    offsets: list[tuple[int, int]] = [tuple(o) for o in enc["offset_mapping"]]
    cut = len(prompt)
    spans = [(cut + s, cut + e) for s, e in example.spans]
    labels: list[int] = []
    weights: list[float] = []
    for tok, (start, end) in zip(ids, offsets, strict=True):
        in_completion = end > cut and end > start
        labels.append(tok if in_completion else IGNORE_INDEX)
        # Format tokens (methods/format_tokens.py) inside a span are the value's shape, not the person's data.
        personal = in_completion and tok not in format_tokens and any(start < e and end > s for s, e in spans)
        weights.append(1.0 if personal else (context_weight if in_completion else 0.0))
    if example.eos and tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
        labels.append(tokenizer.eos_token_id)
        weights.append(context_weight)
    return {"input_ids": ids, "labels": labels, "weights": weights}


def collate(encoded: list[dict[str, list]], *, pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Right-pad (training keeps the positions the model was trained with; the probe pads left)."""
    width = max(len(e["input_ids"]) for e in encoded)

    def pad(key: str, value: float | int, dtype: torch.dtype) -> torch.Tensor:
        rows = [e[key] + [value] * (width - len(e[key])) for e in encoded]
        return torch.tensor(rows, dtype=dtype, device=device)

    ids = pad("input_ids", pad_id, torch.long)
    mask = torch.tensor([[1] * len(e["input_ids"]) + [0] * (width - len(e["input_ids"])) for e in encoded],
                        dtype=torch.long, device=device)
    return {"input_ids": ids, "attention_mask": mask, "labels": pad("labels", IGNORE_INDEX, torch.long),
            "weights": pad("weights", 0.0, torch.float32)}


def make_batches(tokenizer: Any, examples: list[TrainExample], *, batch_size: int, device: torch.device,
                 max_length: int = 128, context_weight: float = 0.0, seed: int = 0,
                 format_tokens: frozenset[int] = frozenset()) -> list[dict[str, torch.Tensor]]:
    """Fixed, seeded batches; examples with no labelled token are dropped (nothing to learn from)."""
    encoded = [encode_example(tokenizer, ex, max_length=max_length, context_weight=context_weight,
                              format_tokens=format_tokens) for ex in examples]
    encoded = [e for e in encoded if any(lab != IGNORE_INDEX for lab in e["labels"])]
    if not encoded:
        return []
    order = torch.randperm(len(encoded), generator=torch.Generator().manual_seed(seed)).tolist()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return [collate([encoded[i] for i in order[k:k + batch_size]], pad_id=pad_id, device=device)
            for k in range(0, len(order), batch_size)]
