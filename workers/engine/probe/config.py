"""What a probe run asks, and how: validated once, recorded in every report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from workers.engine.attributes import ASKABLE, ATTRIBUTES
from workers.engine.errors import EngineError
from workers.engine.probe.families import PROMPT_FAMILIES


@dataclass(frozen=True)
class ProbeConfig:
    attributes: tuple[str, ...] = field(default_factory=lambda: ASKABLE)  # what templates can ask for by name
    families: tuple[str, ...] = field(default_factory=lambda: tuple(PROMPT_FAMILIES))
    samples: int = 3  # sampled continuations per prompt, besides the greedy one
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 32
    batch_size: int = 128
    seed: int = 0
    ner: bool = False
    min_k: float = 0.2

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", tuple(self.attributes))
        object.__setattr__(self, "families", tuple(self.families))
        bad_families = [f for f in self.families if f not in PROMPT_FAMILIES]
        if bad_families or not self.families:
            raise EngineError(f"unknown prompt family {', '.join(map(repr, bad_families)) or '(none given)'}; "
                              f"known: {', '.join(PROMPT_FAMILIES)}")
        bad_attributes = [a for a in self.attributes if a not in ATTRIBUTES]
        if bad_attributes or not self.attributes:
            raise EngineError(f"unknown attribute {', '.join(map(repr, bad_attributes)) or '(none given)'}; "
                              f"known: {', '.join(ATTRIBUTES)}")
        if self.samples < 0 or self.max_new_tokens < 1 or self.batch_size < 1:
            raise EngineError("samples must be >= 0, max_new_tokens and batch_size >= 1")
        if not 0 < self.temperature <= 5 or not 0 < self.top_p <= 1 or not 0 < self.min_k <= 1:
            raise EngineError("temperature must be in (0, 5], top_p and min_k in (0, 1]")

    def with_families(self, families: Sequence[str] | None) -> ProbeConfig:
        return self if families is None else replace(self, families=tuple(families))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["attributes"], data["families"] = list(self.attributes), list(self.families)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeConfig:
        return cls(**data)
