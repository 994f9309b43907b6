"""One unlearning run: ``run_unlearning`` (``pipeline``) calls the stages in order; they share ``types``."""

from workers.engine.unlearning.evidence import peak_memory
from workers.engine.unlearning.pipeline import run_unlearning
from workers.engine.unlearning.types import (
    INITS,
    EarlierErasure,
    UnlearnConfig,
    UnlearnResult,
    elicit_config,
    probe_config,
)

__all__ = ["INITS", "EarlierErasure", "UnlearnConfig", "UnlearnResult", "elicit_config", "peak_memory",
           "probe_config", "run_unlearning"]
