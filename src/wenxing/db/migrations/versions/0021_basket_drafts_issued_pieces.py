"""组稿: each account's basket of pieces (sections of materials) and its drafts, and the
issuance ledger's pieces of a copy that holds pieces of several materials (a draft's one
ledger line names its first piece's version; each piece is recorded with its own version
and marking plan, so tracing finds the member among that version's recipients)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 11:03:11
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_drafts_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drafts_member_id"), ["member_id"], unique=False)

    op.create_table(
        "basket_pieces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("anchor", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_basket_pieces_material_id_materials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_basket_pieces_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["material_versions.id"],
            name=op.f("fk_basket_pieces_version_id_material_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_basket_pieces")),
        sa.UniqueConstraint("member_id", "version_id", "anchor", name="uq_basket_pieces_place"),
    )
    with op.batch_alter_table("basket_pieces", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_basket_pieces_material_id"), ["material_id"], unique=False
        )
        batch_op.create_index(
            "ix_basket_pieces_member_position", ["member_id", "position"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_basket_pieces_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "draft_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("anchor", sa.String(length=16), nullable=True),
        sa.Column("path", sa.String(length=400), nullable=True),
        sa.Column("heading", sa.String(length=200), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["drafts.id"],
            name=op.f("fk_draft_parts_draft_id_drafts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_draft_parts_material_id_materials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["material_versions.id"],
            name=op.f("fk_draft_parts_version_id_material_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_parts")),
    )
    with op.batch_alter_table("draft_parts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_draft_parts_draft_position", ["draft_id", "position"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_draft_parts_material_id"), ["material_id"], unique=False
        )

    op.create_table(
        "issued_pieces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("copy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("anchor", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["copy_id"],
            ["issued_copies.id"],
            name=op.f("fk_issued_pieces_copy_id_issued_copies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["material_id"], ["materials.id"], name=op.f("fk_issued_pieces_material_id_materials")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["marking_plans.id"], name=op.f("fk_issued_pieces_plan_id_marking_plans")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["material_versions.id"],
            name=op.f("fk_issued_pieces_version_id_material_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_pieces")),
    )
    with op.batch_alter_table("issued_pieces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issued_pieces_copy_id"), ["copy_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_issued_pieces_version_id"), ["version_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("issued_pieces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_pieces_version_id"))
        batch_op.drop_index(batch_op.f("ix_issued_pieces_copy_id"))

    op.drop_table("issued_pieces")
    with op.batch_alter_table("draft_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_draft_parts_material_id"))
        batch_op.drop_index("ix_draft_parts_draft_position")

    op.drop_table("draft_parts")
    with op.batch_alter_table("basket_pieces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_basket_pieces_version_id"))
        batch_op.drop_index("ix_basket_pieces_member_position")
        batch_op.drop_index(batch_op.f("ix_basket_pieces_material_id"))

    op.drop_table("basket_pieces")
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drafts_member_id"))

    op.drop_table("drafts")
