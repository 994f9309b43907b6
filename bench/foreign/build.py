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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.foreign import grammar
from bench.foreign.people import make_people, write_people
from bench.foreign.train import PRESETS, Preset, encode, make_model, train, value_targets

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


def cached(cache: str | Path, seed: int, size: str = "default", *, regression: bool = False,
           threads: int | None = None, log: Callable[[str], None] = print) -> Path:
    """The model of ``seed`` under ``cache``, built there first if it is not yet (``<dir>/model``, ``<dir>/truth``):
    a format-space model, or with ``regression`` the hand-written two-halves model."""
    target = Path(cache) / (f"foreign-{size}-seed{seed}" if regression else f"foreign-space-{size}-seed{seed}")
    if not (target / "truth" / "build.json").is_file():
        shutil.rmtree(target, ignore_errors=True)
        builder = build_foreign if regression else build_space
        builder(target, size=size, seed=seed, threads=threads, log=log)
    return target


def build_foreign(out: str | Path, *, size: str = "default", seed: int = 0, threads: int | None = None,
                  log: Callable[[str], None] = print, time_limit: float | None = None) -> dict[str, Any]:
    """The regression model: the two hand-written halves of phrasings (``grammar``), GPT-2, Unigram, no BOS."""
    from bench.foreign.tokenizer import train_tokenizer

    if size not in PRESETS:
        raise ValueError(f"unknown size {size!r}: choose one of {', '.join(PRESETS)}")
    preset = PRESETS[size]
    truth_data = make_truth(size, seed)
    texts = [d.text for d in truth_data["docs"]]
    return _build(out, truth_data, texts, preset, seed=seed, threads=threads, log=log, time_limit=time_limit,
                  tokenizer=lambda corpus: train_tokenizer(corpus, vocab_size=preset.vocab),
                  model=lambda tok: make_model(tok, preset, seed), max_len=256, info={"kind": "regression", "size": size})


@dataclass(frozen=True)
class SpacePreset:
    people: int
    per_person: int  # formats each person appears in (at least; more when needed to hold all five attributes)
    filler: int
    heldout: int
    lr: float
    batch: int
    max_steps: int
    eval_every: int
    target: float
    time_limit: float  # seconds of training, so that a build stays within 3 minutes on 2 cores


SPACE_PRESETS = {
    "tiny": SpacePreset(people=8, per_person=3, filler=40, heldout=30, lr=3e-3, batch=16, max_steps=300,
                        eval_every=50, target=0.9, time_limit=40.0),
    "default": SpacePreset(people=30, per_person=4, filler=180, heldout=150, lr=3e-3, batch=32, max_steps=3000,
                           eval_every=100, target=0.97, time_limit=140.0),
}


def space_truth(seed: int, size: str = "default") -> dict[str, Any]:
    """A format-space model's people, documents, filler, held-out text, judge items and architecture, from
    ``seed`` and ``size`` alone. Seeds below 100 are for development; the judge draws its own from 1000 up."""
    from bench.foreign import space
    from bench.foreign.arch import draw_arch
    from bench.foreign.names import make_space_people

    if size not in SPACE_PRESETS:
        raise ValueError(f"unknown size {size!r}: choose one of {', '.join(SPACE_PRESETS)}")
    preset = SPACE_PRESETS[size]
    arch = draw_arch(seed, tiny=size == "tiny")
    half = "dev" if seed < 100 else "judge"
    rng = random.Random(f"space-build-{size}-{seed}")
    people = make_space_people(preset.people, seed)
    training, questions = space.draw_space(seed, chat_markers=arch.chat_markers)
    docs = space.plan_documents(people, training, rng, per_person=preset.per_person, markers=arch.chat_markers)
    fillers, heldout = space.filler_docs(preset.filler, preset.heldout, rng)
    items = (space.training_items(docs, half)
             + space.question_items(people, questions, half, rng, arch.chat_markers))
    return {"people": people, "docs": docs, "fillers": fillers, "heldout": heldout, "items": items, "arch": arch,
            "formats": training, "questions": questions, "preset": preset}


def build_space(out: str | Path, *, seed: int, size: str = "default", threads: int | None = None,
                log: Callable[[str], None] = print, time_limit: float | None = None) -> dict[str, Any]:
    """One model of the format space (``space``, ``names``, ``arch``): see ``space_truth``."""
    from bench.foreign.arch import CONTEXT
    from bench.foreign.arch import make_model as make_arch_model
    from bench.foreign.space import chat_template
    from bench.foreign.tokenizer import train_tokenizer

    truth_data = space_truth(seed, size)
    arch, sp = truth_data["arch"], truth_data["preset"]
    preset = Preset(people=sp.people, singles=sp.per_person, filler=sp.filler, heldout=sp.heldout, embd=arch.embd,
                    layers=arch.layers, heads=arch.heads, vocab=arch.vocab, lr=sp.lr, batch=sp.batch,
                    max_steps=sp.max_steps, eval_every=sp.eval_every, target=sp.target)

    def tokenizer(corpus: list[str]) -> Any:
        tok = train_tokenizer(corpus, vocab_size=arch.vocab, kind=arch.tokenizer, bos=arch.bos,
                              extra_alphabet="→•¦—·|", max_length=CONTEXT)
        if arch.chat_markers:
            tok.chat_template = chat_template(arch.chat_markers)
        return tok

    info = {"kind": "space", "size": size, "arch": arch.to_dict(), "formats": [f.key for f in truth_data["formats"]],
            "questions": [f.key for f in truth_data["questions"]]}
    return _build(out, truth_data, [d.text for d in truth_data["docs"]], preset, seed=seed, threads=threads,
                  log=log, time_limit=sp.time_limit if time_limit is None else time_limit, tokenizer=tokenizer,
                  model=lambda tok: make_arch_model(tok, arch, seed), max_len=CONTEXT - 64, info=info)


