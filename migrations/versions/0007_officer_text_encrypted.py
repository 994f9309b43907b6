"""Officer-written text (extension, decision and cancellation reasons) encrypted at rest, like identifiers.

Existing reasons are encrypted in place with the application's encryption key, then the plain columns go.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS = ('extension_reason', 'decision_reason', 'cancel_reason')


def _copy(source: str, target: str, convert) -> None:
    table = sa.table('erasure_requests', sa.column('id', sa.String()),
                     *(sa.column(f + source, sa.Text() if not source else sa.LargeBinary()) for f in FIELDS),
                     *(sa.column(f + target, sa.Text() if not target else sa.LargeBinary()) for f in FIELDS))
    conn = op.get_bind()
    rows = conn.execute(sa.select(table.c.id, *(table.c[f + source] for f in FIELDS))).all()
    for row in rows:
        values = {f + target: convert(getattr(row, f + source)) for f in FIELDS}
        if any(v is not None for v in values.values()):
            conn.execute(table.update().where(table.c.id == row.id).values(**values))


def upgrade() -> None:
    from app.core.security import encrypt_optional

    with op.batch_alter_table('erasure_requests') as batch:
        for field in FIELDS:
            batch.add_column(sa.Column(f'{field}_enc', sa.LargeBinary(), nullable=True))
    _copy('', '_enc', encrypt_optional)
    with op.batch_alter_table('erasure_requests') as batch:
        for field in FIELDS:
            batch.drop_column(field)


def downgrade() -> None:
    from app.core.security import decrypt_optional

    with op.batch_alter_table('erasure_requests') as batch:
        for field in FIELDS:
            batch.add_column(sa.Column(field, sa.Text(), nullable=True))
    _copy('_enc', '', decrypt_optional)
    with op.batch_alter_table('erasure_requests') as batch:
        for field in FIELDS:
            batch.drop_column(f'{field}_enc')
