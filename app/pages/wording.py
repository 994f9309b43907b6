"""Plain-language wording for statuses, countdowns, decisions and history entries shown on the pages."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.requests.deadlines import days_left, describe_days_left
from app.requests.grounds import DenialGround, ErasureGround
from app.requests.statuses import OPEN_STATUSES, RequestStatus

S = RequestStatus


@dataclass(frozen=True)
class StatusWording:
    label: str
    tone: str  # css badge class: ok | warn | bad | neutral
    explanation: str
    next_steps: str
    right_to_complain: bool = False
    note: str | None = None  # said before the explanation (why a request is open again)


_PROCESSING_NEXT = (
    "We are removing the data from the model and will then test that it no longer produces it. "
    "We will email you when this is finished."
)

_SUBJECT_WORDING: dict[RequestStatus, StatusWording] = {
    S.identity_unverified: StatusWording(
        S.identity_unverified.label,
        "warn",
        "We have received your request but you have not yet confirmed your email address.",
        "Enter the 6-digit code we emailed you. We cannot review the request until you do.",
    ),
    S.pending_review: StatusWording(
        S.pending_review.label,
        "neutral",
        "Your email address is confirmed and your request is waiting for a data protection officer to review it.",
        "An officer will decide whether to erase the data. We will email you the decision, "
        "and you can also check this page. We must answer by the due date shown above.",
    ),
    S.approved: StatusWording(
        S.approved.label,
        "ok",
        "Your request has been approved.",
        "We will now check which of your data the model can produce and then remove it. "
        "We will email you when this is finished.",
    ),
    S.denied: StatusWording(
        S.denied.label,
        "bad",
        "Your request has been refused. The reason is given above.",
        "Nothing more will happen with this request. You can file a new request if your situation changes.",
        right_to_complain=True,
    ),
    S.canceled: StatusWording(
        S.canceled.label,
        "neutral",
        "This request has been canceled.",
        "Nothing more will happen with this request. You can file a new request at any time.",
    ),
    S.discovering: StatusWording(
        S.discovering.label,
        "ok",
        "Your request has been approved and we are checking what the model can produce about you.",
        _PROCESSING_NEXT,
    ),
    S.unlearning: StatusWording(
        S.unlearning.label, "ok", "Your request has been approved and we are removing the data.", _PROCESSING_NEXT
    ),
    S.verifying: StatusWording(
        S.verifying.label,
        "ok",
        "The data has been removed and we are testing that the model no longer produces it.",
        "We will email you as soon as the check has passed.",
    ),
    S.completed: StatusWording(
        S.completed.label,
        "ok",
        "Your request is complete: the model no longer produces the data we found about you.",
        "Nothing more is needed from you. Keep the reference in case you want to contact us about it.",
    ),
    S.failed: StatusWording(
        S.failed.label,
        "warn",
        "Your request was approved, but removing the data needs another attempt.",
        "Our team has been alerted and will retry. The deadline shown above still applies.",
    ),
}


# A restore of an earlier model version undid the erasure (app.targets.service.restore_previous): the subject is
# told why a completed request is open again, in plain words, without versions, reasons or other requests.
REOPENED_WHY = ("Your request has been reopened: the model version that had forgotten your data was withdrawn, "
                "so we are erasing your data again.")

_REOPENED = StatusWording(
    "Reopened",
    "warn",
    REOPENED_WHY,
    "We will check again which of your data the model can produce and remove it, then test that it no longer "
    "produces it. We will email you when this is finished. The deadline shown above still applies.",
)


def subject_status(status: RequestStatus | str, *, reopened: bool = False) -> StatusWording:
    """``reopened``: a restore put the request back to approved and its erasure is being carried out again."""
    status = RequestStatus(status)
    wording = _SUBJECT_WORDING[status]
    if not reopened or status not in OPEN_STATUSES:
        return wording
    if status == S.approved:
        return _REOPENED
    return replace(wording, note=REOPENED_WHY)


@dataclass(frozen=True)
class Countdown:
    days: int
    text: str
    tone: str


def countdown(*, status: RequestStatus | str, due_at: datetime, now: datetime) -> Countdown | None:
    """"N days left" / "due today" / "N days overdue" while the deadline runs; None once it no longer does."""
    if RequestStatus(status) not in OPEN_STATUSES:
        return None
    days = days_left(due_at, now)
    tone = "bad" if days < 0 else "warn" if days <= 7 else "neutral"
    return Countdown(days=days, text=describe_days_left(days), tone=tone)


@dataclass(frozen=True)
class Decision:
    outcome: str
    ground_title: str
    ground: str | None
    reason: str | None


def decision(req: Any) -> Decision | None:
    """What the subject is told about the officer's decision, if one was taken."""
    status = RequestStatus(req.status)
    ground = getattr(req, "decision_ground", None)
    reason = getattr(req, "decision_reason", None)
    if status == S.denied:
        label = DenialGround(ground).label if ground in DenialGround.__members__ else ground
        return Decision("Refused", "Legal basis for refusing", label, reason)
    if status == S.canceled:
        return Decision("Canceled", "Ground", None, getattr(req, "cancel_reason", None))
    if getattr(req, "decided_at", None) is not None and ground in ErasureGround.__members__:
        return Decision("Approved", "Legal ground for erasure", ErasureGround(ground).label, None)
    return None


