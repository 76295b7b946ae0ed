"""wording_vetoes for databases made before migration 0002 gained the table

Migration 0002 was edited after it was released: the table of editors' wording vetoes was
added to it. A database created at 0002 before that edit was stamped 0002 and every later
revision ran without the table, so every copy failed. This revision creates the table where
it is missing and leaves it alone where it exists (every database made since).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if "wording_vetoes" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "wording_vetoes",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("offset", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["material_versions.id"],
            name=op.f("fk_wording_vetoes_version_id_material_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "offset", name=op.f("pk_wording_vetoes")),
    )


def downgrade() -> None:
    # The table belongs to 0002 (as edited); a downgrade to 0010 keeps it.
    pass
