"""the console at a hundred thousand materials and members: trigram indexes for searching
titles, tags and members (an FTS5 table fed by triggers on SQLite, pg_trgm GIN indexes on
PostgreSQL; see db/substring.py), each member's membership end kept on the member (the
console's expiring/expired filters and the dashboard's counts read one indexed column),
materials by category and kind in id order (the list's two commonest filters), and codes
by plan and moment of redemption (the dashboard's revenue by plan)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 08:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in db/substring.py, frozen here: a migration does not change with the code.
SEARCHED = {
    "materials": ("material_text", ("title", "tags")),
    "members": ("member_text", ("name", "username", "phone")),
}


def _sqlite_text_index(table: str, fts: str, columns: tuple[str, ...]) -> None:
    listed = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    op.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5({listed}, content='{table}', "
        "content_rowid='id', tokenize='trigram')"
    )
    op.execute(
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {listed}) VALUES (new.id, {new}); END"
    )
    op.execute(
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {listed}) VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {listed} ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {listed}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts}(rowid, {listed}) VALUES (new.id, {new}); END"
    )
    op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("membership_ends", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_members_membership_ends", ["membership_ends"], unique=False)
    op.execute(
        "UPDATE members SET membership_ends = (SELECT MAX(ends_at) FROM subscriptions "
        "WHERE subscriptions.member_id = members.id)"
    )
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.create_index(
            "ix_materials_category_kind_id", ["category", "kind", "id"], unique=False
        )
    with op.batch_alter_table("activation_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activation_codes_plan_redeemed", ["plan", "redeemed_at"], unique=False
        )
    if op.get_bind().dialect.name == "sqlite":
        for table, (fts, columns) in SEARCHED.items():
            _sqlite_text_index(table, fts, columns)
        return
    available = (
        op.get_bind()
        .exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        .first()
    )
    if available is None:  # searches still work, reading the rows
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, (_fts, columns) in SEARCHED.items():
        for column in columns:
            op.execute(
                f"CREATE INDEX ix_{table}_{column}_trgm ON {table} "
                f"USING gin ({column} gin_trgm_ops)"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for _table, (fts, _columns) in SEARCHED.items():
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
    else:
        for table, (_fts, columns) in SEARCHED.items():
            for column in columns:
                op.execute(f"DROP INDEX IF EXISTS ix_{table}_{column}_trgm")
    with op.batch_alter_table("activation_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_activation_codes_plan_redeemed")
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.drop_index("ix_materials_category_kind_id")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index("ix_members_membership_ends")
        batch_op.drop_column("membership_ends")
