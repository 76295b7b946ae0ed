"""download tickets (single-use links for WeChat's members) and payment QR images

``download_tickets`` holds the hash of each single-use, short-lived download link a member
asks for inside WeChat's browser, to open in the system browser; ``setting_images`` holds
the images publisher settings refer to (each plan's payment QR code).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "download_tickets",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["material_id"], ["materials.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("download_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_download_tickets_member_id"), ["member_id"], unique=False
        )
    op.create_table(
        "setting_images",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )


def downgrade() -> None:
    op.drop_table("setting_images")
    with op.batch_alter_table("download_tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_download_tickets_member_id"))
    op.drop_table("download_tickets")
