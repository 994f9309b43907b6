"""What an officer can try after an unlearning job failed, read from the job's own evidence: the other method, a
larger step budget, leaving out the one detail that still leaks, or simply running it again after a stop.

Each suggestion says what it is expected to cost. The figures quoted are the measured ones of docs/benchmarks.md
(format-space models nobody here wrote, 2 CPU cores); a real model differs, which the text says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.jobs.models import Job, JobKind, JobStatus

# The methods an officer is offered in turn (the baselines are for comparisons, not for a retry).
_OTHER_METHOD = {"fpga": "relearn", "relearn": "fpga", "ihl": "relearn"}
_COST = {
    "relearn": "ReLearn trains the model to answer vaguely about the person instead; on models nobody here trained "
               "it left less of their data than FPGA and took 88-413 s a person on 2 CPU cores "
               "(docs/benchmarks.md); expect more on a larger model",
    "fpga": "FPGA pushes down only the personal words of the model's own answers; 74-361 s a person on 2 CPU cores "
            "(docs/benchmarks.md), and it keeps other people's facts closest to the original",
}


@dataclass(frozen=True)
class Suggestion:
    title: str
    detail: str


def next_steps(job: Job) -> list[Suggestion]:
    """Suggestions for a failed unlearning job, or one whose batch only partly passed; none for anything else."""
    evidence: dict[str, Any] = job.evidence or {}
    partial = job.status == JobStatus.succeeded and bool(job.error)
    if job.kind != JobKind.unlearning or not (job.status == JobStatus.failed or partial):
        return []
    if not evidence:  # stopped before verifying: a crash, a time limit, a restart
        return [Suggestion("Run it again", "The job stopped before it could verify anything (see why above). "
                                           "Starting unlearning again reuses the discovery findings.")]
    out: list[Suggestion] = []
    method = (evidence.get("method") or {}).get("name") or job.method or ""
    other = _OTHER_METHOD.get(method)
    if other:
        out.append(Suggestion(f"Try the other method ({other})", _COST[other] + "."))
    training = evidence.get("training") or {}
    budget = (evidence.get("config") or {}).get("max_steps")
    if budget and training.get("steps", 0) >= budget:
        out.append(Suggestion(f"A larger step budget ({budget} -> {2 * budget} steps)",
                              f"Training used all {budget} of its steps without passing its own check: twice the "
                              "budget costs up to twice the training time, and more change to the model, which the "
                              "utility check still bounds."))
    leaking = _still_leaking(evidence)
    if leaking:
        out.append(Suggestion("Leave out the detail that still leaks",
                              f"What still leaks: {', '.join(leaking)}. Unlearning the other details now and "
                              "this one in a separate job (or with the other method) lets the rest complete; the "
                              "request stays open for it, and the deadline still applies."))
    if any("utility" in r or "accuracy" in r or "perplexity" in r for r in _reasons(evidence)):
        out.append(Suggestion("Protect what the model knows about others",
                              "The model lost too much of what it knows about other people: the other method, or "
                              "fewer details in one job, change it less."))
    return out


def _reasons(evidence: dict[str, Any]) -> list[str]:
    return [str(r).lower() for r in (evidence.get("verdict") or {}).get("reasons", [])]


def _still_leaking(evidence: dict[str, Any]) -> list[str]:
    """The details a subject's own verdict still found leaking (attribute keys, no values)."""
    from app.pages.wording import attribute_label

    found: dict[str, None] = {}
    for subject in evidence.get("subjects") or []:
        verdict = subject.get("verdict") or {}
        if not verdict.get("passed", True):
            for attribute, count in (verdict.get("leaks") or {}).items():
                if count:
                    found.setdefault(attribute_label(attribute))
    return list(found)
