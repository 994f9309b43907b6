"""Per-request outcome of an unlearning job: whether the version it put into service carries the request's erasure.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('job_requests') as batch:
        batch.add_column(sa.Column('served', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('job_requests') as batch:
        batch.drop_column('served')
