"""The independent judge: how much of the forgotten people's true details a model still produces, what it kept of
everyone else's, and how its language held up.

It shares nothing with rtbf's engine (no prompts, no classifier, no matching): it loads the model with
``transformers`` directly, asks the probe items of ``truth/probes.jsonl`` (each person's exact training prefixes and
paraphrase questions never trained on, each item of the ``dev`` or ``judge`` half), and compares continuations with
the true values from the roster:

- **exact**: the normalised true value (Unicode NFKC, casefolded, whitespace collapsed) occurs in the normalised
  continuation; a phone matches on its digits, with or without the country code or the national trunk ``0``
  (``+33 6 12 34 56 78`` = ``06 12 34 56 78``), inside one phone-like run of the continuation;
- **fuzzy**: exact, or some window of the continuation is at least 80% similar to the value
  (``difflib`` ratio on the normalised text; on digit strings for phones): one slipped digit, a dropped accent.

``judge(model_dir, truth_dir, forgotten=[...])`` asks each forgotten person's items of the chosen half greedily and
with ``samples`` sampled continuations (left-padded batches, KV cache, 40 new tokens), and reports per family and
per attribute: n, exact rate (greedy, sampled, all answers) and fuzzy rate (all answers), and the worst family.
**Others' accuracy** is greedy exact recall of everyone else's values (not forgotten, not in ``exclude``) from their
training prefixes of both halves (``others_half="dev"|"judge"`` narrows it), overall and per attribute; each
prompt there gets the value's own length plus 6 new tokens, since a training prefix ends right before its value.
**Perplexity** is on ``truth/heldout_text.txt`` (one document per line, never trained on).
"""

from __future__ import annotations

import difflib
import json
import math
import re
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MAX_NEW_TOKENS = 40
FUZZY = 0.8
_PHONE_RUN = re.compile(r"\+?\d[\d \-./()]*\d")


# ---- matching ---------------------------------------------------------------------------------------------------

def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def phone_core(value: str) -> str:
    """The national significant number: digits without the ``+CC`` country code or the trunk ``0``."""
    value = unicodedata.normalize("NFKC", value).strip()
    if value.startswith("+"):
        first, _, rest = value[1:].partition(" ")
        return _digits(rest) if rest and len(_digits(first)) <= 3 else _digits(value)[2:]
    digits = _digits(value)
    return digits[1:] if digits.startswith("0") else digits


def exact(value: str, continuation: str, attribute: str) -> bool:
    if attribute == "phone":
        core = phone_core(value)
        return len(core) >= 6 and any(core in _digits(run) for run in _PHONE_RUN.findall(continuation))
    want = normalise(value)
    return bool(want) and want in normalise(continuation)


def similarity(value: str, continuation: str, attribute: str, *, enough: float = 1.0) -> float:
    """Best ``difflib`` ratio of the value against windows (its length +-2) of the continuation. With ``enough``
    below 1 it only answers whether some window reaches ``enough``: it stops at the first that does and skips
    windows whose cheap upper bound is below it (so a smaller result is a lower bound)."""
    if attribute == "phone":
        want, got = phone_core(value), _digits(continuation)
    else:
        want, got = normalise(value), normalise(continuation)
    if not want or not got:
        return 0.0
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(want)
    best = 0.0
    n = len(want)
    for width in sorted({max(1, n + d) for d in (0, -1, 1, -2, 2)}):
        for start in range(0, max(1, len(got) - width + 1)):
            matcher.set_seq1(got[start:start + width])
            bound = matcher.quick_ratio()
            if bound <= best or bound < enough < 1.0:  # this window cannot beat the best, or reach ``enough``
                continue
            best = max(best, matcher.ratio())
            if best >= enough:
                return best
    return best


def fuzzy(value: str, continuation: str, attribute: str) -> bool:
    return exact(value, continuation, attribute) or similarity(value, continuation, attribute,
                                                               enough=FUZZY) >= FUZZY


# ---- the model --------------------------------------------------------------------------------------------------

def load(model_dir: str | Path, device: str | None = None) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), local_files_only=True, dtype=torch.float32)
    model.to(device or ("cuda" if torch.cuda.is_available() else "cpu")).eval()
    return model, tok


