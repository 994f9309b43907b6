"""The web's torch-free copies of the engine's registries (attributes, methods) stay equal to them."""

from __future__ import annotations

from app.jobs.attributes import ATTRIBUTES
from workers.engine.attributes import ATTRIBUTES as ENGINE_ATTRIBUTES


def test_the_web_names_the_engines_attributes_in_its_order_with_its_labels() -> None:
    assert [(kind.key, kind.label) for kind in ATTRIBUTES.values()] == [
        (key, attribute.label) for key, attribute in ENGINE_ATTRIBUTES.items()]
    assert all(key == kind.key for key, kind in ATTRIBUTES.items())


def test_the_web_offers_exactly_the_engines_methods() -> None:
    from app.jobs.methods import DEFAULT_METHOD, METHOD_CHOICES
    from workers.engine.methods import METHODS

    assert set(METHOD_CHOICES) == set(METHODS) and DEFAULT_METHOD in METHODS


def test_the_web_names_the_engines_attack_checks_in_its_order_with_its_defaults() -> None:
    from app.jobs import attacks
    from workers.engine.attacks import ATTACKS, DEFAULT_GATING, MAX_LEAK_RATE
    from workers.engine.unlearning import UnlearnConfig

    assert list(attacks.ATTACK_CHOICES) == list(ATTACKS) == list(attacks.ATTACK_LABELS)
    assert attacks.DEFAULT_GATING == DEFAULT_GATING == UnlearnConfig().gating_attacks
    assert set(attacks.DEFAULT_ATTACKS) <= set(ATTACKS) and set(attacks.DEFAULT_GATING) <= set(attacks.DEFAULT_ATTACKS)
    assert attacks.MAX_LEAK_RATE == MAX_LEAK_RATE
