"""Pydantic shapes of the models and jobs API. Findings travel redacted (attribute keys and rates): never a
prompt or a completion, which quote the subject's personal data and stay encrypted for the officer's page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.jobs.methods import DEFAULT_METHOD, METHOD_CHOICES

_METHODS = "; ".join(f"`{name}`: {text}" for name, text in METHOD_CHOICES.items())


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


class ModelCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80, description="Lower-case letters, digits, '.', '_', '-'.")
    path: str = Field(min_length=1, max_length=1000,
                      description="A Hugging Face model directory on the workers' file system.")
    description: str | None = Field(default=None, max_length=2000)
    corpus: str | None = Field(default=None, max_length=1000,
                               description="Optional: the model's training data on the workers' file system (a .txt, "
                                           ".jsonl, .parquet or gzip file, or a folder of them).")


class RestoreBody(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="Kept as a hash in the audit log.")


class DiscoveryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str | None = Field(default=None, description="Defaults to the request's model (or the only one).")


class UnlearningParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_steps: int | None = Field(default=None, description="1..2000")
    lr: float | None = Field(default=None, description="1e-6..0.5")
    rank: int | None = Field(default=None, description="LoRA rank, 1..64")
    seed: int | None = Field(default=None, description="0..2^31-1")


class UnlearningBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_ids: list[str] = Field(min_length=1, max_length=20,
                                   description="Approved requests against the same model, each with a discovery.")
    method: str = Field(default=DEFAULT_METHOD, description=f"One of: {_METHODS}")
    attributes: dict[str, list[str]] | None = Field(
        default=None, description="Per request id, the attribute keys to remove (default: discovery's confirmed "
                                  "leaks; may add the candidates discovery found).")
    params: UnlearningParams | None = None


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
    params: dict[str, Any]
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
