"""Discovered contexts: prompts that made the model produce one of the subject's values.

Template families are guesses at how a model was trained; a discovered context is evidence of it: the text
the model itself wrote around the subject (self-elicitation) or the text its training data holds just before
a value (the corpus). Unlearning trains on one share of them and never on the other, which verification asks
again (``split``); a model that still produces a value on any of them fails.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

ORIGINS = ("elicited", "corpus")
HELDOUT_SHARE = 3  # one in three groups of discovered contexts is held out of training
# Verification's own fresh continuations of the name and identifiers (other seeds than discovery's).
VERIFY_FAMILY = "elicited-verify"
SEED_GROUP = "seed/"


def family_of(origin: str, split: str) -> str:
    """The probe family a context's answers are reported under: ``elicited``, ``corpus``, or ``...-heldout``."""
    return origin if split == "train" else f"{origin}-heldout"


def is_context_family(family: str) -> bool:
    return family.split("-")[0] in ORIGINS


@dataclass(frozen=True)
class Context:
    prompt: str
    origin: str  # "elicited" | "corpus"
    attribute: str | None  # what it was seen to produce: an ATTRIBUTES key, "name" (identifier -> name), None
    group: str  # contexts of one group (one elicited generation, one corpus document) go to the same split
    round: int = 0  # elicitation round that found it (0: corpus)
    split: str = "train"  # "train" | "heldout"
    value: str | None = None  # what followed the prompt there: the gap and the value ("\nEmail: x@y" -> " x@y")

    @property
    def target(self) -> str:
        return "name" if self.attribute == "name" else "attribute"

    @property
    def family(self) -> str:
        return family_of(self.origin, self.split)

    @property
    def key(self) -> str:
        """A stable id (no personal data): what reports and evidence call the context."""
        return f"{self.origin[0]}{zlib.crc32(self.prompt.encode('utf-8')):08x}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Context:
        return cls(prompt=str(data["prompt"]), origin=str(data["origin"]),
                   attribute=None if data.get("attribute") is None else str(data["attribute"]),
                   group=str(data.get("group", "")), round=int(data.get("round", 0)),  # type: ignore[arg-type]
                   split=str(data.get("split", "train")),
                   value=None if data.get("value") is None else str(data["value"]))


def split_for(group: str, *, share: int = HELDOUT_SHARE) -> str:
    """Deterministic split of a group: the same group is held out on every run and every machine."""
    return "heldout" if zlib.crc32(group.encode("utf-8")) % share == 0 else "train"


def assign_splits(contexts: Iterable[Context], *, share: int = HELDOUT_SHARE) -> list[Context]:
    """Every context with its group's split. When all groups fell on one side, the last group goes to the other,
    so there is always something to train on and something held out (with two or more groups). And an attribute
    whose every context fell in held-out groups gets its largest group trained on: otherwise nothing would train
    it away and the early-stop check could not ask for it (``unlearning.training._unasked``), and the run would spend
    its whole budget blind."""
    from dataclasses import replace

    items = list(contexts)
    # The subject's own name and identifiers as prompts (elicitation's seeds) are always trained on.
    groups = list(dict.fromkeys(c.group for c in items if not c.group.startswith(SEED_GROUP)))
    splits = {g: split_for(g, share=share) for g in groups} | {c.group: "train" for c in items
                                                                if c.group.startswith(SEED_GROUP)}
    if len(groups) >= 2 and len({splits[g] for g in groups}) == 1:
        only = splits[groups[0]]
        splits[groups[-1]] = "train" if only == "heldout" else "heldout"
    for attribute in dict.fromkeys(c.attribute for c in items if c.attribute is not None):
        mine = [c.group for c in items if c.attribute == attribute]
        if all(splits[g] == "heldout" for g in mine):
            largest = max(dict.fromkeys(mine), key=mine.count)
            if sum(v == "heldout" for v in splits.values()) > 1:  # one held-out group stays held out
                splits[largest] = "train"
    return [replace(c, split=splits[c.group]) for c in items]
