"""recovery tokens: SMS codes, console reset links and invitations to imported members

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recovery_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_recovery_tokens_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_tokens")),
    )
    for column in ("member_id", "phone", "secret_hash", "ip"):
        op.create_index(f"ix_recovery_tokens_{column}", "recovery_tokens", [column])


def downgrade() -> None:
    for column in ("member_id", "phone", "secret_hash", "ip"):
        op.drop_index(f"ix_recovery_tokens_{column}", table_name="recovery_tokens")
    op.drop_table("recovery_tokens")
