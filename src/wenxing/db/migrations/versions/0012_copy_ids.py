"""issued copies: 64-bit random ids and a delivery mark

Copy ids were the issuance log's row numbers, which a restored database hands out again;
copies are now given random ids above 2³² (``delivery.issue``), so the column becomes a
64-bit integer on PostgreSQL (SQLite's integer key is 64-bit already). The largest id
issued before is kept in ``server_meta`` (``legacy_copy_id_max``): tags of the first scheme
name ids up to it. ``delivered_at`` marks a copy that reached its member; copies logged
before this revision count as delivered.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 22:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("issued_copies", schema=None) as batch_op:
        if bind.dialect.name != "sqlite":
            batch_op.alter_column(
                "id", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False
            )
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE issued_copies SET delivered_at = created_at")
    largest = bind.execute(sa.text("SELECT max(id) FROM issued_copies")).scalar() or 0
    meta = sa.table("server_meta", sa.column("key"), sa.column("value"))
    op.execute(meta.delete().where(meta.c.key == "legacy_copy_id_max"))
    op.bulk_insert(meta, [{"key": "legacy_copy_id_max", "value": str(largest)}])


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("DELETE FROM server_meta WHERE key = 'legacy_copy_id_max'")
    with op.batch_alter_table("issued_copies", schema=None) as batch_op:
        batch_op.drop_column("delivered_at")
        if bind.dialect.name != "sqlite":
            batch_op.alter_column(
                "id", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False
            )