_EVENT_SENTENCES = {
    "erasure.received": "Request received",
    "erasure.pending_review": "Identity verified: waiting for review",
    "erasure.code_resent": "Verification code sent again",
    "erasure.code_rejected": "Wrong, expired or used verification code entered",
    "erasure.approved": "Request approved",
    "erasure.denied": "Request denied",
    "erasure.extended": "Deadline extended",
    "erasure.canceled": "Request canceled",
    "erasure.discovering": "Checking what the model produces about the subject",
    "erasure.unlearning": "Removing the data from the model",
    "erasure.verifying": "Verifying the removal",
    "erasure.completed": "Request completed",
    "erasure.failed": "Processing failed",
    "job.discovery.queued": "Discovery started: waiting for a worker",
    "job.discovery.started": "Discovery running on a worker",
    "job.discovery.succeeded": "Discovery finished: findings ready",
    "job.discovery.failed": "Discovery failed",
    "job.discovery.canceled": "Discovery canceled",
    "job.discovery.cancel_requested": "Officer asked to stop the discovery",
    "job.discovery.retried": "Discovery restarted after its worker stopped",
    "job.unlearning.queued": "Unlearning started: waiting for a worker",
    "job.unlearning.started": "Unlearning running on a worker",
    "job.unlearning.succeeded": "Unlearning verified: new model version in use",
    "job.unlearning.failed": "Unlearning failed",
    "job.unlearning.canceled": "Unlearning canceled",
    "job.unlearning.cancel_requested": "Officer asked to stop the unlearning",
    "job.unlearning.retried": "Unlearning restarted after its worker stopped",
    "model.erasure_reverted": "Erasure reverted: an earlier model version was restored",
    "request.reopened": "Reopened: the restored model version can reveal the data again, so the erasure must be "
                        "carried out again (the due date is unchanged)",
}


def event_sentence(event: str) -> str:
    """A readable sentence for an audit event; unknown events fall back to their dotted name made readable."""
    if event in _EVENT_SENTENCES:
        return _EVENT_SENTENCES[event]
    tail = event.split(".", 1)[-1] if "." in event else event
    return tail.replace("_", " ").replace(".", ": ").capitalize()


# Keys a reader of the history gains nothing from: shown elsewhere on the page, or hashes of free text.
_HIDDEN_DETAILS = frozenset({"reference", "from", "email_hmac", "model_id", "retired_version_id",
                             "restored_version_id"})


