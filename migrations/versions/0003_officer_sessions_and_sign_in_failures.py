"""Officer sessions held by the server, and failed officer sign-ins for throttling.

A session row is keyed by the SHA-256 of the random token in the officer's cookie, so signing out (or an
administrator disabling the officer or changing their password) ends the session even if the cookie was copied.
Failed sign-ins store blind indexes (HMAC) of the email and the client address, never the values themselves;
rows older than the throttling window are pruned as new ones are written.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:12:34.003105
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('officer_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('officer_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.Enum('signed_out', 'officer_disabled', 'password_changed', 'revoked', name='officer_session_end_reason', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_officer_sessions_officer_id_officers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officer_sessions'))
    )
    op.create_index(op.f('ix_officer_sessions_created_at'), 'officer_sessions', ['created_at'], unique=False)
    op.create_index(op.f('ix_officer_sessions_officer_id'), 'officer_sessions', ['officer_id'], unique=False)
    op.create_table('officer_sign_in_failures',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('email_index', sa.String(length=64), nullable=False),
    sa.Column('ip_index', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officer_sign_in_failures'))
    )
    op.create_index(op.f('ix_officer_sign_in_failures_created_at'), 'officer_sign_in_failures', ['created_at'], unique=False)
    op.create_index(op.f('ix_officer_sign_in_failures_email_index'), 'officer_sign_in_failures', ['email_index'], unique=False)
    op.create_index(op.f('ix_officer_sign_in_failures_ip_index'), 'officer_sign_in_failures', ['ip_index'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_officer_sign_in_failures_ip_index'), table_name='officer_sign_in_failures')
    op.drop_index(op.f('ix_officer_sign_in_failures_email_index'), table_name='officer_sign_in_failures')
    op.drop_index(op.f('ix_officer_sign_in_failures_created_at'), table_name='officer_sign_in_failures')
    op.drop_table('officer_sign_in_failures')
    op.drop_index(op.f('ix_officer_sessions_officer_id'), table_name='officer_sessions')
    op.drop_index(op.f('ix_officer_sessions_created_at'), table_name='officer_sessions')
    op.drop_table('officer_sessions')
