"""The attack checks an unlearning job runs on its result, and the officer's setting of which run and which gate.

Names, order and the per-family bar match ``workers.engine.attacks`` (tests/jobs/test_engine_mirrors.py keeps them
equal): app/ never imports the worker package. After verification the engine attacks the saved model: a gating
attack that gets a forgotten detail back (more than ``MAX_LEAK_RATE`` of the answers in a prompt family) fails
the verdict, the others only report. Every unlearning job uses the officer's setting (stored in the ``settings``
table) unless the API overrides it for that job; the job records its choice in ``params``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.core.errors import InvalidInput
from app.settings import service as settings_service

ATTACK_CHOICES: dict[str, str] = {
    "quantize": "Quantisation: the new model is rounded to 8 and to 4 bits, as deployments often do, and asked "
                "again (rounding can undo a small unlearning update).",
    "relearn": "Relearning: a few steps of fine-tuning on unrelated text, and on one of the forgotten details given "
               "back, then the model is asked for the other details.",
    "multiquery": "Many samples: every question that leaked before is asked many times at a higher temperature; "
                  "any hit counts.",
    "multihop": "Indirect questions: the person is reached through another of their facts or another form of "
                "their name.",
}
ATTACK_LABELS: dict[str, str] = {"quantize": "Quantisation", "relearn": "Relearning", "multiquery": "Many samples",
                                 "multihop": "Indirect questions"}
VARIANT_LABELS: dict[str, str] = {"int8": "8-bit", "int4": "4-bit", "sampled": "sampled", "hops": "through a fact",
                                  "unrelated": "unrelated text", "partial": "one detail back"}
# An attack fails when, in some prompt family, more than this share of its answers holds a forgotten detail.
MAX_LEAK_RATE = 0.02
DEFAULT_ATTACKS: tuple[str, ...] = ("quantize", "multiquery")
DEFAULT_GATING: tuple[str, ...] = ("quantize", "multiquery")
SETTING_KEY = "attack_checks"
# The three choices per attack on the officer's page.
OFF, REPORT, GATE = "off", "report", "gate"


@dataclass(frozen=True)
class AttackPolicy:
    attacks: tuple[str, ...]  # run on every job, in registry order
    gating: tuple[str, ...]  # of those, the ones that fail the verdict

    def mode(self, name: str) -> str:
        return GATE if name in self.gating else REPORT if name in self.attacks else OFF


DEFAULT_POLICY = AttackPolicy(DEFAULT_ATTACKS, DEFAULT_GATING)


def ordered(names: Iterable[str], *, field: str) -> tuple[str, ...]:
    """Registry names in registry order, duplicates dropped; an unknown name is invalid input (422)."""
    items = [str(n) for n in names]
    unknown = [n for n in items if n not in ATTACK_CHOICES]
    if unknown:
        raise InvalidInput(f"Unknown attack {', '.join(map(repr, unknown))}.",
                           details={"field": field, "allowed": list(ATTACK_CHOICES)})
    return tuple(a for a in ATTACK_CHOICES if a in items)


def _checked(attacks: Iterable[str], gating: Iterable[str]) -> AttackPolicy:
    """Known names only; an attack that gates also runs (it cannot decide the verdict otherwise)."""
    run, gates = ordered(attacks, field="attacks"), ordered(gating, field="gating_attacks")
    return AttackPolicy(tuple(a for a in ATTACK_CHOICES if a in run or a in gates), gates)


def current_policy(*, session: Session) -> AttackPolicy:
    """The officer's setting; the default (quantize and multiquery, both gating) until an officer changes it."""
    stored = settings_service.read(session=session, key=SETTING_KEY)
    if stored is None:
        return DEFAULT_POLICY
    # A name the product no longer knows is dropped, not an error on every job.
    attacks = [a for a in stored.get("attacks") or [] if a in ATTACK_CHOICES]
    return _checked(attacks, [a for a in stored.get("gating") or [] if a in attacks])


def set_policy(*, session: Session, attacks: Iterable[str], gating: Iterable[str], actor: str) -> AttackPolicy | None:
    """Store the officer's choice and audit it (attack names only). None when nothing changed (and no entry)."""
    new = _checked(attacks, gating)
    old = current_policy(session=session)
    if (old.attacks, old.gating) == (new.attacks, new.gating):
        return None
    settings_service.write(session=session, key=SETTING_KEY,
                           value={"attacks": list(new.attacks), "gating": list(new.gating)}, actor=actor)
    audit_service.append(session=session, event="settings.attack_checks_changed", actor=actor, details={
        "attacks": list(new.attacks), "gating_attacks": list(new.gating),
        "previous_attacks": list(old.attacks), "previous_gating_attacks": list(old.gating)})
    return new


def for_job(*, session: Session, attacks: Iterable[str] | None = None,
            gating_attacks: Iterable[str] | None = None) -> AttackPolicy:
    """What one job runs: the officer's setting, or the caller's override. Given only ``attacks``, the setting's
    gating ones among them gate; given ``gating_attacks``, exactly those gate (and run, listed or not)."""
    policy = current_policy(session=session)
    run = policy.attacks if attacks is None else ordered(attacks, field="attacks")
    gating = [g for g in policy.gating if g in run] if gating_attacks is None else gating_attacks
    return _checked(run, gating)
