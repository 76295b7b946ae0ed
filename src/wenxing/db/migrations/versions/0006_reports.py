"""resale reports (report, evidence as received, traces, accusations, confirmed leaks) and
the background jobs table that traces them

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 02:30:24.579770
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_state"), ["state"], unique=False)

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("contact", sa.String(length=60), nullable=True),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("network", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("traced_at", sa.DateTime(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("sanction", sa.String(length=16), nullable=True),
        sa.Column("reward", sa.String(length=16), nullable=True),
        sa.Column("reward_code", sa.String(length=32), nullable=True),
        sa.Column("reward_ends_at", sa.DateTime(), nullable=True),
        sa.Column("reward_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["members.id"], name=op.f("fk_reports_reporter_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("receipt", name=op.f("uq_reports_receipt")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_contact"), ["contact"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_ip"), ["ip"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_reporter_id"), ["reporter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_state"), ["state"], unique=False)

    op.create_table(
        "report_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("detected", sa.String(length=16), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("chars", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=20), nullable=True),
        sa.Column("error_detail", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_evidence_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_evidence")),
    )
    with op.batch_alter_table("report_evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_evidence_report_id"), ["report_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_report_evidence_sha256"), ["sha256"], unique=False)

    op.create_table(
        "report_leaks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("first_report_id", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["first_report_id"],
            ["reports.id"],
            name=op.f("fk_report_leaks_first_report_id_reports"),
        ),
        sa.ForeignKeyConstraint(
            ["material_id"], ["materials.id"], name=op.f("fk_report_leaks_material_id_materials")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_report_leaks_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_leaks")),
        sa.UniqueConstraint("member_id", "material_id", name="uq_report_leaks"),
    )
    op.create_table(
        "report_traces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("evidence_ids", sa.String(length=200), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=False),
        sa.Column("recipients_checked", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("took_ms", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_id"], ["materials.id"], name=op.f("fk_report_traces_material_id_materials")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_traces_report_id_reports")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["material_versions.id"],
            name=op.f("fk_report_traces_version_id_material_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_traces")),
    )
    with op.batch_alter_table("report_traces", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_traces_material_id"), ["material_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_report_traces_report_id"), ["report_id"], unique=False)

    op.create_table(
        "report_accusations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("trace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("material_id", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("log10_bound", sa.Float(), nullable=True),
        sa.Column("copies", sa.Text(), nullable=False),
        sa.Column("flag", sa.String(length=16), nullable=True),
        sa.Column("flag_detail", sa.String(length=300), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_report_accusations_material_id_materials"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_report_accusations_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_accusations_report_id_reports")
        ),
        sa.ForeignKeyConstraint(
            ["trace_id"],
            ["report_traces.id"],
            name=op.f("fk_report_accusations_trace_id_report_traces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_accusations")),
    )
    with op.batch_alter_table("report_accusations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_accusations_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_accusations_report_id"), ["report_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("report_accusations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_accusations_report_id"))
        batch_op.drop_index(batch_op.f("ix_report_accusations_member_id"))

    op.drop_table("report_accusations")
    with op.batch_alter_table("report_traces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_traces_report_id"))
        batch_op.drop_index(batch_op.f("ix_report_traces_material_id"))

    op.drop_table("report_traces")
    op.drop_table("report_leaks")
    with op.batch_alter_table("report_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_evidence_sha256"))
        batch_op.drop_index(batch_op.f("ix_report_evidence_report_id"))

    op.drop_table("report_evidence")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_state"))
        batch_op.drop_index(batch_op.f("ix_reports_reporter_id"))
        batch_op.drop_index(batch_op.f("ix_reports_ip"))
        batch_op.drop_index(batch_op.f("ix_reports_created_at"))
        batch_op.drop_index(batch_op.f("ix_reports_contact"))

    op.drop_table("reports")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_state"))

    op.drop_table("jobs")
