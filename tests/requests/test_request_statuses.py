import itertools

import pytest

from app.core.errors import IllegalTransition
from app.requests.statuses import (
    ALLOWED_TRANSITIONS,
    OPEN_STATUSES,
    REOPEN_TRANSITIONS,
    TERMINAL_STATUSES,
    RequestStatus,
    check_reopen,
    check_transition,
)

S = RequestStatus
ALL_PAIRS = list(itertools.product(S, S))
ALLOWED = [(a, b) for a, b in ALL_PAIRS if b in ALLOWED_TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in ALL_PAIRS if b not in ALLOWED_TRANSITIONS[a]]


def test_every_status_has_an_entry_and_terminals_are_final() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(S)
    assert TERMINAL_STATUSES == {S.denied, S.canceled, S.completed}


def test_the_flow_of_one_request_is_allowed() -> None:
    path = [S.identity_unverified, S.pending_review, S.approved, S.discovering, S.approved, S.unlearning, S.verifying,
            S.completed]
    for old, new in itertools.pairwise(path):
        check_transition(old, new)


@pytest.mark.parametrize(("old", "new"), ALLOWED, ids=[f"{a.value}->{b.value}" for a, b in ALLOWED])
def test_allowed(old: RequestStatus, new: RequestStatus) -> None:
    check_transition(old, new)


@pytest.mark.parametrize(("old", "new"), REFUSED, ids=[f"{a.value}->{b.value}" for a, b in REFUSED])
def test_refused_with_409(old: RequestStatus, new: RequestStatus) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition(old, new)
    assert info.value.status_code == 409 and info.value.code == "illegal_transition"
    assert info.value.details["from"] == old.value


def test_key_refusals() -> None:
    for old, new in [
        (S.identity_unverified, S.approved),  # review needs a verified identity
        (S.denied, S.approved),
        (S.completed, S.discovering),
        (S.canceled, S.pending_review),
        (S.pending_review, S.unlearning),
    ]:
        assert (old, new) in REFUSED


def test_only_a_completed_request_reopens_and_only_through_check_reopen() -> None:
    # An undone erasure must be carried out again from approved; no ordinary transition (an officer's approve,
    # a job's release) may leave completed, so the pair stays refused there.
    assert check_reopen(S.completed) == S.approved
    assert (S.completed, S.approved) in REFUSED
    assert REOPEN_TRANSITIONS[S.completed] in OPEN_STATUSES  # the statutory clock runs again
    for old in set(S) - {S.completed}:
        with pytest.raises(IllegalTransition) as info:
            check_reopen(old)
        assert info.value.status_code == 409 and info.value.details["from"] == old.value
