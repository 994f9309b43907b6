"""The request status machine. ``transition`` in the service is the only code that changes a status."""

from __future__ import annotations

from enum import StrEnum

from app.core.errors import IllegalTransition


class RequestStatus(StrEnum):
    identity_unverified = "identity_unverified"
    pending_review = "pending_review"
    approved = "approved"
    denied = "denied"
    canceled = "canceled"
    discovering = "discovering"
    unlearning = "unlearning"
    verifying = "verifying"
    completed = "completed"
    failed = "failed"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    RequestStatus.identity_unverified: "Waiting for email verification",
    RequestStatus.pending_review: "Waiting for review",
    RequestStatus.approved: "Approved",
    RequestStatus.denied: "Denied",
    RequestStatus.canceled: "Canceled",
    RequestStatus.discovering: "Checking the model",
    RequestStatus.unlearning: "Removing the data",
    RequestStatus.verifying: "Verifying the removal",
    RequestStatus.completed: "Completed",
    RequestStatus.failed: "Processing failed",
}

S = RequestStatus
ALLOWED_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.identity_unverified: frozenset({S.pending_review, S.canceled}),
    S.pending_review: frozenset({S.approved, S.denied, S.canceled}),
    # Unlearning starts from approved once discovery has run; an officer may close a request whose
    # discovery found nothing to remove (approved -> completed).
    S.approved: frozenset({S.discovering, S.unlearning, S.completed, S.canceled}),
    # A finished, failed or canceled discovery returns the request to approved for the officer's next step.
    S.discovering: frozenset({S.approved, S.canceled}),
    # A canceled job returns the request to approved; a failed one (incl. a lost worker) to failed.
    S.unlearning: frozenset({S.verifying, S.approved, S.failed}),
    S.verifying: frozenset({S.completed, S.approved, S.failed}),
    S.failed: frozenset({S.discovering, S.unlearning, S.canceled}),
    S.denied: frozenset(),
    S.canceled: frozenset(),
    S.completed: frozenset(),
}

TERMINAL_STATUSES = frozenset(s for s, nxt in ALLOWED_TRANSITIONS.items() if not nxt)
# Restoring a model version can undo an erasure that a completed request recorded; that request must then be
# carried out again. Kept apart from ALLOWED_TRANSITIONS so that no officer action or job can take a request out
# of completed: only ``requests.service.reopen`` (called by the restore) uses it.
REOPEN_TRANSITIONS: dict[RequestStatus, RequestStatus] = {S.completed: S.approved}
# Statuses whose statutory deadline is running and can be missed (overdue applies to these).
OPEN_STATUSES = frozenset({S.pending_review, S.approved, S.discovering, S.unlearning, S.verifying, S.failed})
EXTENDABLE_STATUSES = OPEN_STATUSES


def check_reopen(old: RequestStatus) -> RequestStatus:
    """The status a request reopens to, or IllegalTransition when it has no erasure to undo."""
    if old not in REOPEN_TRANSITIONS:
        raise IllegalTransition(
            f"A request that is {old.value} cannot be reopened.",
            details={"from": old.value, "allowed_from": sorted(s.value for s in REOPEN_TRANSITIONS)},
        )
    return REOPEN_TRANSITIONS[old]


def check_transition(old: RequestStatus, new: RequestStatus) -> None:
    if new not in ALLOWED_TRANSITIONS[old]:
        allowed = sorted(s.value for s in ALLOWED_TRANSITIONS[old])
        raise IllegalTransition(
            f"A request that is {old.value} cannot become {new.value}.",
            details={"from": old.value, "to": new.value, "allowed": allowed},
        )
