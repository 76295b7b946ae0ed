"""live: the publications an import run of several files holds for its one announcement
(a digest, live/digests.py)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_digest_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run", sa.String(length=32), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("announced_at", sa.DateTime(), nullable=True),
        sa.Column("digest", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["live_events.id"],
            name=op.f("fk_live_digest_items_event_id_live_events"),
        ),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_live_digest_items_material_id_materials"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_digest_items")),
    )
    with op.batch_alter_table("live_digest_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_live_digest_items_announced_at"), ["announced_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_live_digest_items_digest"), ["digest"], unique=False)
        batch_op.create_index(batch_op.f("ix_live_digest_items_run"), ["run"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("live_digest_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_digest_items_run"))
        batch_op.drop_index(batch_op.f("ix_live_digest_items_digest"))
        batch_op.drop_index(batch_op.f("ix_live_digest_items_announced_at"))

    op.drop_table("live_digest_items")