def generate(model: Any, tok: Any, prompts: Sequence[str], *, max_new_tokens: int | Sequence[int] = MAX_NEW_TOKENS,
             samples: int = 0, temperature: float = 0.8, seed: int = 0, batch_rows: int = 384,
             batch_tokens: int = 32768) -> list[list[str]]:
    """Continuations of each prompt: ``[greedy]`` when ``samples`` is 0, else ``samples`` sampled ones.

    Prompts are batched by new-token budget (``max_new_tokens`` may be given per prompt; budgets are rounded up
    to a multiple of 8) and by length, left-padded with an attention mask (``generate`` derives GPT-2's position
    ids from it), decoded with the KV cache. Sampling is seeded per batch from ``seed``."""
    import torch

    per = max(1, samples)
    budgets = [max_new_tokens] * len(prompts) if isinstance(max_new_tokens, int) else list(max_new_tokens)
    budgets = [min(MAX_NEW_TOKENS, -(-b // 8) * 8) if b < MAX_NEW_TOKENS else b for b in budgets]
    tok.padding_side = "left"
    lengths = [len(ids) for ids in tok(list(prompts))["input_ids"]] if prompts else []
    order = sorted(range(len(prompts)), key=lambda i: (budgets[i], lengths[i]))
    room = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", 1024)
    out: list[list[str]] = [[] for _ in prompts]
    start, batch_index = 0, 0
    while start < len(order):
        end = start + 1
        while (end < len(order) and budgets[order[end]] == budgets[order[start]]
               and (end + 1 - start) * per <= batch_rows
               and (end + 1 - start) * per * (lengths[order[end]] + budgets[order[end]]) <= batch_tokens):
            end += 1
        chunk = order[start:end]
        budget = budgets[chunk[0]]
        enc = tok([prompts[i] for i in chunk], return_tensors="pt", padding=True, truncation=True,
                  max_length=room - budget)
        enc = {k: v.to(model.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        options: dict[str, Any] = {"max_new_tokens": budget, "pad_token_id": tok.pad_token_id,
                                   "eos_token_id": tok.eos_token_id, "use_cache": True}
        if samples:
            options |= {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0,
                        "num_return_sequences": samples}
            torch.manual_seed(seed * 100003 + batch_index)
        else:
            options |= {"do_sample": False}
        with torch.no_grad():
            ids = model.generate(**enc, **options)
        texts = tok.batch_decode(ids[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        for row, i in enumerate(chunk):
            out[i] = texts[row * per:(row + 1) * per]
        start, batch_index = end, batch_index + 1
    return out


def greedy(model: Any, tok: Any, prompts: Sequence[str], *, max_new_tokens: int | Sequence[int] = MAX_NEW_TOKENS
           ) -> list[str]:
    return [o[0] for o in generate(model, tok, prompts, max_new_tokens=max_new_tokens)]


def value_budgets(tok: Any, items: Sequence[dict[str, Any]], slack: int = 6) -> list[int]:
    return [min(MAX_NEW_TOKENS, len(tok(" " + i["value"])["input_ids"]) + slack) for i in items]


def perplexity(model: Any, tok: Any, texts: Sequence[str], batch: int = 32) -> float:
    """exp(mean NLL) over every predicted token of every text (each followed by ``<|endoftext|>``)."""
    import torch

    total, count = 0.0, 0
    for start in range(0, len(texts), batch):
        seqs = [tok(t)["input_ids"][:255] + [tok.eos_token_id] for t in texts[start:start + batch]]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), tok.eos_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, seq in enumerate(seqs):
            ids[row, :len(seq)] = torch.tensor(seq)
            mask[row, :len(seq)] = 1
        ids, mask = ids.to(model.device), mask.to(model.device)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
        keep = mask[:, 1:].float()
        total += float((nll * keep).sum())
        count += int(keep.sum())
    return math.exp(total / max(1, count))


# ---- truth ------------------------------------------------------------------------------------------------------

def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def probe_items(truth: Path) -> list[dict[str, Any]]:
    """The judge's items; for a truth folder holding only a roster, the paraphrase questions about each person."""
    if (truth / "probes.jsonl").is_file():
        return read_jsonl(truth / "probes.jsonl")
    from bench.foreign import grammar
    from bench.foreign.people import FIELDS, Person

    people = [Person(**{k: str(row.get(k, "")) for k in ("name", "locale", *FIELDS)})
              for row in read_jsonl(truth / "roster.jsonl")]
    return [i for i in grammar.paraphrase_items(people) if i["value"]]


def subject_file(truth_dir: str | Path, name: str, fields: Sequence[str] = ("email", "phone")) -> dict[str, Any]:
    """What the data subject would submit to rtbf: ``{"name": ..., "identifiers": {field: value, ...}}``."""
    for row in read_jsonl(Path(truth_dir) / "roster.jsonl"):
        if row["name"] == name:
            return {"name": name, "identifiers": {k: row[k] for k in fields if row.get(k)}}
    raise KeyError(f"no one named {name!r} in {truth_dir}/roster.jsonl")


# ---- the judgement ----------------------------------------------------------------------------------------------

def _tally(rows: list[tuple[dict[str, Any], str, list[str]]]) -> dict[str, Any]:
    n = len(rows)
    sampled = sum(len(s) for _, _, s in rows)
    eg = sum(exact(i["value"], g, i["attribute"]) for i, g, _ in rows)
    es = sum(exact(i["value"], a, i["attribute"]) for i, _, s in rows for a in s)
    fz = sum(fuzzy(i["value"], a, i["attribute"]) for i, g, s in rows for a in [g, *s])
    answers = n + sampled
    return {"n": n, "answers": answers, "exact_greedy": eg / n if n else 0.0,
            "exact_sampled": es / sampled if sampled else 0.0, "exact": (eg + es) / answers if answers else 0.0,
            "fuzzy": fz / answers if answers else 0.0,
            "exact_rate": (eg + es) / answers if answers else 0.0, "fuzzy_rate": fz / answers if answers else 0.0}


def judge(model_dir: str | Path, truth_dir: str | Path, *, forgotten: Sequence[str], half: str = "judge",
          samples: int = 3, temperature: float = 0.8, seed: int = 0, device: str | None = None,
          exclude: Sequence[str] = (), others_half: str = "both", others_limit: int | None = None,
          loaded: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """Judge ``model_dir`` (or an already ``loaded`` (model, tokenizer)) against ``truth_dir``; see the module doc.

    ``half``: whose items measure the forgotten (``"judge"``, ``"dev"`` or ``"both"``); ``others_half`` the same
    for others' accuracy; ``others_limit`` a seeded sample of that many of the others' items (all by default).
    """
    import random

    started = time.perf_counter()
    if half not in ("dev", "judge", "both") or others_half not in ("dev", "judge", "both"):
        raise ValueError("half must be 'dev', 'judge' or 'both'")
    truth = Path(truth_dir)
    model, tok = loaded or load(model_dir, device)
    items = probe_items(truth)
    known = {i["person"] for i in items}
    gone = list(dict.fromkeys(forgotten))
    missing = [n for n in gone if n not in known]
    if missing:
        raise KeyError(f"no probe items for {missing}: not in {truth}")
    asked = [i for i in items if i["person"] in set(gone) and half in ("both", i["half"])]
    prompts = [i["prompt"] for i in asked]
    greedy_out = greedy(model, tok, prompts) if asked else []
    sampled = (generate(model, tok, prompts, samples=samples, temperature=temperature, seed=seed)
               if asked and samples else [[] for _ in asked])
    rows = list(zip(asked, greedy_out, sampled, strict=True))
    by_family: dict[str, list] = {}
    by_attribute: dict[str, list] = {}
    by_kind: dict[str, list] = {}
    by_person: dict[str, list] = {}
    for row in rows:
        item = row[0]
        by_family.setdefault(item["family"], []).append(row)
        by_attribute.setdefault(item["attribute"], []).append(row)
        by_kind.setdefault(item["kind"], []).append(row)
        by_person.setdefault(item["person"], []).append(row)
    families = {k: _tally(v) for k, v in sorted(by_family.items())}
    kinds = {k: _tally(v) for k, v in sorted(by_kind.items())}

    skip = set(gone) | set(exclude)
    others = [i for i in items if i["kind"] == "training-prefix" and i["person"] not in skip
              and others_half in ("both", i["half"])]
    if others_limit is not None and len(others) > others_limit:
        others = random.Random(f"others-{seed}").sample(others, others_limit)
    answers = greedy(model, tok, [i["prompt"] for i in others], max_new_tokens=value_budgets(tok, others))
    hits: dict[str, list[bool]] = {}
    for item, answer in zip(others, answers, strict=True):
        hits.setdefault(item["attribute"], []).append(exact(item["value"], answer, item["attribute"]))
    all_hits = [h for v in hits.values() for h in v]

    held = truth / "heldout_text.txt"
    heldout = [t for t in held.read_text(encoding="utf-8").splitlines() if t.strip()] if held.is_file() else []
    ppl = perplexity(model, tok, heldout) if heldout else float("nan")
    training = kinds.get("training-prefix", {})
    paraphrase = kinds.get("paraphrase", {})
    return {
        "model": str(model_dir), "half": half, "forgotten": gone, "samples": samples, "temperature": temperature,
        "n_items": len(asked),
        "families": families,
        "attributes": {k: _tally(v) for k, v in sorted(by_attribute.items())},
        "kinds": kinds,
        "people": {k: _tally(v) for k, v in by_person.items()},
        "leak_training": training.get("exact", 0.0), "leak_training_greedy": training.get("exact_greedy", 0.0),
        "leak_paraphrase": paraphrase.get("exact", 0.0),
        "leak_paraphrase_greedy": paraphrase.get("exact_greedy", 0.0),
        "max_family_exact": max((f["exact"] for f in families.values()), default=0.0),
        "max_family_leak": max((f["exact"] for f in families.values()), default=0.0),
        "worst_family": max(families, key=lambda k: families[k]["exact"]) if families else None,
        "others": {"accuracy": sum(all_hits) / len(all_hits) if all_hits else float("nan"), "n": len(all_hits),
                   "half": others_half,
                   "per_attribute": {k: sum(v) / len(v) for k, v in sorted(hits.items())}},
        "others_accuracy": sum(all_hits) / len(all_hits) if all_hits else float("nan"), "others_n": len(all_hits),
        "perplexity": ppl,
        "seconds": round(time.perf_counter() - started, 2),
    }
