"""report evidence: when its file was deleted after the retention period

Evidence files are kept for ``evidence_retention_days`` after the report's decision, then
``wenxing reports purge`` deletes their bytes (and the text read from them), keeping the
hash, the size and the trace; ``purged_at`` says when.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-07 01:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report_evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report_evidence", schema=None) as batch_op:
        batch_op.drop_column("purged_at")
