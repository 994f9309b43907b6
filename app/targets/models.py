"""A target model and its versions. The current version is the one probes and unlearning jobs start from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, UTCDateTime, utcnow


class TargetModel(Base):
    __tablename__ = "target_models"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    # The model's training data on the workers' disk (a file or folder of .txt/.jsonl/.parquet), when known:
    # discovery searches it for the subject's mentions and probes with the text before each value.
    corpus_path: Mapped[str | None] = mapped_column(Text)
    # A number rather than a foreign key to model_versions: versions already point here, and a cycle of
    # foreign keys would need ALTER TABLE constraints that SQLite (the embedded default) cannot add.
    current_number: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    versions: Mapped[list[ModelVersion]] = relationship(
        back_populates="target_model", order_by="ModelVersion.number", cascade="all, delete-orphan"
    )

    @property
    def current(self) -> ModelVersion:
        return next(v for v in self.versions if v.number == self.current_number)


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("target_model_id", "number", name="uq_model_versions_model_number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    target_model_id: Mapped[str] = mapped_column(ForeignKey("target_models.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("model_versions.id", ondelete="SET NULL"))
    path: Mapped[str] = mapped_column(Text)
    weights_sha256: Mapped[str] = mapped_column(String(64))
    # "registered" (brought by an officer) or "unlearned" (made by a job, see jobs.result_version_id).
    origin: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    target_model: Mapped[TargetModel] = relationship(back_populates="versions")
    parent: Mapped[ModelVersion | None] = relationship(remote_side="ModelVersion.id")

    @property
    def label(self) -> str:
        return f"{self.target_model.name} v{self.number}"
