"""Attack checks: does an erasure hold when someone tries to get the data back?

Each attack takes the saved model and one ``Target`` (a subject, what was forgotten, what discovery found) and
returns ``Outcome``s, one per variant (``quantize``: int8 and int4; ``relearn``: unrelated and partial). One
registry; ``run_attacks`` runs the chosen ones and says which gate the verdict (any prompt family above
``MAX_LEAK_RATE``) and which only report."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from workers.engine.attacks import multihop, multiquery, quantize, relearn
from workers.engine.attacks.base import MAX_LEAK_RATE, AttackSettings, Outcome, Target, worst
from workers.engine.errors import EngineError
from workers.engine.probe.config import ProbeConfig
from workers.engine.progress import ProgressCallback, emit


@dataclass(frozen=True)
class Attack:
    name: str
    summary: str
    run: Callable[..., list[Outcome]]


ATTACKS: dict[str, Attack] = {a.name: a for a in (
    Attack("quantize", "re-probed quantised to int8 and to 4 bits (round-to-nearest)", quantize.attack),
    Attack("relearn", "re-probed after a few LoRA steps on unrelated text, and on one forgotten detail given back",
           relearn.attack),
    Attack("multiquery", "every discovered prompt sampled many times at a higher temperature", multiquery.attack),
    Attack("multihop", "asked through another of the person's facts or another form of their name",
           multihop.attack),
)}
DEFAULT_GATING = ("quantize", "multiquery")


def parse_attacks(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"quantize,multiquery"`` (or a list; ``"all"``) -> registry names, in registry order; unknown names fail."""
    if text is None:
        return ()
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    if items == ["all"]:
        return tuple(ATTACKS)
    bad = [t for t in items if t not in ATTACKS]
    if bad:
        raise EngineError(f"unknown attack {', '.join(map(repr, bad))}; known: {', '.join(ATTACKS)} (or all)")
    return tuple(a for a in ATTACKS if a in items)


def run_attacks(loaded: Any, targets: Sequence[Target], names: Sequence[str], *, config: ProbeConfig,
                gating: Sequence[str] = DEFAULT_GATING, settings: AttackSettings | None = None,
                max_leak_rate: float = MAX_LEAK_RATE, progress: ProgressCallback | None = None
                ) -> tuple[dict[str, Any], list[str]]:
    """Run ``names`` against every target on ``loaded`` (the saved model; never changed). Returns the evidence
    record ({attack: {gating, passed, seconds, subjects: [{index, outcomes}]}}) and the reasons a gating attack
    fails the verdict."""
    settings = settings or AttackSettings()
    record: dict[str, Any] = {}
    reasons: list[str] = []
    for number, name in enumerate(parse_attacks(list(names))):
        attack = ATTACKS[name]
        emit(progress, stage="attacks", step=number, total=len(names), message=f"attack: {name}")
        started = time.perf_counter()
        subjects = []
        rate = 0.0
        for index, target in enumerate(targets):
            if not target.attributes:  # nothing was forgotten about them: nothing to get back
                continue
            asks = tuple(a for a in config.attributes if a in target.attributes) or config.attributes
            outcomes = attack.run(loaded, target, config=dataclasses.replace(config, attributes=asks),
                                  settings=settings)
            rate = max(rate, worst(outcomes))
            subjects.append({"index": index, "outcomes": [o.to_dict() for o in outcomes]})
        passed = rate <= max_leak_rate
        record[name] = {"summary": attack.summary, "gating": name in gating, "passed": passed,
                        "max_family_rate": rate, "seconds": round(time.perf_counter() - started, 3),
                        "subjects": subjects}
        if not passed and name in gating:
            reasons.append(f"attack {name}: {rate:.1%} of answers in a prompt family leak a forgotten detail "
                           f"(or its exact chance within {settings.exact_draws} samples; bar {max_leak_rate:.0%})")
    emit(progress, stage="attacks", step=len(names), total=len(names), message="attacks done")
    return record, reasons


__all__ = ["ATTACKS", "DEFAULT_GATING", "MAX_LEAK_RATE", "AttackSettings", "Outcome", "Target", "parse_attacks",
           "run_attacks"]
