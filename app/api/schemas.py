"""Pydantic shapes of the models and jobs API. Findings travel redacted (attribute keys and rates): never a
prompt or a completion, which quote the subject's personal data and stay encrypted for the officer's page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.fields import MAX_ID, TEXT_CONFIG, optional_text, required_text, token
from app.jobs.attacks import ATTACK_CHOICES, DEFAULT_ATTACKS, DEFAULT_GATING
from app.jobs.methods import DEFAULT_METHOD, METHOD_CHOICES
from app.jobs.service import MAX_BATCH, PARAM_BOUNDS
from app.requests.schemas import MAX_REASON

_METHODS = "; ".join(f"`{name}`: {text}" for name, text in METHOD_CHOICES.items())
Method = Literal[tuple(METHOD_CHOICES)]  # type: ignore[valid-type]
_ATTACKS = "; ".join(f"`{name}`: {text.rstrip('.')}" for name, text in ATTACK_CHOICES.items())
AttackName = Literal[tuple(ATTACK_CHOICES)]  # type: ignore[valid-type]
MAX_PATH = 1000
MAX_DESCRIPTION = 2000
MAX_ATTRIBUTES = 64
# A registered model's name (compared lower-cased): as ``app.targets.service`` accepts it.
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class ModelVersionRead(BaseModel):
    id: str
    number: int
    parent_number: int | None
    origin: str = Field(description="registered (brought by an officer) or unlearned (made by a job)")
    weights_sha256: str
    path: str
    created_by: str
    created_at: datetime
    current: bool
    requests_served: list[str] = Field(description="Ids of the requests whose unlearning made this version.")


class ModelRead(BaseModel):
    id: str
    name: str
    description: str | None
    corpus: str | None = Field(description="The model's training data on the workers' disk, searched by discovery "
                                            "(null: not known; discovery then relies on templates and "
                                            "self-elicitation).")
    current_version: int
    current_weights_sha256: str
    created_by: str
    created_at: datetime


class ModelDetail(ModelRead):
    versions: list[ModelVersionRead]


class ReopenedRequest(BaseModel):
    id: str
    reference: str


class ModelRestored(ModelDetail):
    reopened_requests: list[ReopenedRequest] = Field(
        description="Completed requests whose erasure the restore undid: now `approved` again (due date unchanged), "
                    "to be carried out again with startDiscovery / startUnlearning. References only.")


ModelPath = required_text(MAX_PATH, "A Hugging Face model directory on the workers' file system. It must exist and "
                                    "hold config.json and *.safetensors weights (else 422).")
CorpusPath = optional_text(MAX_PATH, "Optional: the model's training data on the workers' file system (a .txt, .jsonl, "
                                     ".parquet or gzip file, or a folder of them; else 422).")
Description = optional_text(MAX_DESCRIPTION, lines=True)
Reason = required_text(MAX_REASON, "Kept as a hash in the audit log; at least one visible character.",
                       lines=True)
ModelId = token(MAX_ID, "A model's id. Defaults to the request's model (or the only one).")


class ModelCreate(BaseModel):
    model_config = TEXT_CONFIG

    name: str = Field(min_length=1, max_length=80, pattern=MODEL_NAME,
                      description="Letters, digits, '.', '_', '-', starting with a letter or digit; kept lower-case.")
    path: ModelPath  # type: ignore[valid-type]
    description: Description | None = None  # type: ignore[valid-type]
    corpus: CorpusPath | None = None  # type: ignore[valid-type]


class RestoreBody(BaseModel):
    model_config = TEXT_CONFIG

    reason: Reason  # type: ignore[valid-type]


class DiscoveryBody(BaseModel):
    model_config = TEXT_CONFIG

    model_id: ModelId | None = None  # type: ignore[valid-type]


def _bounded(key: str, description: str) -> Any:
    low, high = PARAM_BOUNDS[key]
    return Field(default=None, ge=low, le=high, description=description)


class UnlearningParams(BaseModel):
    """Optional settings of the method, within the bounds the job service enforces (``PARAM_BOUNDS``)."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int | None = _bounded("max_steps", "Training steps")
    lr: float | None = _bounded("lr", "Learning rate")
    rank: int | None = _bounded("rank", "LoRA rank")
    seed: int | None = _bounded("seed", "Random seed")


RequestId = token(MAX_ID)
# A key of ``attributes``: only looked up, never stored (JSON Schema's propertyNames, without a pattern).
RequestIdKey = Annotated[str, Field(min_length=1, max_length=MAX_ID)]
AttributeKeys = Annotated[list[token(MAX_ID)], Field(max_length=MAX_ATTRIBUTES)]  # type: ignore[misc]


class UnlearningBody(BaseModel):
    model_config = TEXT_CONFIG

    request_ids: list[RequestId] = Field(  # type: ignore[valid-type]
        min_length=1, max_length=MAX_BATCH, description="Approved requests against the same model, each with a "
                                                        "discovery.")
    method: Method = Field(default=DEFAULT_METHOD, description=f"One of: {_METHODS}")  # type: ignore[valid-type]
    attributes: dict[RequestIdKey, AttributeKeys] | None = Field(  # type: ignore[valid-type]
        default=None, max_length=MAX_BATCH,
        description="Per request id, the attribute keys to remove (default: discovery's confirmed leaks; may add the "
                    f"candidates discovery found; at most {MAX_ATTRIBUTES} per request).")
    params: UnlearningParams | None = None
    attacks: list[AttackName] | None = Field(  # type: ignore[valid-type]
        default=None, max_length=len(ATTACK_CHOICES),
        description="Attack checks run on the result after verification, overriding the officer's setting for "
                    f"this job (default setting: {', '.join(DEFAULT_ATTACKS)}; [] runs none). {_ATTACKS}. The job's "
                    "params record the attacks it ran.")
    gating_attacks: list[AttackName] | None = Field(  # type: ignore[valid-type]
        default=None, max_length=len(ATTACK_CHOICES),
        description="Of `attacks`, the ones whose leak (more than 2% of the answers in a prompt family) fails the "
                    "verdict; the others only report. A gating attack runs even when `attacks` leaves it out. Default: the "
                    f"officer's setting (default {', '.join(DEFAULT_GATING)}) among them.")


class JobRequestRead(BaseModel):
    request_id: str
    attributes: list[str] | None = Field(description="Unlearning: the attribute keys chosen for removal.")
    report_sha256: str | None = Field(description="Discovery: SHA-256 of the redacted report (in the audit log).")
    confirmed: list[str] = Field(description="Discovery: attributes the model reveals that the subject submitted.")
    candidates: list[str] = Field(description="Discovery: other personal data produced about the subject.")
    confirmed_rate: float | None


class JobRead(BaseModel):
    id: str
    kind: str
    status: str
    model_id: str
    model_name: str
    base_version: int
    result_version: int | None
    method: str | None
    params: dict[str, Any] = Field(description="The method's settings (max_steps, lr, rank, seed) and, for unlearning, "
                                               "the attack checks it runs (attacks, gating_attacks).")
    progress: dict[str, Any] = Field(description="stage, step, total, message, loss, leak_rate, metrics")
    error: str | None
    attempts: int
    max_attempts: int
    created_by: str
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None
    cancel_requested_at: datetime | None
    evidence_sha256: str | None
    requests: list[JobRequestRead]
