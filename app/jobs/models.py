"""Jobs and the requests each job serves. Personal data appears only encrypted (``report_enc``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, UTCDateTime, utcnow
from app.targets.models import ModelVersion, TargetModel


class JobKind(StrEnum):
    discovery = "discovery"
    unlearning = "unlearning"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    canceled = "canceled"


ACTIVE_JOB_STATUSES = frozenset({JobStatus.queued, JobStatus.running})


def _enum(enum: type[StrEnum], name: str) -> Enum:
    return Enum(enum, native_enum=False, create_constraint=True, length=16, name=name,
                values_callable=lambda e: [m.value for m in e])


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[JobKind] = mapped_column(_enum(JobKind, "job_kind"))
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "job_status"), index=True)
    target_model_id: Mapped[str] = mapped_column(ForeignKey("target_models.id", ondelete="RESTRICT"), index=True)
    base_version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id", ondelete="RESTRICT"))
    result_version_id: Mapped[str | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"))
    method: Mapped[str | None] = mapped_column(String(32))
    # Engine settings (no personal data): the knobs an officer or the API chose over the method's defaults.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Latest progress event: stage, step, total, loss, leak_rate, message (engine messages hold no identifiers).
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # Redacted unlearning evidence (rates, verdicts, digests) and the SHA-256 the audit log commits to.
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    output_dir: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=2)
    celery_task_id: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    canceled_by: Mapped[str | None] = mapped_column(String(80))

    target_model: Mapped[TargetModel] = relationship()
    base_version: Mapped[ModelVersion] = relationship(foreign_keys=[base_version_id])
    result_version: Mapped[ModelVersion | None] = relationship(foreign_keys=[result_version_id])
    requests: Mapped[list[JobRequest]] = relationship(back_populates="job", cascade="all, delete-orphan",
                                                      order_by="JobRequest.position")

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_JOB_STATUSES

    @property
    def request_ids(self) -> list[str]:
        return [link.request_id for link in self.requests]


class JobRequest(Base):
    """One request served by a job: its findings (discovery) or the attributes chosen for removal (unlearning)."""

    __tablename__ = "job_requests"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("erasure_requests.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Attribute keys to remove (unlearning): confirmed leaks plus the candidates the officer included.
    attributes: Mapped[list[str] | None] = mapped_column(JSON)
    # Discovery: the full probe report (prompts, completions: personal data) AES-GCM encrypted for the officer,
    # and its redacted form (rates, verdicts, digests) that evidence bundles and the audit log may carry.
    report_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    report_redacted: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report_sha256: Mapped[str | None] = mapped_column(String(64))
    # Unlearning whose version went into service: False where this request's person still leaked in it (the batch's
    # other requests completed); the version does not carry that erasure. None: not decided (or before 0008).
    served: Mapped[bool | None] = mapped_column(Boolean)

    job: Mapped[Job] = relationship(back_populates="requests")
