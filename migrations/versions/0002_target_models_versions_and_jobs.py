"""Target models and their versions, discovery/unlearning jobs, and the registered model of a request.

Versions point at their model; the model names its current version by number (no foreign-key cycle, which
SQLite could not add). Jobs hold the state of record of worker tasks; job_requests ties a job to the requests
it serves and holds each request's discovery report (encrypted) and its redacted form.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:11:30.873552
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('target_models',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('current_number', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_target_models')),
    sa.UniqueConstraint('name', name=op.f('uq_target_models_name'))
    )
    op.create_table('model_versions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('target_model_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.String(length=36), nullable=True),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('weights_sha256', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['model_versions.id'], name=op.f('fk_model_versions_parent_id_model_versions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['target_model_id'], ['target_models.id'], name=op.f('fk_model_versions_target_model_id_target_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_versions')),
    sa.UniqueConstraint('target_model_id', 'number', name='uq_model_versions_model_number')
    )
    op.create_index(op.f('ix_model_versions_target_model_id'), 'model_versions', ['target_model_id'], unique=False)
    op.create_table('jobs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.Enum('discovery', 'unlearning', name='job_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'succeeded', 'failed', 'canceled', name='job_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('target_model_id', sa.String(length=36), nullable=False),
    sa.Column('base_version_id', sa.String(length=36), nullable=False),
    sa.Column('result_version_id', sa.String(length=36), nullable=True),
    sa.Column('method', sa.String(length=32), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('progress', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=True),
    sa.Column('evidence_sha256', sa.String(length=64), nullable=True),
    sa.Column('output_dir', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('celery_task_id', sa.String(length=64), nullable=True),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('canceled_by', sa.String(length=80), nullable=True),
    sa.ForeignKeyConstraint(['base_version_id'], ['model_versions.id'], name=op.f('fk_jobs_base_version_id_model_versions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['result_version_id'], ['model_versions.id'], name=op.f('fk_jobs_result_version_id_model_versions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['target_model_id'], ['target_models.id'], name=op.f('fk_jobs_target_model_id_target_models'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    op.create_index(op.f('ix_jobs_status'), 'jobs', ['status'], unique=False)
    op.create_index(op.f('ix_jobs_target_model_id'), 'jobs', ['target_model_id'], unique=False)
    op.create_table('job_requests',
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('report_enc', sa.LargeBinary(), nullable=True),
    sa.Column('report_redacted', sa.JSON(), nullable=True),
    sa.Column('report_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_job_requests_job_id_jobs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['erasure_requests.id'], name=op.f('fk_job_requests_request_id_erasure_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'request_id', name=op.f('pk_job_requests'))
    )
    op.create_index(op.f('ix_job_requests_request_id'), 'job_requests', ['request_id'], unique=False)
    # Batch mode: SQLite cannot add a foreign key to an existing table, so it copies the table.
    with op.batch_alter_table('erasure_requests') as batch:
        batch.add_column(sa.Column('target_model_id', sa.String(length=36), nullable=True))
        batch.create_index(op.f('ix_erasure_requests_target_model_id'), ['target_model_id'], unique=False)
        batch.create_foreign_key(op.f('fk_erasure_requests_target_model_id_target_models'), 'target_models',
                                 ['target_model_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('erasure_requests') as batch:
        batch.drop_constraint(op.f('fk_erasure_requests_target_model_id_target_models'), type_='foreignkey')
        batch.drop_index(op.f('ix_erasure_requests_target_model_id'))
        batch.drop_column('target_model_id')
    op.drop_index(op.f('ix_job_requests_request_id'), table_name='job_requests')
    op.drop_table('job_requests')
    op.drop_index(op.f('ix_jobs_target_model_id'), table_name='jobs')
    op.drop_index(op.f('ix_jobs_status'), table_name='jobs')
    op.drop_table('jobs')
    op.drop_index(op.f('ix_model_versions_target_model_id'), table_name='model_versions')
    op.drop_table('model_versions')
    op.drop_table('target_models')
