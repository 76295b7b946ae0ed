"""indexes for the publisher's console at the scale of a real library: materials by state,
kind and date added (keyset pages by id), members by status and sign-up date, codes by the
moment they were redeemed (the dashboard's days) and by batch and state (the
batches' and channels' counts)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 04:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.create_index("ix_materials_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_materials_kind_id", ["kind", "id"], unique=False)
        batch_op.create_index("ix_materials_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index("ix_members_status", ["status"], unique=False)
        batch_op.create_index("ix_members_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("activation_codes", schema=None) as batch_op:
        batch_op.create_index("ix_activation_codes_redeemed_at", ["redeemed_at"], unique=False)
        batch_op.create_index(
            "ix_activation_codes_batch_state",
            ["batch_id", "state", "redeemed_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("activation_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_activation_codes_batch_state")
        batch_op.drop_index("ix_activation_codes_redeemed_at")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index("ix_members_created_at")
        batch_op.drop_index("ix_members_status")
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.drop_index("ix_materials_created_at")
        batch_op.drop_index("ix_materials_kind_id")
        batch_op.drop_index("ix_materials_status_id")