def detail_items(details: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Audit details as (label, value) pairs: enum values by their labels, timestamps as dates, hashes left out."""
    items: list[tuple[str, str]] = []
    for key, value in (details or {}).items():
        if key in _HIDDEN_DETAILS or key.endswith("_sha256") or value is None or value == "":
            continue
        text = str(value)
        if key in ("ground", "decision_ground"):
            text = ground_label(str(value))
        elif key in ("to", "status") and value in RequestStatus.__members__:
            text = RequestStatus(value).label
        elif key.endswith("_at") and isinstance(value, str):
            text = _iso_date(value)
        elif key == "duplicate_of":
            key = "possible duplicate of"
        items.append((key.replace("_", " "), text))
    return items


def _iso_date(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    return f"{parsed.day} {parsed:%B %Y}"


def ground_label(value: str | None) -> str:
    if value in ErasureGround.__members__:
        return ErasureGround(value).label
    if value in DenialGround.__members__:
        return DenialGround(value).label
    return value or ""


# ---- models, discovery and unlearning ------------------------------------------------------------------------

# Prompt families of the engine's probe (workers/engine/probe/families.py), in an officer's words. The web
# process does not import the probe package (it pulls in torch); an unknown family shows its own name.
FAMILY_LABELS = {
    "direct": "Direct statements (\u201cThe \u2026 of NAME is\u201d)",
    "question": "Direct questions (\u201cWhat is NAME\u2019s \u2026?\u201d)",
    "paraphrase": "Reworded questions",
    "fewshot": "Questions after examples of other people\u2019s details",
    "inverse": "Reverse look-up: from one of the details back to the name",
    "lookup": "Reverse look-up used in training: from one of the details back to the name",
    "open": "The name alone, left for the model to continue",
    "elicited": "The model's own text: what it wrote when given the name or a detail, and what followed",
    "elicited-heldout": "The model's own text, a share kept out of unlearning to check it",
    "elicited-verify": "Fresh continuations of the name and details, and of the model's own formats with the name "
                       "in them, drawn after unlearning",
    "corpus": "The model's training data: the exact text that came before the subject's details",
    "corpus-heldout": "The model's training data, a share kept out of unlearning to check it",
}


def coverage_lines(coverage: dict) -> list[str]:
    """What a discovery covered, in an officer's words (the report's counts; no personal data)."""
    lines: list[str] = []
    elicited = coverage.get("elicited") or {}
    if elicited:
        lines.append(f"The model was given the subject's name and each detail they submitted and wrote "
                     f"{elicited.get('generations', 0)} continuations in {elicited.get('rounds', 0)} round(s) "
                     f"(budget {elicited.get('budget', 0)}); {elicited.get('contexts', 0)} passages in which it "
                     "produced the subject's data became questions of their own.")
    corpus = coverage.get("corpus") or {}
    if corpus:
        lines.append(f"The registered training data was searched: {corpus.get('documents', 0)} documents, "
                     f"{corpus.get('mentions', 0)} about the subject ({corpus.get('namesakes', 0)} about someone "
                     f"else of the same name were left out); {corpus.get('contexts', 0)} exact passages were asked.")
    elif coverage.get("corpus_missing"):
        lines.append("No training data is registered for this model, so the exact text it was trained on could "
                     "not be asked.")
    contexts = coverage.get("contexts") or {}
    if contexts.get("heldout"):
        lines.append(f"Of the passages found, {contexts.get('heldout', 0)} are kept out of unlearning and asked "
                     "again afterwards, with fresh continuations, to check that the removal holds.")
    return lines


# The same families in a few words, for column headings and chart labels where a sentence does not fit.
FAMILY_SHORT_LABELS = {
    "direct": "Direct statements",
    "question": "Direct questions",
    "paraphrase": "Reworded questions",
    "fewshot": "After others' examples",
    "inverse": "Reverse look-up",
    "lookup": "Reverse look-up (trained)",
    "open": "The name alone",
    "elicited": "Model's own text",
    "elicited-heldout": "Model's own text (held out)",
    "elicited-verify": "Fresh continuations",
    "corpus": "Training data",
    "corpus-heldout": "Training data (held out)",
}


def family_label(family: str) -> str:
    return FAMILY_LABELS.get(family, family)


def family_short_label(family: str) -> str:
    return FAMILY_SHORT_LABELS.get(family, family)


# How an answer was drawn: the model's single most likely answer, or one of several varied (sampled) ones.
DECODING_LABELS = {"greedy": "its usual answer", "sampled": "a varied answer"}


def decoding_label(decoding: str) -> str:
    return DECODING_LABELS.get(decoding, decoding)


def attribute_label(key: str) -> str:
    """'Email address' for 'email' (app.jobs.attributes mirrors the engine's registry)."""
    from app.jobs.attributes import ATTRIBUTES

    return ATTRIBUTES[key].label if key in ATTRIBUTES else key.replace("_", " ")


@dataclass(frozen=True)
class JobWording:
    label: str
    tone: str


_JOB_STATUS = {
    "queued": JobWording("Waiting for a worker", "neutral"),
    "running": JobWording("Running", "ok"),
    "succeeded": JobWording("Finished", "ok"),
    "failed": JobWording("Failed", "bad"),
    "canceled": JobWording("Canceled", "neutral"),
}


def job_status(status: str) -> JobWording:
    return _JOB_STATUS.get(str(status), JobWording(str(status), "neutral"))


JOB_KIND_LABELS = {"discovery": "Discovery", "unlearning": "Unlearning"}

_STAGES = {
    "starting": "Starting: loading the model",
    "discover": "Checking what the model reveals before unlearning",
    "data": "Preparing what to forget and what to keep",
    "utility": "Measuring how well the model still works",
    "unlearn": "Unlearning (training steps)",
    "check": "Checking whether the data still leaks",
    "save": "Saving the new model",
    "verify": "Verifying the saved model with questions it was not trained on",
    "done": "Done",
    "probe.generate": "Asking the model questions",
    "probe.sample": "Asking the model questions again, letting it vary its answers",
    "probe.analyse": "Looking for personal data in the answers",
    "probe.membership": "Measuring whether the subject's texts were in the training data",
    "probe.likelihood": "Measuring how sure the model is of the subject's details",
    "probe.verify": "Asking the questions discovery found, again",
    "elicit": "Letting the model write about the subject in its own words",
    "elicit.generate": "Letting the model write about the subject in its own words",
    "attacks": "Attacking the new model to try to get the details back",
    "corpus": "Preparing the training text",
    "train": "Training",
    "start": "Starting",
}


def stage_label(stage: str | None) -> str:
    """'Verifying the saved model …: asking the model questions' for 'verify/probe.generate'."""
    if not stage:
        return "Not started"
    head, *rest = stage.split("/")
    label = _STAGES.get(head, head.replace("_", " ").capitalize())
    if rest:  # the innermost step says what is happening now
        tail = rest[-1]
        label += ": " + _STAGES.get(tail, tail.replace("_", " ")).lower()
    return label
