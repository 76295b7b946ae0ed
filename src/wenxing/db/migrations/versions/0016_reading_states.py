"""reading states: the reader page's remembered place, 最近阅读 and 收藏 per member and material

Kept apart from the issuance log: opening the reader page notes ``opened_at``, the page's
script reports the place it stands (``position``, ``position_at``) and 收藏 sets
``favourite_at``; none of it is a copy.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reading_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.String(length=40), nullable=True),
        sa.Column("position_at", sa.DateTime(), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=True),
        sa.Column("favourite_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_reading_states_material_id_materials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_reading_states_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_states")),
        sa.UniqueConstraint("member_id", "material_id", name="uq_reading_states_member_material"),
    )
    op.create_index(
        "ix_reading_states_opened", "reading_states", ["member_id", "opened_at"], unique=False
    )
    op.create_index(
        "ix_reading_states_favourite",
        "reading_states",
        ["member_id", "favourite_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_reading_states_material_id"), "reading_states", ["material_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_reading_states_material_id"), table_name="reading_states")
    op.drop_index("ix_reading_states_favourite", table_name="reading_states")
    op.drop_index("ix_reading_states_opened", table_name="reading_states")
    op.drop_table("reading_states")
