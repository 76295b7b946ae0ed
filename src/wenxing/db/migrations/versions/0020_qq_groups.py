"""QQ groups: QQ robots (a OneBot v11 framework's group number and event-signing secret, the
official platform's app id and group openid), members' QQ numbers, and the 会员群 door's
seats and decisions

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bot_robots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("app_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("event_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("bad_signature_at", sa.DateTime(), nullable=True))
    op.create_table(
        "qq_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("qq", sa.String(length=16), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("pending_qq", sa.String(length=16), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_qq_links_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qq_links")),
        sa.UniqueConstraint("member_id", name=op.f("uq_qq_links_member_id")),
        sa.UniqueConstraint("qq", name=op.f("uq_qq_links_qq")),
    )
    op.create_index("ix_qq_links_pending_qq", "qq_links", ["pending_qq"])
    op.create_table(
        "qq_seats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("robot_id", sa.Integer(), nullable=False),
        sa.Column("qq", sa.String(length=16), nullable=False),
        sa.Column("admitted", sa.Boolean(), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.Column("left_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["robot_id"], ["bot_robots.id"], name=op.f("fk_qq_seats_robot_id_bot_robots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qq_seats")),
        sa.UniqueConstraint("robot_id", "qq", name="uq_qq_seats"),
    )
    op.create_index("ix_qq_seats_robot_id", "qq_seats", ["robot_id"])
    op.create_table(
        "qq_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("robot_id", sa.Integer(), nullable=False),
        sa.Column("flag", sa.String(length=100), nullable=True),
        sa.Column("qq", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["robot_id"], ["bot_robots.id"], name=op.f("fk_qq_decisions_robot_id_bot_robots")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_qq_decisions_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qq_decisions")),
        sa.UniqueConstraint("robot_id", "flag", name="uq_qq_decisions_flag"),
    )
    op.create_index("ix_qq_decisions_robot", "qq_decisions", ["robot_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_qq_decisions_robot", table_name="qq_decisions")
    op.drop_table("qq_decisions")
    op.drop_index("ix_qq_seats_robot_id", table_name="qq_seats")
    op.drop_table("qq_seats")
    op.drop_index("ix_qq_links_pending_qq", table_name="qq_links")
    op.drop_table("qq_links")
    with op.batch_alter_table("bot_robots", schema=None) as batch_op:
        batch_op.drop_column("bad_signature_at")
        batch_op.drop_column("event_secret")
        batch_op.drop_column("app_id")
        batch_op.drop_column("target")
