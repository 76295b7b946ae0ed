"""live: the event outbox, notifications, feed secrets, group robots and their deliveries,
the requests board

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 03:00:47.023393
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_robots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_robots")),
    )
    op.create_table(
        "live_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("audience", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_events")),
    )
    with op.batch_alter_table("live_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_live_events_audience"), ["audience"], unique=False)
        batch_op.create_index(batch_op.f("ix_live_events_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_live_events_type"), ["type"], unique=False)

    op.create_table(
        "bot_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("robot_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["live_events.id"], name=op.f("fk_bot_deliveries_event_id_live_events")
        ),
        sa.ForeignKeyConstraint(
            ["robot_id"], ["bot_robots.id"], name=op.f("fk_bot_deliveries_robot_id_bot_robots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_deliveries")),
        sa.UniqueConstraint("robot_id", "event_id", name="uq_bot_deliveries"),
    )
    with op.batch_alter_table("bot_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_deliveries_next_at"), ["next_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot_deliveries_robot_id"), ["robot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot_deliveries_state"), ["state"], unique=False)

    op.create_table(
        "feed_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_feed_tokens_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_feed_tokens_token_hash")),
    )
    with op.batch_alter_table("feed_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_tokens_member_id"), ["member_id"], unique=False)

    op.create_table(
        "material_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("occasion", sa.String(length=200), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("supporters", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_material_requests_material_id_materials"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_material_requests_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_requests")),
    )
    with op.batch_alter_table("material_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_material_requests_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_material_requests_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_material_requests_state"), ["state"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("link", sa.String(length=300), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("dedupe", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["live_events.id"], name=op.f("fk_notifications_event_id_live_events")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_notifications_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe", name=op.f("uq_notifications_dedupe")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_member_unread", ["member_id", "read_at", "id"], unique=False
        )

    op.create_table(
        "request_supports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_request_supports_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["material_requests.id"],
            name=op.f("fk_request_supports_request_id_material_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_supports")),
        sa.UniqueConstraint("request_id", "member_id", name="uq_request_supports"),
    )
    with op.batch_alter_table("request_supports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_supports_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("request_supports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_supports_request_id"))

    op.drop_table("request_supports")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_member_unread")

    op.drop_table("notifications")
    with op.batch_alter_table("material_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_material_requests_state"))
        batch_op.drop_index(batch_op.f("ix_material_requests_member_id"))
        batch_op.drop_index(batch_op.f("ix_material_requests_created_at"))

    op.drop_table("material_requests")
    with op.batch_alter_table("feed_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_tokens_member_id"))

    op.drop_table("feed_tokens")
    with op.batch_alter_table("bot_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_deliveries_state"))
        batch_op.drop_index(batch_op.f("ix_bot_deliveries_robot_id"))
        batch_op.drop_index(batch_op.f("ix_bot_deliveries_next_at"))

    op.drop_table("bot_deliveries")
    with op.batch_alter_table("live_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_events_type"))
        batch_op.drop_index(batch_op.f("ix_live_events_created_at"))
        batch_op.drop_index(batch_op.f("ix_live_events_audience"))

    op.drop_table("live_events")
    op.drop_table("bot_robots")
