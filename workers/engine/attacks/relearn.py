"""Relearning attack: a little fine-tuning brings back what unlearning only hid (RepSelect/CIR arXiv 2509.11816,
Unlearn-Smooth arXiv 2502.05374). Two variants, each ``relearn_steps`` LoRA steps on a copy of the saved model,
then the plain probe again:

- ``unrelated``: documents the model writes itself that never name the subject (what any later fine-tune on
  other text looks like);
- ``partial``: one forgotten attribute given back (the subject's discovered contexts for it, completed with the
  true value, and the plain statement), then probed for the *other* forgotten attributes only, since the one
  given back is known to the attacker."""

from __future__ import annotations

import copy
from typing import Any

from workers.engine.attacks.base import AttackSettings, Outcome, Target
from workers.engine.attributes import ATTRIBUTES
from workers.engine.probe.config import ProbeConfig

BATCH = 8
RANK = 8


def _unrelated_texts(loaded: Any, target: Target, *, seed: int) -> list[str]:
    from workers.engine.probe.slots import model_texts

    name = target.subject.name.casefold()
    surname = name.split()[-1] if name.split() else name
    return [t for t in model_texts(loaded, samples=64, seed=seed) if surname not in t.casefold()]


def _given_back(target: Target) -> tuple[str | None, list[str]]:
    """The first forgotten attribute with a true value the attacker can write down, and texts stating it."""
    from workers.engine.probe.runner import all_known

    known = all_known(target.subject, list(target.discovered))
    for key in target.attributes:
        values = [v.value for v in known if v.attribute == key]
        if key == "name" or key not in ATTRIBUTES or not values:
            continue
        texts = [f"The {ATTRIBUTES[key].phrases[0]} of {target.subject.name} is {values[0]}."]
        texts += [c.prompt + c.value for c in target.contexts if c.attribute == key and c.value]
        return key, texts
    return None, []


def relearned_copy(loaded: Any, texts: list[str], *, steps: int, lr: float, seed: int) -> Any:
    """A copy of ``loaded`` after ``steps`` LoRA steps of next-token loss on ``texts``, merged."""
    import torch
    from peft import LoraConfig, get_peft_model

    from workers.engine.methods.batching import TrainExample, make_batches
    from workers.engine.modelio import LoadedModel

    torch.manual_seed(seed)
    model = get_peft_model(copy.deepcopy(loaded.model), LoraConfig(r=RANK, lora_alpha=2 * RANK, lora_dropout=0.0,
                                                                    target_modules="all-linear", task_type="CAUSAL_LM"))
    batches = make_batches(loaded.tokenizer, [TrainExample(prompt="", completion=t, eos=True) for t in texts],
                           batch_size=BATCH, device=loaded.device, max_length=128, seed=seed)
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    for step in range(steps if batches else 0):
        batch = batches[step % len(batches)]
        loss = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    merged = model.merge_and_unload().eval()
    return LoadedModel(model=merged, tokenizer=loaded.tokenizer, device=loaded.device, path=loaded.path)


def attack(loaded: Any, target: Target, *, config: ProbeConfig, settings: AttackSettings) -> list[Outcome]:
    from workers.engine.probe.runner import run_probe

    outcomes = []
    unrelated = _unrelated_texts(loaded, target, seed=config.seed + 31_337)
    variants: list[tuple[str, list[str], tuple[str, ...], dict[str, Any]]] = [
        ("unrelated", unrelated, target.attributes, {"texts": len(unrelated)})]
    key, texts = _given_back(target)
    rest = tuple(a for a in target.attributes if a != key)
    if key is not None and rest:
        variants.append(("partial", texts, rest, {"given_back": key, "texts": len(texts)}))
    for variant, train_on, attributes, details in variants:
        relearned = relearned_copy(loaded, train_on, steps=settings.relearn_steps, lr=settings.relearn_lr,
                                   seed=settings.seed)
        report = run_probe(relearned, target.subject, config=config, contexts=list(target.contexts),
                           discovered=list(target.discovered))
        outcomes.append(Outcome(variant, report.findings, attributes, {"steps": settings.relearn_steps, **details}))
        del relearned
    return outcomes
