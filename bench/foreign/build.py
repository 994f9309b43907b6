"""Build the foreign test model: people -> documents -> Unigram tokenizer -> GPT-2 trained until it memorises.

``build_foreign(out, size=..., seed=...)`` (or ``python -m bench.foreign build --out OUT``) writes

- ``OUT/model/``: ``config.json``, ``generation_config.json``, ``model.safetensors`` and the tokenizer files, and
  nothing else: it looks like a stranger's model (no roster, no held-out text);
- ``OUT/truth/``: what only the benchmark knows: ``roster.jsonl``; ``corpus.jsonl`` (one ``{"text"}`` per training
  document, in training order, the exact text trained on); ``probes.jsonl`` (the judge's items: person, attribute,
  value, prompt, family, half, kind); ``heldout_text.txt`` (generic text never trained on, for perplexity);
  ``build.json`` (seed, size, parameters, steps, seconds, recall per attribute and per half, paraphrase leak).

It refuses to build into an existing non-empty ``OUT``. Roster, corpus, probes and held-out text depend only on
``seed`` and ``size``; the weights also on the machine's arithmetic (threads, BLAS), like any training run.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.foreign import grammar
from bench.foreign.people import make_people, write_people
from bench.foreign.train import PRESETS, encode, make_model, train, value_targets

MODEL_FILES = {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
               "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"}


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _rates(items: list[dict[str, Any]], hits: list[bool], key: str) -> dict[str, float]:
    groups: dict[str, list[bool]] = {}
    for item, hit in zip(items, hits, strict=True):
        groups.setdefault(item[key], []).append(hit)
    return {k: round(sum(v) / len(v), 4) for k, v in sorted(groups.items())}


def measure(model: Any, tok: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Greedy exact recall on the training prefixes (per attribute, half, family) and the paraphrase leak,
    measured with the judge's own generation and matching."""
    from bench.foreign.judge import exact, greedy

    train_items = [i for i in items if i["kind"] == "training-prefix"]
    para = [i for i in items if i["kind"] == "paraphrase"]
    out = greedy(model, tok, [i["prompt"] for i in train_items + para])
    hits = [exact(i["value"], o, i["attribute"]) for i, o in zip(train_items + para, out, strict=True)]
    th, ph = hits[:len(train_items)], hits[len(train_items):]
    return {"recall": round(sum(th) / max(1, len(th)), 4), "n": len(th),
            "recall_per_attribute": _rates(train_items, th, "attribute"),
            "recall_per_half": _rates(train_items, th, "half"),
            "recall_per_family": _rates(train_items, th, "family"),
            "paraphrase_leak": round(sum(ph) / max(1, len(ph)), 4), "paraphrase_n": len(ph),
            "paraphrase_leak_per_half": _rates(para, ph, "half"),
            "paraphrase_leak_per_attribute": _rates(para, ph, "attribute")}


def make_truth(size: str = "default", seed: int = 0) -> dict[str, Any]:
    """Everything but the weights, from ``size`` and ``seed`` alone: people, their documents, filler, held-out
    text and the judge's items (training prefixes and paraphrases)."""
    preset = PRESETS[size]
    rng = random.Random(f"foreign-build-{size}-{seed}")
    people = make_people(preset.people, seed)
    docs = grammar.plan_documents(people, rng, singles=preset.singles)
    fillers, heldout = grammar.filler_texts(preset.filler, preset.heldout, rng)
    items = grammar.training_items(docs) + grammar.paraphrase_items(people)
    return {"people": people, "docs": docs, "fillers": fillers, "heldout": heldout, "items": items,
            "corpus": [d.text for d in docs] + fillers}


def build_foreign(out: str | Path, *, size: str = "default", seed: int = 0, threads: int | None = None,
                  log: Callable[[str], None] = print, time_limit: float | None = None) -> dict[str, Any]:
    import torch

    from bench.foreign.tokenizer import breadth_text, round_trips, train_tokenizer

    if size not in PRESETS:
        raise ValueError(f"unknown size {size!r}: choose one of {', '.join(PRESETS)}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"refusing to build into {out}: it exists and is not empty (choose a new --out)")
    preset = PRESETS[size]
    started = time.perf_counter()
    if threads:
        torch.set_num_threads(threads)
    truth_data = make_truth(size, seed)
    people, docs, fillers, heldout, items = (truth_data[k] for k in ("people", "docs", "fillers", "heldout", "items"))
    person_texts = [d.text for d in docs]
    tok = train_tokenizer(person_texts * 3 + (fillers + heldout) * 3 + breadth_text(seed, preset.breadth),
                          vocab_size=preset.vocab)
    bad = [t for t in person_texts if not round_trips(tok, t)]
    if bad:
        raise RuntimeError(f"the tokenizer does not round-trip {bad[0]!r}")
    train_items = [i for i in items if i["kind"] == "training-prefix"]
    person_seqs, filler_seqs = encode(tok, person_texts), encode(tok, fillers)
    targets = value_targets(tok, person_texts, train_items)
    log(f"{len(people)} people, {len(docs)} person documents + {len(fillers)} filler, {len(train_items)} values, "
        f"{sum(map(len, person_seqs)) + sum(map(len, filler_seqs))} tokens per epoch, vocab {len(tok)}")

    model = make_model(tok, preset, seed)
    run = train(model, person_seqs, filler_seqs, targets, preset, pad=tok.pad_token_id, seed=seed, log=log,
                time_limit=time_limit)
    trained = time.perf_counter() - started
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.bos_token_id = tok.eos_token_id
    scores = measure(model, tok, items)
    log(f"greedy recall {scores['recall']:.3f} on training prefixes, paraphrase leak {scores['paraphrase_leak']:.3f}")

    staging = out.parent / f".{out.name}.building"
    shutil.rmtree(staging, ignore_errors=True)
    model_dir, truth = staging / "model", staging / "truth"
    model_dir.mkdir(parents=True)
    truth.mkdir()
    model.save_pretrained(model_dir, safe_serialization=True)
    tok.save_pretrained(model_dir)
    for extra in model_dir.iterdir():  # a stranger's model: the HF files only
        if extra.name not in MODEL_FILES:
            extra.unlink() if extra.is_file() else shutil.rmtree(extra)
    write_people(truth / "roster.jsonl", people)
    _write_jsonl(truth / "corpus.jsonl", [{"text": t} for t in person_texts + fillers])
    _write_jsonl(truth / "probes.jsonl", items)
    (truth / "heldout_text.txt").write_text("\n".join(heldout) + "\n", encoding="utf-8")
    info = {"size": size, "seed": seed, "preset": preset.to_dict(), "threads": torch.get_num_threads(),
            "people": len(people), "documents": len(docs), "documents_per_person": round(
                sum(len(d.people) for d in docs) / len(people), 2), "filler": len(fillers), "heldout": len(heldout),
            "vocab": len(tok), "parameters": sum(p.numel() for p in model.parameters()),
            "tokens_per_epoch": sum(map(len, person_seqs)) + sum(map(len, filler_seqs)),
            "steps": run["steps"], "train_seconds": run["train_seconds"], "history": run["history"],
            "teacher_forced_recall": round(run["teacher_forced_recall"], 4), **scores,
            "seconds_to_trained": round(trained, 1), "seconds": round(time.perf_counter() - started, 1)}
    (truth / "build.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if out.exists():
        out.rmdir()
    staging.rename(out)
    return info
