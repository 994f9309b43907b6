"""A registered model may name its training corpus, which discovery then searches for the subject's mentions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 20:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('target_models') as batch:
        batch.add_column(sa.Column('corpus_path', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('target_models') as batch:
        batch.drop_column('corpus_path')
