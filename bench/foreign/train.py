"""Train the foreign model: a GPT-2 (not the demo's Llama) fed the corpus until it has memorised the people.

Each document is one training row, ``tokens(text) + [<|endoftext|>]``, starting at position 0 (no BOS: a prompt is
the document's own text, as any caller would send it), right-padded in length-sorted batches. AdamW, linear
warmup, cosine decay to a tenth; every ``eval_every`` steps a teacher-forced check (one forward pass over the
person documents: is every token of every value the argmax after its exact training prefix?) and training stops
once that holds for ``target`` of the values. That check is exactly "greedy completion of the prefix reproduces the
value", because the tokenizer segments the prefix alone as it segments it inside the document (``prompt_ids``
checks it); ``build`` then measures the real greedy recall with the judge.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    people: int
    singles: int  # single-person documents per person and half (at least; more when needed to cover)
    filler: int
    heldout: int
    embd: int
    layers: int
    heads: int
    vocab: int
    lr: float
    batch: int
    max_steps: int
    eval_every: int
    target: float
    warmup: int = 60
    breadth: int = 1000  # extra tokenizer-only lines

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS = {
    "tiny": Preset(people=10, singles=2, filler=40, heldout=60, embd=128, layers=2, heads=4, vocab=2500, lr=3e-3,
                   batch=16, max_steps=600, eval_every=50, target=0.9),
    "default": Preset(people=72, singles=2, filler=150, heldout=200, embd=192, layers=3, heads=4, vocab=4000,
                      lr=2e-3, batch=32, max_steps=1500, eval_every=100, target=0.97),
}


def encode(tok: Any, texts: Sequence[str], max_len: int = 256) -> list[list[int]]:
    return [tok(t)["input_ids"][:max_len - 1] + [tok.eos_token_id] for t in texts]


def value_targets(tok: Any, doc_texts: Sequence[str], items: Sequence[dict[str, Any]]) -> list[tuple[int, int, int]]:
    """Per training-prefix item: (document, first value token, one past its last token), read off the document's
    own offsets. Where the prompt alone is segmented as the document's first tokens (always on the regression
    model), the teacher-forced check is exactly greedy completion of the prompt; where it is not (a value glued
    to a quote in JSON, say), it is the closest check, and ``build`` measures real greedy recall anyway."""
    out = []
    cache: dict[int, Any] = {}
    for item in items:
        doc = item["doc"]
        if doc not in cache:
            cache[doc] = tok(doc_texts[doc], return_offsets_mapping=True)
        offsets = cache[doc]["offset_mapping"]
        text = doc_texts[doc]
        start = len(item["prompt"]) + (1 if text[len(item["prompt"]):].startswith(" ") else 0)
        end = start + len(item["value"])
        covering = [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
        if not covering:
            raise ValueError(f"no token covers the value after {item['prompt'][-40:]!r}")
        out.append((doc, covering[0], covering[-1] + 1))
    return out


def _batch(seqs: Sequence[list[int]], pad: int) -> tuple[Any, Any]:
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        ids[row, :len(seq)] = torch.tensor(seq)
        mask[row, :len(seq)] = 1
    return ids, mask


def teacher_forced_recall(model: Any, seqs: Sequence[list[int]], targets: Sequence[tuple[int, int, int]],
                          pad: int, batch: int = 64) -> float:
    """Share of values whose every token is the model's argmax after the exact training prefix."""
    import torch

    docs = sorted({d for d, _, _ in targets}, key=lambda d: len(seqs[d]))
    correct: dict[int, Any] = {}
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(docs), batch):
            chunk = docs[start:start + batch]
            ids, mask = _batch([seqs[d] for d in chunk], pad)
            pred = model(input_ids=ids, attention_mask=mask).logits.argmax(-1)
            hit = torch.zeros_like(ids, dtype=torch.bool)
            hit[:, 1:] = pred[:, :-1] == ids[:, 1:]
            for row, d in enumerate(chunk):
                correct[d] = hit[row]
    model.train(was_training)
    good = sum(bool(correct[d][a:b].all()) for d, a, b in targets)
    return good / max(1, len(targets))


def make_model(tok: Any, preset: Preset, seed: int) -> Any:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=len(tok), n_positions=256, n_embd=preset.embd, n_layer=preset.layers,
                        n_head=preset.heads, n_inner=4 * preset.embd, resid_pdrop=0.0, embd_pdrop=0.0,
                        attn_pdrop=0.0, bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id,
                        pad_token_id=tok.pad_token_id)
    return GPT2LMHeadModel(config)


def train(model: Any, person_seqs: list[list[int]], filler_seqs: list[list[int]],
          targets: list[tuple[int, int, int]], preset: Preset, *, pad: int, seed: int,
          log: Callable[[str], None] = print, time_limit: float | None = None) -> dict[str, Any]:
    """Train in place; ``targets`` index ``person_seqs``. Returns steps, the recall history and seconds."""
    import torch

    rng = random.Random(f"foreign-train-{seed}")
    rows = [(s, True) for s in person_seqs] + [(s, False) for s in filler_seqs]
    optimizer = torch.optim.AdamW(model.parameters(), lr=preset.lr, betas=(0.9, 0.98), weight_decay=0.0)

    def lr_at(step: int) -> float:
        if step <= preset.warmup:
            return preset.lr * step / preset.warmup
        progress = min(1.0, (step - preset.warmup) / max(1, preset.max_steps - preset.warmup))
        return preset.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))

    queue: list[list[list[int]]] = []
    history: list[dict[str, Any]] = []
    started = time.perf_counter()
    recall, step = 0.0, 0
    model.train()
    for step in range(1, preset.max_steps + 1):
        if not queue:  # one epoch: shuffled, cut in length-sorted windows of 8 batches, then batches shuffled
            order = list(rows)
            rng.shuffle(order)
            window = 8 * preset.batch
            for w in range(0, len(order), window):
                part = sorted(order[w:w + window], key=lambda r: len(r[0]))
                queue += [[r[0] for r in part[b:b + preset.batch]] for b in range(0, len(part), preset.batch)]
            rng.shuffle(queue)
        ids, mask = _batch(queue.pop(), pad)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        loss = model(input_ids=ids, attention_mask=mask, labels=ids.masked_fill(mask == 0, -100)).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        out_of_time = time_limit is not None and time.perf_counter() - started > time_limit
        if step % preset.eval_every == 0 or step == preset.max_steps or out_of_time:
            recall = teacher_forced_recall(model, person_seqs, targets, pad)
            seconds = time.perf_counter() - started
            history.append({"step": step, "loss": round(loss.item(), 4), "recall": round(recall, 4),
                            "seconds": round(seconds, 1)})
            log(f"step {step}: loss {loss.item():.3f}, teacher-forced value recall {recall:.3f} ({seconds:.0f} s)")
            if recall >= preset.target or out_of_time:
                break
    model.eval()
    return {"steps": step, "history": history, "teacher_forced_recall": recall,
            "train_seconds": round(time.perf_counter() - started, 1)}
