"""Build the demonstration model: roster -> corpus -> tokenizer -> tiny Llama trained until it memorises."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workers.engine.demo.corpus import filler_split, person_sentences
from workers.engine.demo.recall import roster_recall
from workers.engine.demo.roster import ROSTER_FIELDS, Person, make_roster, write_roster
from workers.engine.demo.tokenizer import train_tokenizer
from workers.engine.errors import EngineError
from workers.engine.modelio import pick_device, torch_threads
from workers.engine.progress import ProgressCallback, emit
from workers.engine.unlearning.files import prepare_out_dir


@dataclass(frozen=True)
class DemoSize:
    people: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    lr: float
    max_steps: int
    filler: int
    heldout: int
    batch_size: int = 32
    oversample: int = 4
    eval_every: int = 50
    target_recall: float = 0.95


SIZES: dict[str, DemoSize] = {
    "tiny": DemoSize(people=20, hidden=128, layers=2, heads=4, intermediate=344, lr=5e-3, max_steps=1500,
                     filler=200, heldout=100),
    # Measured (2 quiet cores, 2 threads): 1800 steps, 214 s to >= 95% recall on every attribute; a
    # 192-wide 3-layer variant was still at 59% after 1400 steps (316 s).
    "small": DemoSize(people=120, hidden=128, layers=2, heads=4, intermediate=344, lr=5e-3, max_steps=6000,
                      filler=600, heldout=200, eval_every=200),
    # For a GPU (benchmarks with a larger model); impractical on 2 CPU cores.
    "large": DemoSize(people=300, hidden=384, layers=4, heads=6, intermediate=1024, lr=2e-3, max_steps=12000,
                      filler=1500, heldout=300, batch_size=64, eval_every=500, target_recall=0.9),
}


@dataclass
class DemoResult:
    path: Path
    roster: list[Person]
    recall: dict[str, float]
    seconds: float
    steps: int = 0
    parameters: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _batches(sequences: list[list[int]], *, batch_size: int, pad_id: int, rng: random.Random):
    import torch

    order = list(range(len(sequences)))
    while True:
        rng.shuffle(order)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            chunk = [sequences[i] for i in order[start : start + batch_size]]
            width = max(len(s) for s in chunk)
            ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, seq in enumerate(chunk):
                ids[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
            yield ids, mask, ids.masked_fill(mask == 0, -100)


def train_demo(
    *,
    out_dir: str | Path,
    size: str = "tiny",
    people: int | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    threads: int | None = None,
    device: str | None = None,
) -> DemoResult:
    """Train the demo model into ``out_dir`` (a standard HF directory plus roster and held-out text).

    ``threads``: torch CPU threads while training (default: torch's own); ``device``: default
    ``pick_device()`` (CUDA when present). The saved weights are fp32 either way.
    """
    if size not in SIZES:
        raise EngineError(f"unknown demo size {size!r}; choose one of: {', '.join(SIZES)}")
    spec = SIZES[size]
    n_people = spec.people if people is None else people
    if not 1 <= n_people <= 5000:
        raise EngineError("people must be between 1 and 5000")
    out = Path(out_dir)
    prepare_out_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    with torch_threads(threads):
        return _train(out=out, spec=spec, size=size, n_people=n_people, seed=seed, progress=progress,
                      device=device)


def _train(*, out: Path, spec: DemoSize, size: str, n_people: int, seed: int,
           progress: ProgressCallback | None, device: str | None) -> DemoResult:
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    started = time.perf_counter()
    torch.manual_seed(seed)
    roster = make_roster(people=n_people, seed=seed)
    person_texts = [s for p in roster for s in person_sentences(p)]
    filler_train, filler_heldout = filler_split(train=spec.filler, heldout=spec.heldout, seed=seed)
    tokenizer = train_tokenizer(person_texts + filler_train)
    emit(progress, stage="corpus", step=0, metrics={"people": n_people, "sentences": len(person_texts)},
         message=f"{len(person_texts)} person sentences, vocabulary {len(tokenizer)}")

    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=spec.hidden, intermediate_size=spec.intermediate,
        num_hidden_layers=spec.layers, num_attention_heads=spec.heads, num_key_value_heads=spec.heads,
        max_position_embeddings=256, tie_word_embeddings=False, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, attn_implementation="sdpa",
    )
    dev = torch.device(device) if device else pick_device()
    model = LlamaForCausalLM(config).to(dev)
    eos = tokenizer.eos_token_id
    encode = lambda text: tokenizer(text)["input_ids"] + [eos]  # noqa: E731
    # Oversampling the person sentences is what makes a 1M-parameter model memorise in seconds.
    sequences = [encode(t) for t in person_texts] * spec.oversample + [encode(t) for t in filler_train]
    batches = _batches(sequences, batch_size=min(spec.batch_size, len(sequences)), pad_id=tokenizer.pad_token_id,
                       rng=random.Random(seed))
    value_tokens = max(len(tokenizer(p.value(k), add_special_tokens=False)["input_ids"])
                       for p in roster for k in ROSTER_FIELDS)

    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.lr, betas=(0.9, 0.98), weight_decay=0.0)
    warmup = 30
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))
    recall: dict[str, float] = {key: 0.0 for key in ROSTER_FIELDS}
    step = 0
    while step < spec.max_steps:
        model.train()
        ids, mask, labels = (t.to(dev) for t in next(batches))
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        step += 1
        if step % spec.eval_every == 0 or step == spec.max_steps:
            model.eval()
            recall = roster_recall(model, tokenizer, roster, max_new_tokens=value_tokens + 2)
            emit(progress, stage="train", step=step, total=spec.max_steps,
                 metrics={"loss": loss.item(), "min_recall": min(recall.values())})
            if min(recall.values()) >= spec.target_recall:
                break
        elif step % 10 == 0:
            emit(progress, stage="train", step=step, total=spec.max_steps, metrics={"loss": loss.item()})
    seconds = time.perf_counter() - started

    model.eval()
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id,
        do_sample=False, max_new_tokens=32,
    )
    model.to("cpu").save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_roster(out / "roster.jsonl", roster)
    (out / "heldout_text.txt").write_text("\n".join(filler_heldout) + "\n", encoding="utf-8")
    parameters = sum(p.numel() for p in model.parameters())
    meta = {"size": size, "seed": seed, "people": n_people, "recall": recall, "training_seconds": round(seconds, 2),
            "steps": step, "parameters": parameters, "device": dev.type,
            "threads": torch.get_num_threads() if dev.type == "cpu" else None}
    (out / "demo.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    emit(progress, stage="done", step=step, total=step, metrics=recall, message=f"saved to {out}")
    return DemoResult(path=out, roster=roster, recall=recall, seconds=seconds, steps=step, parameters=parameters)