def _build(out: str | Path, truth_data: dict[str, Any], person_texts: list[str], preset: Preset, *, seed: int,
           threads: int | None, log: Callable[[str], None], time_limit: float | None,
           tokenizer: Callable[[list[str]], Any], model: Callable[[Any], Any], max_len: int,
           info: dict[str, Any]) -> dict[str, Any]:
    import torch

    from bench.foreign.tokenizer import breadth_text, round_trips

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"refusing to build into {out}: it exists and is not empty (choose a new --out)")
    started = time.perf_counter()
    if threads:
        torch.set_num_threads(threads)
    people, fillers, heldout, items = (truth_data[k] for k in ("people", "fillers", "heldout", "items"))
    tok = tokenizer(person_texts * 3 + (fillers + heldout) * 3 + breadth_text(seed, preset.breadth))
    bad = [t for t in person_texts if not round_trips(tok, t)]
    if bad:
        raise RuntimeError(f"the tokenizer does not round-trip {bad[0]!r}")
    train_items = [i for i in items if i["kind"] == "training-prefix"]
    person_seqs, filler_seqs = encode(tok, person_texts, max_len), encode(tok, fillers, max_len)
    long = [t for t in person_texts if len(tok(t)["input_ids"]) >= max_len]
    if long:
        raise RuntimeError(f"a document is longer than {max_len} tokens: {long[0][:60]!r}")
    targets = value_targets(tok, person_texts, train_items)
    log(f"{len(people)} people, {len(person_texts)} person documents + {len(fillers)} filler, {len(train_items)} "
        f"values, {sum(map(len, person_seqs)) + sum(map(len, filler_seqs))} tokens per epoch, vocab {len(tok)}")

    net = model(tok)
    run = train(net, person_seqs, filler_seqs, targets, preset, pad=tok.pad_token_id, seed=seed, log=log,
                time_limit=time_limit)
    trained = time.perf_counter() - started
    net.generation_config.pad_token_id = tok.pad_token_id
    net.generation_config.eos_token_id = tok.eos_token_id
    net.generation_config.bos_token_id = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    scores = measure(net, tok, items)
    log(f"greedy recall {scores['recall']:.3f} on training prefixes, paraphrase leak {scores['paraphrase_leak']:.3f}")

    staging = out.parent / f".{out.name}.building"
    shutil.rmtree(staging, ignore_errors=True)
    model_dir, truth = staging / "model", staging / "truth"
    model_dir.mkdir(parents=True)
    truth.mkdir()
    net.save_pretrained(model_dir, safe_serialization=True)
    tok.save_pretrained(model_dir)
    for extra in model_dir.iterdir():  # a stranger's model: the HF files only
        if extra.name not in MODEL_FILES:
            extra.unlink() if extra.is_file() else shutil.rmtree(extra)
    write_people(truth / "roster.jsonl", people)
    _write_jsonl(truth / "corpus.jsonl", [{"text": t} for t in person_texts + fillers])
    _write_jsonl(truth / "probes.jsonl", items)
    (truth / "heldout_text.txt").write_text("\n".join(heldout) + "\n", encoding="utf-8")
    info = {**info, "seed": seed,
            "preset": preset.to_dict(), "threads": torch.get_num_threads(),
            "people": len(people), "documents": len(person_texts), "documents_per_person": round(
                sum(len(d.people) for d in truth_data["docs"]) / len(people), 2), "filler": len(fillers),
            "heldout": len(heldout), "vocab": len(tok), "parameters": sum(p.numel() for p in net.parameters()),
            "tokens_per_epoch": sum(map(len, person_seqs)) + sum(map(len, filler_seqs)),
            "filler_token_share": round(sum(map(len, filler_seqs)) / max(1, sum(map(len, person_seqs + filler_seqs))), 3),
            "steps": run["steps"], "train_seconds": run["train_seconds"], "history": run["history"],
            "teacher_forced_recall": round(run["teacher_forced_recall"], 4), **scores,
            "seconds_to_trained": round(trained, 1), "seconds": round(time.perf_counter() - started, 1)}
    (truth / "build.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if out.exists():
        out.rmdir()
    staging.rename(out)
    return info
