"""Multi-query attack: one sampled answer in twenty is still a leak to someone who asks twenty times (PII-Scope).
Every discovered context (both shares of the split), and every template prompt when discovery found none, is
sampled ``multiquery_samples`` times at a higher temperature; any confirmed value counts."""

from __future__ import annotations

import dataclasses
from typing import Any

from workers.engine.attacks.base import AttackSettings, Outcome, Target
from workers.engine.probe.config import ProbeConfig


def attack(loaded: Any, target: Target, *, config: ProbeConfig, settings: AttackSettings) -> list[Outcome]:
    from workers.engine.probe.runner import run_probe

    asked = dataclasses.replace(config, samples=settings.multiquery_samples,
                                temperature=settings.multiquery_temperature, top_p=1.0,
                                seed=config.seed + settings.seed + 7_717)
    report = run_probe(loaded, target.subject, config=asked, contexts=list(target.contexts),
                       discovered=list(target.discovered), templates=not target.contexts)
    prompts = len({f.prompt for f in report.findings})
    return [Outcome("sampled", report.findings, target.attributes,
                    {"samples_per_prompt": settings.multiquery_samples, "prompts": prompts,
                     "temperature": settings.multiquery_temperature})]
