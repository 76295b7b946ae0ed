"""issued copies indexed by member and time (daily quota, download history); a covering
index for listing versions' lengths

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 00:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("issued_copies", schema=None) as batch_op:
        batch_op.create_index(
            "ix_issued_copies_member_created", ["member_id", "created_at"], unique=False
        )
        batch_op.drop_index("ix_issued_copies_member_id")
    with op.batch_alter_table("material_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_material_versions_listing", ["material_id", "number", "chars"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("material_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_material_versions_listing")
    with op.batch_alter_table("issued_copies", schema=None) as batch_op:
        batch_op.create_index("ix_issued_copies_member_id", ["member_id"], unique=False)
        batch_op.drop_index("ix_issued_copies_member_created")
