"""After a failed unlearning the officer is told what to try next, from the job's own evidence."""

from __future__ import annotations

from types import SimpleNamespace

from app.jobs.models import JobKind, JobStatus
from app.pages.next_steps import next_steps


def _job(status=JobStatus.failed, error="Verification failed: ...", evidence=None, method="fpga"):
    return SimpleNamespace(kind=JobKind.unlearning, status=status, error=error, evidence=evidence, method=method)


def test_a_leaking_run_that_used_its_budget_gets_the_other_method_a_larger_budget_and_the_detail_to_leave_out():
    evidence = {"method": {"name": "fpga"}, "config": {"max_steps": 150}, "training": {"steps": 150},
                "verdict": {"reasons": ["subject 0: 4 confirmed leak(s)"]},
                "subjects": [{"verdict": {"passed": False, "leaks": {"email": 3, "phone": 0}}}]}
    steps = next_steps(_job(evidence=evidence))
    titles = [s.title for s in steps]
    assert titles[0] == "Try the other method (relearn)" and "88-413 s a person" in steps[0].detail
    assert "A larger step budget (150 -> 300 steps)" in titles
    (leave_out,) = [s for s in steps if s.title.startswith("Leave out")]
    assert "Email" in leave_out.detail and "Phone" not in leave_out.detail


def test_utility_failures_say_so_and_a_stop_before_verification_says_run_it_again():
    evidence = {"method": {"name": "relearn"}, "config": {"max_steps": 150}, "training": {"steps": 40},
                "verdict": {"reasons": ["other people's accuracy fell to 0.800 from 0.950"]}, "subjects": []}
    titles = [s.title for s in next_steps(_job(evidence=evidence, method="relearn"))]
    assert titles == ["Try the other method (fpga)", "Protect what the model knows about others"]
    assert [s.title for s in next_steps(_job(evidence=None))] == ["Run it again"]


def test_nothing_to_suggest_for_a_passing_job_or_a_discovery():
    assert next_steps(_job(status=JobStatus.succeeded, error=None, evidence={"verdict": {}})) == []
    assert next_steps(SimpleNamespace(kind=JobKind.discovery, status=JobStatus.failed, error="x", evidence=None,
                                      method=None)) == []
    partial = _job(status=JobStatus.succeeded, error="Verification failed for part of the batch: subject 1",
                   evidence={"method": {"name": "fpga"}, "subjects": [
                       {"verdict": {"passed": True}}, {"verdict": {"passed": False, "leaks": {"phone": 1}}}]})
    assert [s.title for s in next_steps(partial)][0] == "Try the other method (relearn)"
