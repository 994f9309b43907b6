"""Discovery: probe a model for a subject's personal data, with Presidio judging every answer."""

from workers.engine.probe.config import ProbeConfig
from workers.engine.probe.families import HELDOUT_FAMILIES, PROMPT_FAMILIES, TRAINING_FAMILIES, Prompt, build_prompts
from workers.engine.probe.membership import min_k_plus_plus
from workers.engine.probe.report import Finding, ProbeReport
from workers.engine.probe.runner import generate, run_probe

__all__ = ["HELDOUT_FAMILIES", "PROMPT_FAMILIES", "TRAINING_FAMILIES", "Finding", "ProbeConfig", "ProbeReport",
           "Prompt", "build_prompts", "generate", "min_k_plus_plus", "run_probe"]
