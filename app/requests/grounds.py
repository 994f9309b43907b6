"""Art. 17(1) grounds for erasure and Art. 17(3)/12(5) grounds for refusing it, with labels for the UI."""

from __future__ import annotations

from enum import StrEnum


class ErasureGround(StrEnum):
    no_longer_necessary = "no_longer_necessary"
    consent_withdrawn = "consent_withdrawn"
    objection = "objection"
    unlawful_processing = "unlawful_processing"
    legal_obligation = "legal_obligation"
    child_information_society = "child_information_society"

    @property
    def label(self) -> str:
        return _ERASURE_LABELS[self]


_ERASURE_LABELS = {
    ErasureGround.no_longer_necessary: "Art. 17(1)(a): no longer necessary for the purposes collected",
    ErasureGround.consent_withdrawn: "Art. 17(1)(b): consent withdrawn, no other legal ground",
    ErasureGround.objection: "Art. 17(1)(c): objection under Art. 21, no overriding legitimate grounds",
    ErasureGround.unlawful_processing: "Art. 17(1)(d): personal data unlawfully processed",
    ErasureGround.legal_obligation: "Art. 17(1)(e): erasure required by a legal obligation",
    ErasureGround.child_information_society: "Art. 17(1)(f): collected from a child for information society services",
}


class DenialGround(StrEnum):
    freedom_of_expression = "freedom_of_expression"
    legal_obligation_or_public_task = "legal_obligation_or_public_task"
    public_health = "public_health"
    archiving_research_statistics = "archiving_research_statistics"
    legal_claims = "legal_claims"
    manifestly_unfounded = "manifestly_unfounded"
    excessive = "excessive"

    @property
    def label(self) -> str:
        return _DENIAL_LABELS[self]


_DENIAL_LABELS = {
    DenialGround.freedom_of_expression: "Art. 17(3)(a): freedom of expression and information",
    DenialGround.legal_obligation_or_public_task: "Art. 17(3)(b): legal obligation or task in the public interest",
    DenialGround.public_health: "Art. 17(3)(c): public interest in public health",
    DenialGround.archiving_research_statistics: "Art. 17(3)(d): archiving, scientific or historical research, statistics",
    DenialGround.legal_claims: "Art. 17(3)(e): establishment, exercise or defence of legal claims",
    DenialGround.manifestly_unfounded: "Art. 12(5): manifestly unfounded request",
    DenialGround.excessive: "Art. 12(5): excessive (e.g. repetitive) request",
}
